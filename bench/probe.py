"""The latency probe of bench/loop.py and bench/scale.py, run as a process of its own.

It sends GET URL one request at a time on one keep-alive connection, one every INTERVAL
seconds (open loop), prints `ready` once its first request has succeeded, and keeps going
until its standard input is closed; then it prints the latencies (milliseconds, JSON) and
exits. It must stay alone in its process: a probe thread beside the load driver waits for
the driver's GIL (the interpreter hands it over every 5 ms by default), and would measure
the driver as much as the daemon.

With --patient, for a server that may not listen yet: it prints `ready` at once, retries a
refused connection every 2 ms, and times each request from when it was due; when an
answer comes after later requests were due, each of those counts too, with the time it
would have waited (a client sending every INTERVAL does not stop while one request
hangs). It then prints [wall time due, milliseconds] pairs.

    .venv/bin/python bench/probe.py URL INTERVAL_SECONDS [--patient]
"""

from __future__ import annotations

import json
import sys
import threading
import time

import httpx


def steady(client: httpx.Client, url: str, interval: float,
           stop: threading.Event) -> list[float]:
    latencies: list[float] = []
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
    return latencies


def patient(client: httpx.Client, url: str, interval: float,
            stop: threading.Event) -> list[list[float]]:
    samples: list[list[float]] = []
    print("ready", flush=True)
    wall = time.time() - time.perf_counter()
    next_at = time.perf_counter()
    while not stop.is_set():
        now = time.perf_counter()
        if now < next_at:
            stop.wait(next_at - now)
            continue
        while True:
            try:
                response = client.get(url)
                break
            except httpx.ConnectError:
                time.sleep(0.002)
        done = time.perf_counter()
        response.raise_for_status()
        due = next_at
        while due <= done:
            samples.append([due + wall, (done - due) * 1000])
            due += interval
        next_at = due
    return samples


def main(argv: list[str]) -> int:
    url, interval = argv[0], float(argv[1])
    stop = threading.Event()

    def wait_for_eof() -> None:
        sys.stdin.read()
        stop.set()

    threading.Thread(target=wait_for_eof, daemon=True).start()
    waits = "--patient" in argv[2:]
    with httpx.Client(timeout=600 if waits else 60) as client:
        out = (patient if waits else steady)(client, url, interval, stop)
    json.dump(out, sys.stdout)
    sys.stdout.flush()
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
