"""The latency probe of bench/loop.py, run as a process of its own.

It sends GET URL one request at a time on one keep-alive connection, one every INTERVAL
seconds (open loop), prints `ready` once its first request has succeeded, and keeps going
until its standard input is closed; then it prints the latencies (milliseconds, JSON) and
exits. It must stay alone in its process: a probe thread beside the load driver waits for
the driver's GIL (the interpreter hands it over every 5 ms by default), and would measure
the driver as much as the daemon.

    .venv/bin/python bench/probe.py URL INTERVAL_SECONDS
"""

from __future__ import annotations

import json
import sys
import threading
import time

import httpx


def main(argv: list[str]) -> int:
    url, interval = argv[0], float(argv[1])
    stop = threading.Event()

    def wait_for_eof() -> None:
        sys.stdin.read()
        stop.set()

    threading.Thread(target=wait_for_eof, daemon=True).start()
    latencies: list[float] = []
    with httpx.Client(timeout=60) as client:
        client.get(url).raise_for_status()
        print("ready", flush=True)
        next_at = time.perf_counter()
        while not stop.is_set():
            now = time.perf_counter()
            if now < next_at:
                stop.wait(next_at - now)
                continue
            started = time.perf_counter()
            response = client.get(url)
            latencies.append((time.perf_counter() - started) * 1000)
            response.raise_for_status()
            next_at = started + interval
    json.dump(latencies, sys.stdout)
    sys.stdout.flush()
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
