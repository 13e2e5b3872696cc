"""Benchmark 5, watch cost: the daemon's CPU seconds (utime + stime of the process, from
/proc/<pid>/stat) while 200 clients follow one ~60-second job by Server-Sent Events
(GET /api/v1/jobs/{id}/events) against 200 clients polling GET /api/v1/jobs/{id} every
500 ms, same run. Target: SSE <= 0.2x polling.

The followed job is a refresh_ref (depth 2) of the 500 pods of bench/sync.py's fixture
with network.concurrency = 1 and network.latency_ms chosen so that it lasts about
--job-seconds (two network reads per pod): it reports progress once per pod. Every job runs
on a fresh copy of the fixture and a fresh daemon (log level: --log-level, default info, the
daemon's default, so each poll writes its access-log line as it would for real). The job's
own CPU is measured once without any client (baseline) and subtracted: the target ratio is
(SSE - baseline) / (poll - baseline); the raw ratio is shown too.

    .venv/bin/python bench/watch.py [--quick] [--clients 200] [--job-seconds 60]
                                    [--rounds 3] [--poll-interval 0.5] [--log-level info]
"""

from __future__ import annotations

import argparse
import json
import time
from dataclasses import dataclass
from typing import Any

import httpx
import trio
from common import (
    MNEMONIC_B,
    TERMINAL,
    Daemon,
    RawHTTP,
    Report,
    add_common_args,
    daemon_env,
    fmt_list,
    fresh_copy,
    job_seconds,
    median,
)
from fixtures import SyncFixture, sync_fixture

REFRESH = "/api/v1/jobs/cache/refresh/2"


@dataclass
class Outcome:
    cpu: float
    job_seconds: float
    requests: int  # poll requests, or SSE events received (over all clients)
    job: dict[str, Any]


async def follow(url: str, headers: dict[str, str], mode: str, clients: int,
                 interval: float) -> tuple[dict[str, Any], int]:
    """Start the job, let `clients` follow it by `mode`; (terminal job, requests/events)."""
    limits = httpx.Limits(max_connections=clients + 8, max_keepalive_connections=clients + 8)
    counted = 0
    async with httpx.AsyncClient(base_url=url, headers=headers, limits=limits,
                                 timeout=httpx.Timeout(60, read=120)) as client:
        response = await client.post(REFRESH)
        response.raise_for_status()
        job_id = response.json()["job_id"]
        final: dict[str, Any] = {}

        async def sse_client() -> None:
            nonlocal counted
            async with client.stream("GET", f"/api/v1/jobs/{job_id}/events") as stream:
                stream.raise_for_status()
                async for line in stream.aiter_lines():
                    if line.startswith("data: "):
                        counted += 1
                        job = json.loads(line[len("data: "):])
                        if job["status"] in TERMINAL:
                            final.update(job)
                            return

        async def poll_client(offset: float) -> None:
            nonlocal counted
            # A raw keep-alive connection: httpx costs so much client CPU that 200 pollers
            # in this process fall behind their 500 ms pace on a 2-core machine.
            connection = RawHTTP(url, headers)
            await trio.sleep(offset)
            next_at = trio.current_time()
            try:
                while True:
                    status, body = await connection.get(f"/api/v1/jobs/{job_id}")
                    counted += 1
                    if status != 200:
                        raise RuntimeError(f"poll answered {status}: {body[:200]!r}")
                    job = json.loads(body)["job"]
                    if job["status"] in TERMINAL:
                        final.update(job)
                        return
                    # Keep the pace, without bursts to catch up after a slow answer.
                    next_at = max(next_at + interval, trio.current_time())
                    await trio.sleep_until(next_at)
            finally:
                await connection.aclose()

        async def long_poll() -> None:
            since = 0
            while True:
                response = await client.get(f"/api/v1/jobs/{job_id}",
                                            params={"wait": 30, "since": since})
                response.raise_for_status()
                job = response.json()["job"]
                if job["status"] in TERMINAL:
                    final.update(job)
                    return
                since = job["version"]

        async with trio.open_nursery() as nursery:
            if mode == "sse":
                for _ in range(clients):
                    nursery.start_soon(sse_client)
            elif mode == "poll":
                for number in range(clients):
                    nursery.start_soon(poll_client, interval * number / clients)
            else:
                nursery.start_soon(long_poll)
    return final, counted


