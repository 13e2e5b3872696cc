"""The soak: kill -9 at random moments during uploads and refreshes, N rounds, and count
what an acknowledgement was worth. Targets: 0 acknowledged edits lost, 0 acknowledged
jobs lost, every job interrupted by a kill reported as interrupted after the restart.

Each round starts the real daemon on the same data directory (its pods on a local network
with network.latency_ms, a share of network calls failing by injection), then, at once:
an editor PUTs new subjects into its pods (an edit counts as acknowledged on its 200),
and a job loop starts uploads, cache refreshes and refreshes to depth 2 one after the
other (a job counts as acknowledged on its 202). At a random moment the process gets
SIGKILL. The next start must be clean (no damaged journal, nothing missing) and must hold
every acknowledged edit and every acknowledged job, each terminal, and a job last seen
pending or running either finished before the kill or is `failed` with the interrupted
error. A last start checks the last round, then stops gracefully. Rounds stop early when
--max-seconds is spent.

    .venv/bin/python bench/soak.py [--quick] [--rounds 40] [--latency-ms 20]
                                   [--failure-rate 0.1] [--max-kill-seconds 2.5] [--seed N]
"""

from __future__ import annotations

import argparse
import itertools
import random
import shutil
import signal
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

import httpx
from common import (
    MNEMONIC,
    TERMINAL,
    Daemon,
    Report,
    add_common_args,
    daemon_env,
)

INTERRUPTED = "Interrupted: the daemon stopped before the job finished"
SCHEMA_NAME = "http://schema.org/name"
JOBS = [("/api/v1/jobs/cache/upload", 0.5), ("/api/v1/jobs/cache/refresh", 0.35),
        ("/api/v1/jobs/cache/refresh/2", 0.15)]
# Events that say a start was not clean: after a kill -9 nothing may be damaged or missing.
UNCLEAN = ("journal_set_aside", "journal_empty", "store_empty", "startup_failed")


@dataclass
class Ledger:
    """What the daemon acknowledged, across rounds; shared by the round's threads."""

    edits: dict[str, str] = field(default_factory=dict)  # subject -> value
    jobs: dict[str, str] = field(default_factory=dict)  # job id -> status last seen
    lock: threading.Lock = field(default_factory=threading.Lock)
    edits_this_round: int = 0
    jobs_this_round: int = 0
    current_job: str = ""  # the type of the job last started, while it runs


@dataclass
class Check:
    """One restart's verdict on what came before it."""

    lost_edits: int = 0
    lost_jobs: int = 0  # acknowledged (202), unknown after the restart
    unreported: int = 0  # still pending or running after the restart
    interrupted: int = 0  # last seen active, reported interrupted
    finished: int = 0  # last seen active, finished before the kill
    # Last seen finished, reported interrupted: the kill came before the journal wrote
    # the end (a job's start is durable when acknowledged, its later changes soon after).
    end_unwritten: int = 0
    unclean: list[str] = field(default_factory=list)


def subject(round_number: int, n: int) -> str:
    return f"50a4{round_number:06x}{n:054x}"


def editor(daemon: Daemon, ledger: Ledger, pods: list[str], round_number: int,
           stop: threading.Event, rng: random.Random) -> None:
    n = 0
    with daemon.client(timeout=10) as client:
        while not stop.is_set():
            sub = subject(round_number, n)
            value = f"soak r{round_number} e{n}"
            try:
                response = client.put(f"/api/v1/pods/{rng.choice(pods)}/{sub}", json={
                    "@context": {"schema": "http://schema.org/"},
                    "@type": "schema:MusicRecording", "schema:name": value})
            except httpx.HTTPError:
                return  # the daemon is gone
            if response.status_code == 200:
                with ledger.lock:
                    ledger.edits[sub] = value
                    ledger.edits_this_round += 1
            n += 1


