"""Benchmark 6, memory: resident memory growth per 10,000 retained terminal jobs (target
<= 20 MB), and flat once jobs.max_retained is reached.

Jobs run through the daemon over HTTP, several clients at once with ?queue=true, for two
kinds of job, each on a fresh daemon (jobs.max_retained = --max-retained):

- search: a text search that finds 10 rows (limit 10; 3 pods of 4 subjects), a job whose
  JSON is about 5.5 KB;
- refresh: a cache refresh against an empty network (a small stats result), about 0.5 KB.

First a warm-up batch, which is then forgotten (DELETE); the daemon's VmRSS
(/proc/<pid>/status) is the baseline. Then max_retained jobs in batches, VmRSS after each:
the growth per 10,000 is the median of the batches' slopes. Then --extra-batches batches
beyond the bound (the oldest jobs are evicted): their median slope per 10,000 jobs should
be about 0 (reported against a 2 MB allowance).

    .venv/bin/python bench/memory.py [--quick] [--max-retained 10000] [--batch 2500]
                                     [--extra-batches 3] [--clients 8] [--kinds search,refresh]
"""

from __future__ import annotations

import argparse
import re
import shutil
import time

import httpx
import trio
from common import (
    TERMINAL,
    Daemon,
    Report,
    add_common_args,
    daemon_env,
    fmt_list,
    median,
)

MB = 1024 * 1024
WORDS = ("amber", "basalt", "cobalt", "dune", "ember", "fjord")
KINDS = {"search": ("/api/v1/jobs/search", {"q": "cobalt", "limit": "10"}),
         "refresh": ("/api/v1/jobs/cache/refresh", {})}


def seed(daemon: Daemon) -> None:
    with daemon.client() as client:
        for number in range(3):
            pod = client.post("/api/v1/pods", json={"name": f"memory pod {number}"})
            pod.raise_for_status()
            address = pod.json()["address"]
            for s in range(4):
                subject = f"{number:02x}{s:02x}" + "ab" * 30
                client.put(f"/api/v1/pods/{address}/{subject}", json={
                    "@context": {"schema": "http://schema.org/"}, "@type": "schema:Book",
                    "schema:name": f"{WORDS[(number + s) % len(WORDS)]} {WORDS[s]} book",
                    "schema:description": " ".join(WORDS[s:] + WORDS[:s]),
                }).raise_for_status()


async def run_jobs(url: str, headers: dict[str, str], kind: str, count: int,
                   clients: int) -> list[str]:
    """Run `count` jobs of `kind` to completion with `clients` concurrent clients."""
    path, query = KINDS[kind]
    ids: list[str] = []
    remaining = count
    limits = httpx.Limits(max_connections=clients * 2 + 2)
    async with httpx.AsyncClient(base_url=url, headers=headers, limits=limits,
                                 timeout=60) as client:

        async def worker() -> None:
            nonlocal remaining
            while remaining > 0:
                remaining -= 1
                while True:
                    response = await client.post(path, params={**query, "queue": "true"})
                    if response.status_code == 409:  # the queue is full: come back soon
                        await trio.sleep(0.002)
                        continue
                    if response.status_code != 202:
                        raise RuntimeError(f"start: {response.status_code} {response.text}")
                    break
                job_id = response.json()["job_id"]
                since = 0
                while True:
                    polled = await client.get(f"/api/v1/jobs/{job_id}",
                                              params={"wait": 30, "since": since})
                    polled.raise_for_status()
                    job = polled.json()["job"]
                    if job["status"] in TERMINAL:
                        if job["status"] != "completed":
                            raise RuntimeError(f"job {job_id} {job['status']}: {job['error']}")
                        break
                    since = job["version"]
                ids.append(job_id)

        async with trio.open_nursery() as nursery:
            for _ in range(clients):
                nursery.start_soon(worker)
    return ids


def retained(daemon: Daemon) -> int:
    text = httpx.get(daemon.url + "/metrics", timeout=30).text
    match = re.search(r"^colony_jobs_retained (\S+)$", text, re.MULTILINE)
    return int(float(match.group(1))) if match else -1