def measure(fixture: SyncFixture, args: argparse.Namespace, mode: str) -> Outcome:
    data = fresh_copy(fixture.follower, args.workdir / "watch-work" / "follower")
    env = daemon_env(log_level=args.log_level, network_concurrency=1,
                     network_latency_ms=args.latency_ms)
    daemon = Daemon(data, fixture.network, env=env, mnemonic=MNEMONIC_B)
    with daemon.start():
        time.sleep(0.5)  # let start-up work settle before the CPU reading
        before = daemon.cpu_seconds()
        job, counted = trio.run(follow, daemon.url, daemon.headers, mode, args.clients,
                                args.poll_interval)
        after = daemon.cpu_seconds()
    if job.get("status") != "completed":
        raise RuntimeError(f"followed job did not complete: {job}")
    return Outcome(after - before, job_seconds(job), counted, job)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    add_common_args(parser)
    parser.add_argument("--clients", type=int, default=200)
    parser.add_argument("--job-seconds", type=float, default=60.0,
                        help="about how long the followed job lasts (sets the latency)")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--poll-interval", type=float, default=0.5)
    parser.add_argument("--pods", type=int, default=500)
    parser.add_argument("--log-level", default="info")
    args = parser.parse_args(argv)
    if args.quick:
        args.clients, args.job_seconds, args.rounds, args.pods = 10, 2.0, 1, 12
    # A refresh reads a pointer and a scratchpad per pod, one at a time at concurrency 1.
    args.latency_ms = max(1.0, args.job_seconds * 1000 / (2 * args.pods))
    report = Report("watch cost (bench/watch.py)")
    report.header(clients=args.clients, job=f"refresh_ref depth 2 of {args.pods} pods, "
                  f"concurrency 1, latency {args.latency_ms:g} ms (~{args.job_seconds:g} s)",
                  rounds=args.rounds, poll_interval_seconds=args.poll_interval,
                  log_level=args.log_level)
    fixture = sync_fixture(args.workdir, args.pods, log=report.line)
    baseline = measure(fixture, args, "baseline")
    report.line(f"baseline (no watcher): {baseline.cpu:.2f} CPU s, job "
                f"{baseline.job_seconds:.1f} s, {baseline.job['version']} versions")
    sse: list[Outcome] = []
    poll: list[Outcome] = []
    for round_number in range(args.rounds):
        order = ["sse", "poll"] if round_number % 2 == 0 else ["poll", "sse"]
        for mode in order:
            outcome = measure(fixture, args, mode)
            (sse if mode == "sse" else poll).append(outcome)
            if mode == "sse":
                detail = f"{outcome.requests} events received"
            else:
                wanted = args.clients * outcome.job_seconds / args.poll_interval
                detail = (f"{outcome.requests} polls ({outcome.requests / outcome.job_seconds:.0f}"
                          f"/s, {100 * outcome.requests / wanted:.0f}% of the intended pace)")
                if outcome.requests < 0.9 * wanted:
                    detail += " WARNING: the pollers fell behind"
            report.line(f"round {round_number + 1}: {mode:4} {outcome.cpu:6.2f} CPU s, job "
                        f"{outcome.job_seconds:5.1f} s, {detail}")
    sse_cpu = [o.cpu for o in sse]
    poll_cpu = [o.cpu for o in poll]
    raw = [s / p for s, p in zip(sse_cpu, poll_cpu, strict=True)]
    net = [(s - baseline.cpu) / (p - baseline.cpu) if p > baseline.cpu else float("nan")
           for s, p in zip(sse_cpu, poll_cpu, strict=True)]
    report.line("")
    report.line(f"SSE CPU s {fmt_list(sse_cpu, 2)} median {median(sse_cpu):.2f}; poll CPU s "
                f"{fmt_list(poll_cpu, 2)} median {median(poll_cpu):.2f}; baseline "
                f"{baseline.cpu:.2f}")
    report.line(f"per round: raw SSE/poll {fmt_list(raw, 3)}; net of baseline "
                f"{fmt_list(net, 3)}")
    report.ratio("watch_cpu_sse_vs_poll_net", median(net), 0.2, higher_is_better=False,
                 note=f"({median(sse_cpu) - baseline.cpu:.2f} vs "
                      f"{median(poll_cpu) - baseline.cpu:.2f} CPU s above the job's own "
                      f"{baseline.cpu:.2f})")
    report.ratio("watch_cpu_sse_vs_poll_raw", median(raw), None,
                 note=f"({median(sse_cpu):.2f} vs {median(poll_cpu):.2f} CPU s)")
    report.finish()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