def job_loop(daemon: Daemon, ledger: Ledger, stop: threading.Event,
             rng: random.Random) -> None:
    paths, weights = zip(*JOBS, strict=True)
    with daemon.client(timeout=30) as client:
        while not stop.is_set():
            path = rng.choices(paths, weights)[0]
            try:
                response = client.post(path)
                if response.status_code == 409:
                    time.sleep(0.01)
                    continue
                if response.status_code != 202:
                    raise RuntimeError(f"POST {path}: {response.status_code} {response.text}")
                job_id = response.json()["job_id"]
                with ledger.lock:
                    ledger.jobs[job_id] = "pending"
                    ledger.jobs_this_round += 1
                    ledger.current_job = path.removeprefix("/api/v1/jobs/")
                since = 0
                while not stop.is_set():
                    job = client.get(f"/api/v1/jobs/{job_id}",
                                     params={"wait": 10, "since": since}).json()["job"]
                    with ledger.lock:
                        ledger.jobs[job_id] = job["status"]
                    if job["status"] in TERMINAL:
                        break
                    since = job["version"]
                with ledger.lock:
                    ledger.current_job = ""
            except httpx.HTTPError:
                return  # the daemon is gone


def check(daemon: Daemon, ledger: Ledger) -> Check:
    """Everything acknowledged so far, against the daemon just started."""
    verdict = Check()
    events = daemon.events()
    verdict.unclean = [e["event"] for e in events if e.get("event") in UNCLEAN]
    sparql = (f"SELECT ?s ?v WHERE {{ GRAPH ?g {{ ?s <{SCHEMA_NAME}> ?v }} "
              f'FILTER(STRSTARTS(STR(?v), "soak ")) }}')
    with daemon.client(timeout=120) as client:
        response = client.get("/api/v1/search", params={"type": "advanced", "sparql": sparql})
        response.raise_for_status()
        bindings = response.json()["sparql_results"]["results"]["bindings"]
        found = {row["s"]["value"].removeprefix("ant://"): row["v"]["value"]
                 for row in bindings}
        verdict.lost_edits = sum(1 for sub, value in ledger.edits.items()
                                 if found.get(sub) != value)
        for job_id, seen in ledger.jobs.items():
            answer = client.get(f"/api/v1/jobs/{job_id}")
            if answer.status_code == 404:
                verdict.lost_jobs += 1
                continue
            job = answer.json()["job"]
            interrupted = job["status"] == "failed" and job["error"] == INTERRUPTED
            if job["status"] not in TERMINAL:
                verdict.unreported += 1
            elif seen not in TERMINAL:
                if interrupted:
                    verdict.interrupted += 1
                else:
                    verdict.finished += 1
            elif interrupted and seen != "failed":
                verdict.end_unwritten += 1
            ledger.jobs[job_id] = job["status"]
    return verdict


