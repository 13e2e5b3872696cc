"""Benchmark 4, search speed: a text search (3 terms) over 1,000,000 triples in 10,000 pods.
The daemon's search job end to end through HTTP (POST the job, long-poll until terminal,
GET its result) against the reference implementation's query (colonylib's
`search_content`: a `CONTAINS(LCASE(STR(?object)), ...)` scan over every literal, here with
the three terms OR-ed, `ORDER BY ?graph ?subject LIMIT n`, serialized to SPARQL JSON), run
directly on pyoxigraph in this process, on the same store (opened read-only beside the
daemon), same run. Target: the daemon >= 10x faster.

It measures whatever the daemon does for a text search (today a SPARQL scan; a full-text
index when one lands). The store is built once with the project's graph module and cached
under --workdir.

It also reports what a query worker process costs an advanced query (ADVANCED_QUERY, 1,000
rows), next to the same query in this process (the in-process path the daemon used
before): a worker's start-up (a new process, its limits, ready to take a request), its
first query (the store opened read-only, then the query), and the hand-over of a warm
worker (a call's wall time less the query's own time in the worker: the pipe both ways
and the JSON header); then the daemon's advanced job end to end. No target: figures.

Last, the SPARQL lexer's time on hostile texts (LEXER_CASES, each repeated to 25,000 and
to 100,000 characters; the old check took 21 s on 100 KB of quote-backslash pairs):
linear time reads 4x the text in about 4x the time; the ratio of all cases' total times
is judged <= 6 (quadratic would be 16; one case's few milliseconds are too noisy alone).
    .venv/bin/python bench/search.py [--quick] [--pods 10000] [--triples-per-pod 100]
                                     [--rounds 5] [--limit 50]
"""

from __future__ import annotations

import argparse
import contextlib
import json
import math
import time
from pathlib import Path

import httpx
import pyoxigraph
import trio
from common import (
    Daemon,
    Report,
    add_common_args,
    daemon_env,
    fmt_list,
    job_seconds,
    median,
    run_to_result,
)
from fixtures import search_store

from colony_actor.colony.errors import InvalidInput
from colony_actor.colony.search.advanced import advanced
from colony_actor.colony.search.process import QueryWorkers
from colony_actor.colony.search.readonly import check_read_only
from colony_actor.colony.search.sandbox import Limits
from colony_actor.service import config

LEXER_CASES = {"quote-backslash": "'\\", "parentheses": "(", "escaped names": "a:\\' ",
               "dots": "a.", "open IRIs": "<a", "strings": "'a' ", "names": "a:b;",
               "less-than": "< ", "variables": "?a "}
ADVANCED_QUERY = ("SELECT ?subject ?object ?graph WHERE { GRAPH ?graph { ?subject "
                  "<http://schema.org/name> ?object } } LIMIT 1000")


