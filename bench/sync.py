"""Benchmark 3, sync speed: upload_all and refresh_ref (depth 2) over 500 pods with
network.latency_ms = 20, at the default network.concurrency against concurrency 1, same
run. Target: the default is >= 10x faster (wall time). Pods/s are reported too.

Every measurement starts from the same pristine state (a copy of the cached fixture, a
fresh daemon): upload_all of pods never uploaded to an empty network directory, and a
refresh_ref with depth 2 from a second user whose one pod references the first-generation
pods (about sqrt(N)), which reference the rest, so every pod is fetched once. Wall time is
the job's own finished_at - started_at; the client's POST-to-terminal time is shown too.
The client follows each job by Server-Sent Events, as `colony-actor run` does: a long-poll
returns at every one of the job's ~500 progress versions, and answering those took the
daemon's GIL from the upload itself.

    .venv/bin/python bench/sync.py [--quick] [--pods 500] [--rounds 3] [--latency-ms 20]
"""

from __future__ import annotations

import argparse
import shutil
from pathlib import Path
from typing import Any

from common import (
    MNEMONIC_B,
    Daemon,
    Report,
    add_common_args,
    check_completed,
    daemon_env,
    fmt_list,
    fresh_copy,
    job_seconds,
    median,
    run_job,
)
from fixtures import SyncFixture, sync_fixture

from colony_actor.service import config


def default_concurrency() -> int:
    return int(config.load(env={}).network.concurrency)


def measure(fixture: SyncFixture, work: Path, operation: str, concurrency: int | None,
            latency_ms: float) -> tuple[float, float, dict[str, Any]]:
    """(job seconds, client seconds, result) of one operation on a fresh copy."""
    settings: dict[str, Any] = {"network_latency_ms": latency_ms}
    if concurrency is not None:
        settings["network_concurrency"] = concurrency
    env = daemon_env(**settings)
    tag = f"{operation}-c{concurrency or 'default'}"
    if operation == "upload":
        data = fresh_copy(fixture.publisher, work / f"{tag}-data")
        network = work / f"{tag}-network"
        if network.exists():
            shutil.rmtree(network)
        daemon = Daemon(data, network, env=env)
        path = "/api/v1/jobs/cache/upload"
        expected_key, expected = "pods_uploaded", fixture.pods
    else:
        data = fresh_copy(fixture.follower, work / f"{tag}-data")
        daemon = Daemon(data, fixture.network, env=env, mnemonic=MNEMONIC_B)
        path = "/api/v1/jobs/cache/refresh/2"
        expected_key, expected = "pods_refreshed", fixture.pods
    with daemon.start(), daemon.client() as client:
        job, client_seconds = run_job(client, path, timeout=1800, events=True)
    check_completed(job)
    result = job["result"]
    if not isinstance(result.get(expected_key), int) or result[expected_key] < expected:
        raise RuntimeError(f"{tag}: expected {expected_key}={expected}, got {result}")
    return job_seconds(job), client_seconds, result


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    add_common_args(parser)
    parser.add_argument("--pods", type=int, default=500)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--latency-ms", type=float, default=20.0)
    args = parser.parse_args(argv)
    if args.quick:
        args.pods, args.rounds = 12, 1
    default = default_concurrency()
    report = Report("sync speed (bench/sync.py)")
    report.header(pods=args.pods, rounds=args.rounds, latency_ms=args.latency_ms,
                  default_concurrency=default, compared_with="network.concurrency=1")
    fixture = sync_fixture(args.workdir, args.pods, log=report.line)
    report.line(f"# fixture: {fixture.root} ({fixture.first_generation} first-generation pods "
                f"referencing the other {fixture.pods - fixture.first_generation})")
    work = args.workdir / "sync-work"
    seconds: dict[tuple[str, str], list[float]] = {}
    try:
        for round_number in range(args.rounds):
            for operation in ("upload", "refresh"):
                settings: list[tuple[str, int | None]] = [("1", 1), ("default", None)]
                if round_number % 2:
                    settings.reverse()
                for label, concurrency in settings:
                    job_s, client_s, _ = measure(fixture, work, operation, concurrency,
                                                 args.latency_ms)
                    seconds.setdefault((operation, label), []).append(job_s)
                    report.line(f"round {round_number + 1}: {operation:7} concurrency "
                                f"{label:>7}: {job_s:7.2f} s job, {client_s:7.2f} s client, "
                                f"{args.pods / job_s:7.1f} pods/s")
    finally:
        if work.exists():
            shutil.rmtree(work)
    report.line("")
    for operation in ("upload", "refresh"):
        slow, fast = seconds[(operation, "1")], seconds[(operation, "default")]
        speedups = [s / f for s, f in zip(slow, fast, strict=True)]
        report.line(f"{operation}: concurrency 1 median {median(slow):.2f} s "
                    f"({args.pods / median(slow):.1f} pods/s); default ({default}) median "
                    f"{median(fast):.2f} s ({args.pods / median(fast):.1f} pods/s); "
                    f"speed-up per round {fmt_list(speedups, 2)}")
    for operation in ("upload", "refresh"):
        slow, fast = seconds[(operation, "1")], seconds[(operation, "default")]
        speedups = [s / f for s, f in zip(slow, fast, strict=True)]
        report.ratio(f"{operation}_speedup_default_vs_c1", median(speedups), 10.0,
                     note=f"({args.pods / median(fast):.1f} vs {args.pods / median(slow):.1f} "
                          "pods/s)")
    report.finish()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