def setup(work: Path, env: dict[str, str], pods: int) -> tuple[Path, Path, list[str]]:
    if work.exists():
        shutil.rmtree(work)
    data, network = work / "data", work / "network"
    with Daemon(data, network, env=env, mnemonic=MNEMONIC).start() as daemon, \
            daemon.client() as client:
        addresses = [client.post("/api/v1/pods", json={"name": f"Soak {n}"}).json()[
            "address"] for n in range(pods)]
        # Each pod references the next: a refresh to depth 2 follows references too.
        for here, there in itertools.pairwise(addresses):
            client.post(f"/api/v1/pods/{here}/pod_ref", json={"pod_ref": there})
    return data, network, addresses


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    add_common_args(parser)
    parser.add_argument("--rounds", type=int, default=40)
    parser.add_argument("--pods", type=int, default=8)
    parser.add_argument("--latency-ms", type=float, default=20.0)
    parser.add_argument("--failure-rate", type=float, default=0.1,
                        help="network.failure_rate of the daemon (injected failures)")
    parser.add_argument("--max-kill-seconds", type=float, default=2.5,
                        help="the kill comes uniformly between 0.05 s and this after start")
    parser.add_argument("--max-seconds", type=float, default=900.0,
                        help="no new round starts after this many seconds")
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args(argv)
    if args.quick:
        args.rounds, args.pods, args.max_kill_seconds = 3, 3, 0.8
    rng = random.Random(args.seed)
    report = Report("soak: kill -9 during uploads and refreshes (bench/soak.py)")
    report.header(rounds=args.rounds, pods=args.pods, latency_ms=args.latency_ms,
                  failure_rate=args.failure_rate, kill_window_s=f"0.05..{args.max_kill_seconds}",
                  seed=args.seed)
    work = args.workdir / "soak"
    env = daemon_env(network_latency_ms=args.latency_ms)
    data, network, pods = setup(work, env, args.pods)
    ledger = Ledger()
    totals = Check()
    restarts = clean = 0
    rounds_done = 0
    started = time.monotonic()
    try:
        for round_number in range(args.rounds + 1):
            last = round_number == args.rounds or time.monotonic() - started > args.max_seconds
            round_env = {**env, **daemon_env(network_failure_rate=args.failure_rate,
                                             network_failure_seed=round_number)}
            daemon = Daemon(data, network, env=round_env, mnemonic=MNEMONIC)
            before = time.monotonic()
            daemon.start()
            start_s = time.monotonic() - before
            if round_number:
                verdict = check(daemon, ledger)
                restarts += 1
                clean += not verdict.unclean
                for name in ("lost_edits", "lost_jobs", "unreported", "interrupted",
                             "finished", "end_unwritten"):
                    setattr(totals, name, getattr(totals, name) + getattr(verdict, name))
                report.line(f"  restart {round_number}: up in {start_s:.2f} s; lost edits "
                            f"{verdict.lost_edits}, lost jobs {verdict.lost_jobs}; of the "
                            f"jobs running at the kill {verdict.interrupted} reported "
                            f"interrupted, {verdict.finished} finished, {verdict.unreported} "
                            f"unreported"
                            + (f"; NOT CLEAN: {verdict.unclean}" if verdict.unclean else ""))
            if last:
                daemon.stop()
                assert daemon.process is not None
                report.line(f"last start stopped gracefully: exit {daemon.process.returncode}")
                break
            stop = threading.Event()
            ledger.edits_this_round = ledger.jobs_this_round = 0
            threads = [threading.Thread(target=editor, args=(daemon, ledger, pods,
                                                             round_number, stop,
                                                             random.Random(rng.random()))),
                       threading.Thread(target=job_loop, args=(daemon, ledger, stop,
                                                               random.Random(rng.random())))]
            for thread in threads:
                thread.start()
            moment = rng.uniform(0.05, args.max_kill_seconds)
            time.sleep(moment)
            with ledger.lock:
                during = ledger.current_job or "no job"
            assert daemon.process is not None
            daemon.process.send_signal(signal.SIGKILL)
            daemon.process.wait()
            stop.set()
            for thread in threads:
                thread.join()
            rounds_done += 1
            report.line(f"round {round_number + 1}: killed at {moment:.2f} s during {during}; "
                        f"acknowledged {ledger.edits_this_round} edits, "
                        f"{ledger.jobs_this_round} jobs")
    finally:
        shutil.rmtree(work, ignore_errors=True)
    report.line("")
    report.line(f"{rounds_done} rounds in {time.monotonic() - started:.0f} s: "
                f"{len(ledger.edits)} edits and {len(ledger.jobs)} jobs acknowledged; "
                f"{totals.interrupted} jobs reported interrupted after a kill, "
                f"{totals.finished} finished just before it; {totals.end_unwritten} jobs "
                f"seen finished were reported interrupted (their end not yet journaled); "
                f"{clean} of {restarts} restarts clean")
    report.ratio("soak_acknowledged_edits_lost", totals.lost_edits, 0, higher_is_better=False,
                 note=f"(of {len(ledger.edits)})")
    report.ratio("soak_acknowledged_jobs_lost", totals.lost_jobs, 0, higher_is_better=False,
                 note=f"(of {len(ledger.jobs)})")
    report.ratio("soak_interrupted_jobs_unreported", totals.unreported, 0,
                 higher_is_better=False, note=f"({totals.interrupted} reported interrupted)")
    report.ratio("soak_clean_restarts", clean / restarts if restarts else float("nan"), 1.0,
                 note=f"({clean} of {restarts})")
    report.finish()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