def lexer_scaling(rounds: int) -> dict[str, tuple[float, float]]:
    """(seconds at 25,000 characters, at 100,000) of the read-only check, best of
    `rounds`, for each of LEXER_CASES after a valid query."""
    out: dict[str, tuple[float, float]] = {}
    for name, unit in LEXER_CASES.items():
        best: list[float] = []
        for size in (25_000, 100_000):
            text = "SELECT * WHERE { ?s ?p ?o } " + unit * (size // len(unit))
            times = []
            for _ in range(max(rounds, 3)):
                started = time.perf_counter()
                with contextlib.suppress(InvalidInput):
                    check_read_only(text)
                times.append(time.perf_counter() - started)
            best.append(min(times))
        out[name] = (best[0], best[1])
    return out


def worker_costs(store_dir: Path, rounds: int) -> dict[str, float]:
    """Median seconds: `in_process` (the query here), `start` (a worker's start-up),
    `first` (a new worker's first query, opening the store), `warm` (a warm worker's call)
    and `handover` (warm less the query's time in the worker)."""
    search = config.SearchSettings()
    limits = Limits(search.worker_memory_bytes, search.worker_stack_bytes,
                    search.worker_cpu_seconds)
    request = {"op": "run", "sparql": ADVANCED_QUERY, "store_path": str(store_dir),
               "generation": 0, "seconds": 600, "cpu_seconds": 600}
    figures: dict[str, list[float]] = {k: [] for k in
                                       ("in_process", "start", "first", "warm", "handover")}

    async def measure() -> None:
        for _ in range(rounds):
            # A handle of this moment: the running daemon compacts away files that an
            # older read-only handle still names.
            store = pyoxigraph.Store.read_only(str(store_dir))
            for _ in range(3):
                started = time.perf_counter()
                advanced(store, ADVANCED_QUERY, math.inf)
                figures["in_process"].append(time.perf_counter() - started)
            workers = QueryWorkers(limits, 1)
            try:
                started = time.perf_counter()
                await workers.call({"op": "report"})
                figures["start"].append(time.perf_counter() - started)
                started = time.perf_counter()
                await workers.call(request)
                figures["first"].append(time.perf_counter() - started)
                for _ in range(3):
                    started = time.perf_counter()
                    header, _ = await workers.call(request)
                    wall = time.perf_counter() - started
                    figures["warm"].append(wall)
                    figures["handover"].append(wall - float(header["seconds"]))
            finally:
                await workers.aclose()

    trio.run(measure)
    return {name: median(values) for name, values in figures.items()}


def reference_query(terms: list[str], limit: int) -> str:
    """colonylib's search_content query, one CONTAINS per term (any term matches)."""
    def quoted(term: str) -> str:
        return '"' + term.replace("\\", "\\\\").replace('"', '\\"') + '"'

    matches = " || ".join(f"CONTAINS(LCASE(STR(?object)), LCASE({quoted(t)}))" for t in terms)
    return ("SELECT DISTINCT ?subject ?predicate ?object ?graph WHERE { GRAPH ?graph { "
            f"?subject ?predicate ?object . FILTER(isLiteral(?object) && ({matches})) }} }} "
            f"ORDER BY ?graph ?subject LIMIT {limit}")


def run_reference(store: pyoxigraph.Store, sparql: str) -> tuple[float, int]:
    started = time.perf_counter()
    results = store.query(sparql)
    assert isinstance(results, pyoxigraph.QuerySolutions)
    body = results.serialize(format=pyoxigraph.QueryResultsFormat.JSON)
    assert body is not None
    seconds = time.perf_counter() - started
    return seconds, len(json.loads(body)["results"]["bindings"])


def run_daemon(client: httpx.Client, text: str, limit: int) -> tuple[float, float, int]:
    """(end-to-end seconds, job seconds, rows) of one search job."""
    seconds, job, result = run_to_result(client, "/api/v1/jobs/search",
                                         json={"type": "text", "text": text, "limit": limit})
    return seconds, job_seconds(job), int(result["result_count"])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    add_common_args(parser)
    parser.add_argument("--pods", type=int, default=10_000)
    parser.add_argument("--triples-per-pod", type=int, default=100)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--limit", type=int, default=50)
    args = parser.parse_args(argv)
    if args.quick:
        args.pods, args.rounds = 50, 1
    report = Report("search speed (bench/search.py)")
    report.header(pods=args.pods, triples_per_pod=args.triples_per_pod, rounds=args.rounds,
                  limit=args.limit, daemon_settings="defaults (log level warning)")
    store = search_store(args.workdir, args.pods, args.triples_per_pod, log=report.line)
    text = " ".join(store.terms)
    sparql = reference_query(store.terms, args.limit)
    report.line(f"# store: {store.data_dir} ({store.triples} triples); terms: {text!r}")
    for journal in store.data_dir.glob("jobs.sqlite3*"):
        journal.unlink()  # earlier runs' jobs: not part of this run
    daemon = Daemon(store.data_dir, store.root / "network", env=daemon_env())
    reference_s: list[float] = []
    daemon_s: list[float] = []
    ratios: list[float] = []
    with daemon.start(), daemon.client(timeout=900) as client:
        reference = pyoxigraph.Store.read_only(str(store.store_dir))
        if not args.quick:
            # Warm both (page cache, first-query set-up) before the measured rounds.
            run_reference(reference, sparql)
            run_daemon(client, text, args.limit)
        for round_number in range(args.rounds):
            order = ["reference", "daemon"]
            if round_number % 2:
                order.reverse()
            figures: dict[str, float] = {}
            for which in order:
                if which == "reference":
                    figures["reference"], ref_rows = run_reference(reference, sparql)
                else:
                    figures["daemon"], job_s, rows = run_daemon(client, text, args.limit)
            reference_s.append(figures["reference"])
            daemon_s.append(figures["daemon"])
            ratios.append(figures["reference"] / figures["daemon"])
            report.line(f"round {round_number + 1}: reference {figures['reference']:.3f} s "
                        f"({ref_rows} rows); daemon end to end {figures['daemon']:.3f} s "
                        f"(job {job_s:.3f} s, {rows} rows); reference/daemon "
                        f"{ratios[-1]:.3f}")
        costs = worker_costs(store.store_dir, args.rounds)
        advanced_s = [run_to_result(client, "/api/v1/jobs/search", json={
            "type": "advanced", "sparql": ADVANCED_QUERY})[0] for _ in range(args.rounds)]
        del reference
    report.line("")
    report.line(f"advanced query ({ADVANCED_QUERY!r}), medians: in this process "
                f"{costs['in_process'] * 1000:.1f} ms; a worker's start-up "
                f"{costs['start'] * 1000:.1f} ms, its first query (opening the store) "
                f"{costs['first'] * 1000:.1f} ms, a warm worker's call "
                f"{costs['warm'] * 1000:.1f} ms of which hand-over "
                f"{costs['handover'] * 1000:.1f} ms; the daemon's advanced job end to end "
                f"{median(advanced_s) * 1000:.1f} ms {fmt_list(advanced_s, 3)}")
    report.line(f"reference median {median(reference_s):.3f} s {fmt_list(reference_s, 3)}; "
                f"daemon median {median(daemon_s):.3f} s {fmt_list(daemon_s, 3)}")
    report.ratio("search_speedup_daemon_vs_reference", median(ratios), 10.0,
                 note=f"(reference {median(reference_s):.3f} s / daemon "
                      f"{median(daemon_s):.3f} s over {store.triples} triples)")
    scaling = lexer_scaling(args.rounds)
    for name, (small, large) in scaling.items():
        report.line(f"lexer, {name}: 25,000 chars {small * 1000:.1f} ms, 100,000 chars "
                    f"{large * 1000:.1f} ms ({large / small:.1f}x)")
    small_total = sum(small for small, _ in scaling.values())
    large_total = sum(large for _, large in scaling.values())
    report.ratio("lexer_time_100k_vs_25k", large_total / small_total, 6.0,
                 higher_is_better=False,
                 note=f"(all cases: {large_total * 1000:.1f} ms for 100,000 characters each, "
                      f"{small_total * 1000:.1f} ms for 25,000)")
    report.ratio("advanced_worker_vs_in_process", costs["warm"] / costs["in_process"],
                 note=f"(warm worker {costs['warm'] * 1000:.1f} ms vs in process "
                      f"{costs['in_process'] * 1000:.1f} ms; start-up "
                      f"{costs['start'] * 1000:.1f} ms once per worker)")
    report.finish()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