def settle(daemon: Daemon) -> int:
    """VmRSS once the journal has caught up (a short pause, then the reading)."""
    time.sleep(1.0)
    return daemon.rss_bytes()


def measure(args: argparse.Namespace, kind: str, report: Report) -> tuple[list[float],
                                                                         list[float]]:
    """(growth per 10k up to the bound, per batch; growth per 10k beyond it, per batch)."""
    base = args.workdir / f"memory-{kind}"
    if base.exists():
        shutil.rmtree(base)
    daemon = Daemon(base / "data", base / "network",
                    env=daemon_env(jobs_max_retained=args.max_retained))
    fill: list[float] = []
    beyond: list[float] = []
    with daemon.start(), daemon.client() as client:
        seed(daemon)
        started = time.monotonic()
        warm = trio.run(run_jobs, daemon.url, daemon.headers, kind, args.warmup, args.clients)
        for job_id in warm:
            client.delete(f"/api/v1/jobs/{job_id}").raise_for_status()
        rate = args.warmup / (time.monotonic() - started)
        rss = baseline = filled = settle(daemon)
        report.line(f"{kind}: warm-up {args.warmup} jobs ({rate:.0f} jobs/s), forgotten; "
                    f"baseline VmRSS {rss / MB:.1f} MB, retained {retained(daemon)}")
        done = 0
        phases = [("fill", fill)] * -(-args.max_retained // args.batch)
        phases += [("beyond", beyond)] * args.extra_batches
        for phase, slopes in phases:
            count = args.batch if phase == "beyond" else min(args.batch,
                                                               args.max_retained - done)
            started = time.monotonic()
            trio.run(run_jobs, daemon.url, daemon.headers, kind, count, args.clients)
            seconds = time.monotonic() - started
            done += count
            before, rss = rss, settle(daemon)
            if phase == "fill":
                filled = rss
            slopes.append((rss - before) / MB * 10_000 / count)
            report.line(f"{kind}: {phase:6} {done:6} jobs run, retained {retained(daemon):6}, "
                        f"VmRSS {rss / MB:7.1f} MB ({(rss - before) / MB:+6.1f} MB, "
                        f"{slopes[-1]:+6.1f} MB per 10k; {count / seconds:.0f} jobs/s)")
    report.line(f"{kind}: growth per 10,000 retained jobs: batch slopes {fmt_list(fill)} MB, "
                f"median {median(fill):.1f} MB; baseline to bound "
                f"{(filled - baseline) / MB:.1f} MB over {args.max_retained} jobs; beyond "
                f"the bound {fmt_list(beyond)} MB per 10k, median {median(beyond):.1f}")
    return fill, beyond


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    add_common_args(parser)
    parser.add_argument("--max-retained", type=int, default=10_000)
    parser.add_argument("--batch", type=int, default=2500)
    parser.add_argument("--extra-batches", type=int, default=3)
    parser.add_argument("--warmup", type=int, default=500)
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--kinds", default="search,refresh")
    args = parser.parse_args(argv)
    if args.quick:
        args.max_retained, args.batch, args.extra_batches, args.warmup = 40, 20, 1, 10
    kinds = [k.strip() for k in args.kinds.split(",") if k.strip()]
    report = Report("memory per retained job (bench/memory.py)")
    report.header(max_retained=args.max_retained, batch=args.batch,
                  extra_batches=args.extra_batches, warmup=args.warmup, clients=args.clients,
                  kinds=", ".join(f"{k}: POST {KINDS[k][0]} {KINDS[k][1] or ''}"
                                  for k in kinds))
    results = {kind: measure(args, kind, report) for kind in kinds}
    for kind, (fill, beyond) in results.items():
        report.ratio(f"rss_mb_per_10k_retained_jobs[{kind}]", median(fill), 20.0,
                     higher_is_better=False)
        report.ratio(f"rss_mb_per_10k_jobs_beyond_max_retained[{kind}]", median(beyond), 2.0,
                     higher_is_better=False, note="(flat once the bound is reached)")
    report.finish()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
