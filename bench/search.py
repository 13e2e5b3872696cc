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

    .venv/bin/python bench/search.py [--quick] [--pods 10000] [--triples-per-pod 100]
                                     [--rounds 5] [--limit 50]
"""

from __future__ import annotations

import argparse
import json
import time

import httpx
import pyoxigraph
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
        del reference
    report.line("")
    report.line(f"reference median {median(reference_s):.3f} s {fmt_list(reference_s, 3)}; "
                f"daemon median {median(daemon_s):.3f} s {fmt_list(daemon_s, 3)}")
    report.ratio("search_speedup_daemon_vs_reference", median(ratios), 10.0,
                 note=f"(reference {median(reference_s):.3f} s / daemon "
                      f"{median(daemon_s):.3f} s over {store.triples} triples)")
    report.finish()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
