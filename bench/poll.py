"""Benchmark 1, poll cost: requests/s of GET /api/v1/jobs/{id} (valid token, a running job)
against GET /health on the same daemon, and against a bare ASGI callable served by
hypercorn's trio worker (bench/bare_asgi.py: the server's own ceiling), same run.

Targets: poll/health >= 0.90; poll/bare >= 0.65. Measured at the daemon's default log level
(info: one JSON access-log line per request, as the real daemon does) and at warning (no
per-request lines); both daemons and the bare server run side by side and are measured in
alternating order, round after round; each ratio is the median of per-round ratios.

    .venv/bin/python bench/poll.py [--quick] [--rounds 5] [--seconds 5] [--connections 16]
                                   [--load-tool auto|wrk|python]
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys

import httpx
from common import (
    REPO,
    Daemon,
    Report,
    add_common_args,
    daemon_env,
    describe_tool,
    die_with_parent,
    fmt_list,
    load_tool,
    median,
    run_load,
    start_job,
)

# The polled job: a cache refresh behind a 10-minute simulated network delay (its first
# network read), so it is `running` for the whole benchmark (what a client polls), then
# cancelled.
LATENCY_MS = 600_000


def start_bare() -> tuple[subprocess.Popen[str], str]:
    process = subprocess.Popen([sys.executable, str(REPO / "bench" / "bare_asgi.py")],
                               stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True,
                               preexec_fn=die_with_parent)
    assert process.stdout is not None
    line = process.stdout.readline()
    if not line:
        raise RuntimeError("bare ASGI server did not start")
    return process, f"http://127.0.0.1:{json.loads(line)['port']}"


def running_job(daemon: Daemon) -> str:
    with daemon.client() as client:
        job_id = start_job(client, "/api/v1/jobs/cache/refresh")
        job = client.get(f"/api/v1/jobs/{job_id}").json()["job"]
        if job["status"] not in {"pending", "running"}:
            raise RuntimeError(f"the polled job is not running: {job}")
    return job_id


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    add_common_args(parser)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--seconds", type=float, default=5.0,
                        help="length of each load measurement")
    parser.add_argument("--connections", type=int, default=16)
    parser.add_argument("--load-tool", choices=("auto", "wrk", "python"), default="auto")
    parser.add_argument("--log-levels", default="info,warning",
                        help="daemon log levels to measure, comma-separated")
    args = parser.parse_args(argv)
    if args.quick:
        args.rounds, args.seconds, args.connections = 1, 1.0, 4
    tool = load_tool(args.load_tool)
    levels = [level.strip() for level in args.log_levels.split(",") if level.strip()]
    report = Report("poll cost (bench/poll.py)")
    report.header(load_generator=describe_tool(tool), rounds=args.rounds,
                  seconds_per_measurement=args.seconds, connections=args.connections,
                  log_levels=",".join(levels),
                  polled_job="refreshcache, running (network.latency_ms=600000)")

    base = args.workdir / "poll"
    if base.exists():
        shutil.rmtree(base)
    daemons: dict[str, Daemon] = {}
    jobs: dict[str, str] = {}
    bare, bare_url = start_bare()
    try:
        for level in levels:
            daemon = Daemon(base / f"data-{level}", base / f"network-{level}",
                            env=daemon_env(log_level=level, network_latency_ms=LATENCY_MS))
            daemons[level] = daemon.start()
            jobs[level] = running_job(daemon)
        # (label, url, headers) of each measurement
        targets: list[tuple[str, str, dict[str, str]]] = [("bare", bare_url + "/health", {})]
        for level, daemon in daemons.items():
            targets.append((f"health[{level}]", daemon.url + "/health", {}))
            targets.append((f"job[{level}]", f"{daemon.url}/api/v1/jobs/{jobs[level]}",
                            daemon.headers))
        # Warm every path once (imports, first-request caches) before measuring.
        for _, url, headers in [] if args.quick else targets:
            run_load(tool, url, seconds=1, connections=args.connections, headers=headers)
        rps: dict[str, list[float]] = {label: [] for label, _, _ in targets}
        for round_number in range(args.rounds):
            shift = round_number % len(targets)
            order = targets[shift:] + targets[:shift]
            for label, url, headers in order:
                result = run_load(tool, url, seconds=args.seconds,
                                  connections=args.connections, headers=headers)
                if result.errors:
                    raise RuntimeError(f"{label}: {result.errors} errors under load")
                rps[label].append(result.rps)
            report.line(f"round {round_number + 1}: " + ", ".join(
                f"{label} {values[-1]:.0f}/s" for label, values in rps.items()))
        report.line("")
        for label, values in rps.items():
            report.line(f"{label:>16}: median {median(values):7.0f} req/s  rounds "
                        f"{fmt_list(values, 0)}")
        for level in levels:
            job, health, bare_rps = rps[f"job[{level}]"], rps[f"health[{level}]"], rps["bare"]
            vs_health = [j / h for j, h in zip(job, health, strict=True)]
            vs_bare = [j / b for j, b in zip(job, bare_rps, strict=True)]
            health_vs_bare = [h / b for h, b in zip(health, bare_rps, strict=True)]
            report.line(f"log level {level}: job/health per round {fmt_list(vs_health, 3)}; "
                        f"job/bare {fmt_list(vs_bare, 3)}; health/bare "
                        f"{fmt_list(health_vs_bare, 3)}")
            report.ratio(f"poll_vs_health[log={level}]", median(vs_health), 0.90)
            report.ratio(f"poll_vs_bare_asgi[log={level}]", median(vs_bare), 0.65)
    finally:
        for level, daemon in daemons.items():
            if level in jobs and daemon.token:
                try:
                    with daemon.client(timeout=10) as client:
                        client.post(f"/api/v1/jobs/{jobs[level]}/cancel")
                except httpx.HTTPError:
                    pass
            daemon.stop()
        bare.terminate()
        bare.wait(timeout=10)
    report.finish()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
