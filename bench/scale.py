"""Benchmark 7, cost as the work grows: the same generated data at 10k, 100k, 1M and 10M
triples (100 triples a pod), and at each size, on the real daemon:

- first start: the full-text index built from the store (its file is missing), its
  seconds, the progress lines it logs, and /health p99 during the build (a patient probe:
  each request timed from when it was due, refused connections retried) against an idle
  window of the same daemon afterwards (as bench/loop.py does);
- restarts (the index exists): seconds to /health, to the first answered search, and RSS
  at /health;
- searches end to end (POST the job, long-poll, GET the result), p50 and p99 over rounds:
  a rare 3-term text query (bench/search.py's terms), a broad 1-term one (the vocabulary's
  most frequent word), limit 50; the subject data of one subject; a `by_type` search;
  then RSS once 200 searches have run, right after the last and SETTLE_SECONDS later (the
  daemon gives the memory jobs freed back once none has ended for a second, and it is
  judged on that); a PUT of one subject and a POST of one pod, timed;
- store and index size on disk, bytes per statement;
- refresh_ref (depth 2) and upload_all of min(--sync-pods, pods) pods with
  network.latency_ms = --latency-ms, landing in (and read from) the store of that size,
  followed by Server-Sent Events: pods/s, the share of the concurrency limit reached
  (pods/s at the default concurrency over concurrency x the pods/s at concurrency 1; the
  latter measured once per run on bench/sync.py's fixture of --c1-pods pods), and how
  steadily the progress moved.

The data of a size: a follower with the sync fixture's reference pod and pods of its own
(fixtures.own_pods_base, through HTTP), plus the generated pods written by pyoxigraph's
bulk loader (fixtures.scale_store); built once, cached under --workdir. Each size runs on
a working copy (the store hard-linked by a pyoxigraph backup; deleted afterwards).

Targets (issue 18) are judged at 10M, and the 3-term search also against 1M of the same
run; at other sizes their figures are printed against the target, marked as not judged.
A plot of latency and RSS against size (log scales) goes to --plot (needs the `bench`
extra: pip install -e '.[bench]').

    .venv/bin/python bench/scale.py [--quick] [--sizes 10k,100k,1M,10M] [--rounds 20]
                                    [--sync-pods 5000] [--plot docs/scale.png] [--build-only]
"""

from __future__ import annotations

import argparse
import json
import math
import shutil
import time
from collections.abc import Callable
from itertools import pairwise
from pathlib import Path
from typing import Any

import httpx
import pyoxigraph
from common import (
    MNEMONIC_B,
    REPO,
    Daemon,
    LogTail,
    Probe,
    Report,
    add_common_args,
    code_version,
    daemon_env,
    follow_terminal,
    free_port,
    job_seconds,
    median,
    parse_time,
    percentile,
    run_to_result,
    start_job,
    summarize,
)
from fixtures import (
    READY,
    SCHEMA,
    SEARCH_TERM_RANKS,
    ScaleStore,
    Words,
    address,
    own_pods_base,
    scale_store,
    subject_jsonld,
    sync_fixture,
)
from sync import default_concurrency, measure

MB = 1024 * 1024
TARGET_SIZE, REFERENCE_SIZE = 10_000_000, 1_000_000
APPLIES = "at 10M"
# The daemon's log events around a full-text index build (colony_actor's fulltext index).
BUILD_START, BUILD_END = "fulltext_rebuild", "fulltext_rebuilt"
# A measured search must not be cut short by the daemon's time limits.
NO_LIMITS = {"search_timeout_seconds": 3600, "jobs_timeout_seconds_search": 3600}
SEARCH = "/api/v1/jobs/search"
# How long after the last search RSS is read again: the daemon gives freed memory back once
# no job has ended for a second (runtime/memory.py, QUIET_SECONDS).
SETTLE_SECONDS = 2.0
OWN_POD = "own pod 0"  # a pod of the follower's own (fixtures.own_pods_base)


def parse_size(text: str) -> int:
    text = text.strip()
    scale = {"k": 1_000, "M": 1_000_000}.get(text[-1:], 1)
    return int(float(text[:-1] if scale > 1 else text) * scale)


def size_label(triples: int) -> str:
    for unit, value in (("M", 1_000_000), ("k", 1_000)):
        if triples >= value and triples % value == 0:
            return f"{triples // value}{unit}"
    return str(triples)


def tree_bytes(path: Path) -> int:
    if path.is_file():
        return path.stat().st_size
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file())


class Size:
    """One size's data, working copy and figures."""

    def __init__(self, args: argparse.Namespace, store: ScaleStore) -> None:
        self.args = args
        self.store = store
        self.label = size_label(store.triples)
        self.work = args.workdir / "scale" / f"work-{self.label}"
        self.data = self.work / "data"
        self.figures: dict[str, float] = {}
        self.token = ""

    def daemon(self, log_level: str = "warning", network: Path | None = None,
               **settings: Any) -> Daemon:
        return Daemon(self.data, network or self.work / "no-network",
                      env=daemon_env(log_level=log_level, **NO_LIMITS, **settings),
                      mnemonic=MNEMONIC_B, log_path=self.work / "daemon.log", port=free_port())

    def prepare(self) -> None:
        """A working copy: the store as a pyoxigraph backup (hard links), the rest copied,
        no full-text index and no job journal."""
        if self.work.exists():
            shutil.rmtree(self.work)
        self.data.mkdir(parents=True)
        for path in self.store.data_dir.iterdir():
            if path.name != "store" and path.is_file():
                shutil.copy2(path, self.data / path.name)
        pyoxigraph.Store.read_only(str(self.store.store_dir)).backup(str(self.data / "store"))


def first_start(size: Size, report: Report) -> None:
    """The daemon's first start on the copy, which builds the full-text index; /health
    probed from before it starts, then during an idle window once it runs."""
    args = size.args
    daemon = size.daemon(log_level="info")
    health = f"http://127.0.0.1:{daemon.port}/health"
    events: dict[str, dict[str, Any]] = {}
    logged: list[dict[str, Any]] = []
    with Probe(health, args.interval, patient=True) as probe:
        spawned = time.time()
        daemon.spawn()
        tail = LogTail(daemon.log_path)
        deadline = time.monotonic() + args.build_timeout
        while not {BUILD_END, "daemon_started"} <= set(events):
            if time.monotonic() > deadline or daemon.process is None \
                    or daemon.process.poll() is not None:
                daemon.stop()
                raise RuntimeError(f"first start: no {BUILD_END} and daemon_started events: "
                                   f"{daemon.log()[-3000:]}")
            time.sleep(0.05)
            for event in tail.new_events():
                logged.append(event)
                events.setdefault(str(event.get("event")), event)
    try:
        start = parse_time(events[BUILD_START]["timestamp"]) if BUILD_START in events \
            else spawned
        end = parse_time(events[BUILD_END]["timestamp"])
        during = [ms for due, ms in probe.samples if start <= due <= end]
        progress = [e for e in logged if "fulltext" in str(e.get("logger", ""))
                    and e.get("event") not in (BUILD_START, BUILD_END)
                    and start <= parse_time(e["timestamp"]) <= end]
        with Probe(health, args.interval, patient=True) as idle_probe:
            time.sleep(args.idle_window)
        daemon.login()
        size.token = daemon.token
    finally:
        daemon.stop()
    built, idle = summarize(during), summarize(idle_probe.latencies)
    size.figures.update({
        "build_s": float(events[BUILD_END].get("seconds", end - start)),
        "first_start_s": parse_time(events["daemon_started"]["timestamp"]) - spawned,
        "build_progress_lines": float(len(progress)),
        "build_health_p99_ms": built["p99"], "idle_health_p99_ms": idle["p99"],
        "build_health_vs_idle": built["p99"] / idle["p99"]})
    report.line(f"[{size.label}] first start: index built in {size.figures['build_s']:.2f} s "
                f"({len(progress)} progress lines), listening after "
                f"{size.figures['first_start_s']:.2f} s; /health during the build n="
                f"{built['n']:.0f} p50={built['p50']:.1f} p99={built['p99']:.1f} "
                f"max={built['max']:.1f} ms; idle n={idle['n']:.0f} p99={idle['p99']:.2f} ms")


def restart(size: Size, text: str) -> tuple[Daemon, float, float, int]:
    """Start the daemon on the indexed copy: (daemon, seconds to /health, seconds to the
    first answered search, RSS at /health). The token of an earlier start is used."""
    daemon = size.daemon()
    daemon.token = size.token
    daemon.spawn()
    with httpx.Client(base_url=daemon.url, headers=daemon.headers, timeout=3600) as client:
        while True:
            try:
                if client.get("/health").status_code == 200:
                    break
            except httpx.TransportError:
                pass
            if daemon.process is not None and daemon.process.poll() is not None:
                raise RuntimeError(f"daemon exited: {daemon.log()[-3000:]}")
            time.sleep(0.005)
        to_health = time.perf_counter() - daemon.spawned_at
        rss = daemon.rss_bytes()
        run_to_result(client, SEARCH, json={"type": "text", "text": text,
                                            "limit": size.args.limit})
        to_search = time.perf_counter() - daemon.spawned_at
    daemon.login()
    size.token = daemon.token
    return daemon, to_health, to_search, rss


def rounds(run: Callable[[], float], count: int, budget: float) -> list[float]:
    """Up to `count` timings of `run` (ms), stopping after `budget` seconds once 3 ran."""
    out: list[float] = []
    started = time.monotonic()
    while len(out) < count and (len(out) < 3 or time.monotonic() - started < budget):
        out.append(run() * 1000)
    return out


def describe(path: str, body: dict[str, Any] | None) -> str:
    if body is None:
        return path.rsplit("/", 1)[-1][:16] + "..."
    return repr(body.get("text") or body.get("type_uri"))


def searches_and_edit(size: Size, daemon: Daemon, words: Words, report: Report) -> None:
    args = size.args
    rare = " ".join(words.words[r - 1] for r in SEARCH_TERM_RANKS)
    broad = words.words[0]
    pod = size.store.pods // 2
    cases: dict[str, tuple[str, dict[str, Any] | None]] = {
        "search3": (SEARCH, {"type": "text", "text": rare, "limit": args.limit}),
        "search1_broad": (SEARCH, {"type": "text", "text": broad, "limit": args.limit}),
        "subject": (f"{SEARCH}/subject/{address(f'subject/{pod}', 3)}", None),
        "by_type": (SEARCH, {"type": "by_type", "type_uri": SCHEMA + "Book",
                             "limit": args.limit}),
    }
    done = 1  # the restart's first search
    with daemon.client(timeout=3600) as client:
        for name, (path, body) in cases.items():
            rows: list[int] = []

            def one(path: str = path, body: dict[str, Any] | None = body,
                    rows: list[int] = rows) -> float:
                seconds, _, result = run_to_result(client, path, timeout=3600, json=body)
                rows.append(int(result.get("result_count", len(
                    result.get("results", {}).get("bindings", [])))))
                return seconds

            one()  # warm-up
            timings = rounds(one, args.rounds, args.budget)
            done += len(timings) + 1
            size.figures[f"{name}_p50_ms"] = percentile(timings, 50)
            size.figures[f"{name}_p99_ms"] = percentile(timings, 99)
            report.line(f"[{size.label}] {name}: n={len(timings)} p50="
                        f"{size.figures[f'{name}_p50_ms']:.1f} ms p99="
                        f"{size.figures[f'{name}_p99_ms']:.1f} ms ({rows[-1]} rows; "
                        f"{describe(path, body)})")
        shift = 0
        while done < args.searches:
            shift += 1
            text = " ".join(words.words[r - 1 + shift] for r in SEARCH_TERM_RANKS)
            run_to_result(client, SEARCH, timeout=3600,
                          json={"type": "text", "text": text, "limit": args.limit})
            done += 1
        size.figures["rss_right_after_searches_mb"] = daemon.rss_bytes() / MB
        time.sleep(SETTLE_SECONDS)
        size.figures["rss_after_searches_mb"] = daemon.rss_bytes() / MB
        report.line(f"[{size.label}] RSS after {done} searches: "
                    f"{size.figures['rss_after_searches_mb']:.1f} MB {SETTLE_SECONDS:.0f} s "
                    f"later, {size.figures['rss_right_after_searches_mb']:.1f} MB right after")
        # A pod edit as a user makes one (the pod named, not its address): it is not a
        # job, but it must not grow with the pods either.
        edits = iter(range(1 << 30))

        def edit() -> float:
            started = time.perf_counter()
            client.put(f"/api/v1/pods/{OWN_POD}/{address('scale-edit', next(edits))}",
                       json=subject_jsonld(words, "Book")).raise_for_status()
            return time.perf_counter() - started

        edit()  # warm-up
        timings = rounds(edit, args.rounds, args.budget)
        size.figures["edit_p50_ms"] = percentile(timings, 50)
        size.figures["edit_p99_ms"] = percentile(timings, 99)
        report.line(f"[{size.label}] PUT of one subject into {OWN_POD!r}: n={len(timings)} "
                    f"p50={size.figures['edit_p50_ms']:.1f} ms p99="
                    f"{size.figures['edit_p99_ms']:.1f} ms")
        names = iter(range(1 << 30))

        def create() -> float:
            started = time.perf_counter()
            client.post("/api/v1/pods", json={"name": f"scale {next(names)}"}
                        ).raise_for_status()
            return time.perf_counter() - started

        create()  # warm-up
        timings = rounds(create, args.rounds, args.budget)
        size.figures["create_p50_ms"] = percentile(timings, 50)
        size.figures["create_p99_ms"] = percentile(timings, 99)
        report.line(f"[{size.label}] POST of one pod: n={len(timings)} "
                    f"p50={size.figures['create_p50_ms']:.1f} ms p99="
                    f"{size.figures['create_p99_ms']:.1f} ms")


def steadiness(job: dict[str, Any], seen: list[tuple[float, float]]) -> tuple[float, float]:
    """(longest stretch without progress, as a share of the job; the largest distance of
    progress from a straight line from start to end) over the events that arrived."""
    start, end = parse_time(job["started_at"]), parse_time(job["finished_at"])
    length = max(end - start, 1e-9)
    # Arrival times, clipped to the job's own span (an event arrives a little after it).
    moves = [start] + [min(max(t, start), end) for (_, q), (t, p) in pairwise(seen) if p > q]
    moves.append(end)
    stall = max(b - a for a, b in pairwise(moves)) / length
    drift = max((abs(p - (t - start) / length) for t, p in seen if start <= t <= end),
                default=math.nan)
    return stall, drift


def sync(size: Size, operation: str, concurrency: int, c1_rate: float,
         report: Report) -> None:
    args = size.args
    base = size.store.base
    if operation == "refresh":
        network, path, key = base.sync.network, "/api/v1/jobs/cache/refresh/2", "pods_refreshed"
    else:
        network, path, key = size.work / "upload-network", "/api/v1/jobs/cache/upload", \
            "pods_uploaded"
        if network.exists():
            shutil.rmtree(network)
    daemon = size.daemon(network=network, network_latency_ms=args.latency_ms)
    seen: list[tuple[float, float]] = []
    with daemon.start(), daemon.client(timeout=3600) as client:
        job_id = start_job(client, path)
        job = follow_terminal(client, job_id, 3600, on_state=lambda state: seen.append(
            (time.time(), float(state["progress"]))))
    if job["status"] != "completed" or job["result"].get(key, 0) < base.pods:
        raise RuntimeError(f"{operation}: expected {key} >= {base.pods}, got {job}")
    rate = base.pods / job_seconds(job)
    stall, drift = steadiness(job, seen)
    share = rate / (concurrency * c1_rate)
    size.figures.update({f"{operation}_pods_per_s": rate, f"{operation}_share": share,
                         f"{operation}_stall": stall, f"{operation}_drift": drift})
    report.line(f"[{size.label}] {operation} of {base.pods} pods: {job_seconds(job):.2f} s, "
                f"{rate:.1f} pods/s = {share:.1%} of {concurrency} x {c1_rate:.1f} pods/s; "
                f"{len(seen)} progress events, longest stall {stall:.1%} of the job, "
                f"largest drift from a straight line {drift:.2f}")


def measure_size(size: Size, concurrency: int, c1: dict[str, float], report: Report) -> None:
    args = size.args
    words = Words()
    size.prepare()
    first_start(size, report)
    text = " ".join(words.words[r - 1] for r in SEARCH_TERM_RANKS)
    health: list[float] = []
    first: list[float] = []
    rss: list[float] = []
    daemon: Daemon | None = None
    try:
        for _ in range(args.restarts):
            if daemon is not None:
                daemon.stop()
            daemon, to_health, to_search, memory = restart(size, text)
            health.append(to_health)
            first.append(to_search)
            rss.append(memory / MB)
        assert daemon is not None
        size.figures.update({"restart_health_s": median(health),
                             "restart_search_s": median(first), "rss_start_mb": median(rss)})
        report.line(f"[{size.label}] restart ({args.restarts}x): /health after "
                    f"{median(health):.2f} s, first search answered after {median(first):.2f}"
                    f" s (medians); RSS at /health {median(rss):.1f} MB")
        searches_and_edit(size, daemon, words, report)
    finally:
        if daemon is not None:
            daemon.stop()
    store_bytes = tree_bytes(size.data / "store")
    index_bytes = sum(tree_bytes(p) for p in size.data.glob("fulltext.sqlite3*"))
    size.figures.update({"store_mb": store_bytes / MB, "index_mb": index_bytes / MB,
                         "bytes_per_triple": (store_bytes + index_bytes) / size.store.quads})
    report.line(f"[{size.label}] on disk: store {store_bytes / MB:.1f} MB, index "
                f"{index_bytes / MB:.1f} MB, {size.figures['bytes_per_triple']:.0f} bytes per "
                f"statement ({size.store.quads} statements)")
    for operation in ("refresh", "upload"):
        sync(size, operation, concurrency, c1[operation], report)
    if not args.keep_work:
        shutil.rmtree(size.work)


# -- the table, the plot and the verdicts ----------------------------------------------------

ROWS = (
    ("statements in the store", "quads", "{:.0f}"),
    ("first build: generated data (s)", "data_build_s", "{:.1f}"),
    ("first build: pods over HTTP (s)", "pods_build_s", "{:.0f}"),
    ("index build at first start (s)", "build_s", "{:.2f}"),
    ("  progress lines logged", "build_progress_lines", "{:.0f}"),
    ("  /health p99 during it (ms)", "build_health_p99_ms", "{:.1f}"),
    ("  /health p99 idle (ms)", "idle_health_p99_ms", "{:.2f}"),
    ("restart to /health (s)", "restart_health_s", "{:.2f}"),
    ("restart to first search (s)", "restart_search_s", "{:.2f}"),
    ("3-term search p50 / p99 (ms)", "search3", "pair"),
    ("broad 1-term search p50 / p99 (ms)", "search1_broad", "pair"),
    ("subject data p50 / p99 (ms)", "subject", "pair"),
    ("by_type search p50 / p99 (ms)", "by_type", "pair"),
    ("PUT of one subject p50 / p99 (ms)", "edit", "pair"),
    ("POST of one pod p50 / p99 (ms)", "create", "pair"),
    ("RSS at start (MB)", "rss_start_mb", "{:.0f}"),
    ("RSS right after the searches (MB)", "rss_right_after_searches_mb", "{:.0f}"),
    (f"RSS {SETTLE_SECONDS:.0f} s after the searches (MB)", "rss_after_searches_mb", "{:.0f}"),
    ("store / index on disk (MB)", "disk", "disk"),
    ("bytes per statement", "bytes_per_triple", "{:.0f}"),
    ("refresh pods/s (share of limit)", "refresh", "sync"),
    ("upload pods/s (share of limit)", "upload", "sync"),
)


def cell(figures: dict[str, float], key: str, form: str) -> str:
    if form == "pair":
        return f"{figures[key + '_p50_ms']:.1f} / {figures[key + '_p99_ms']:.1f}"
    if form == "disk":
        return f"{figures['store_mb']:.0f} / {figures['index_mb']:.0f}"
    if form == "sync":
        return f"{figures[key + '_pods_per_s']:.0f} ({figures[key + '_share']:.0%})"
    return form.format(figures[key])


def table(sizes: list[Size], report: Report) -> None:
    width = max(len(label) for label, _, _ in ROWS)
    cells = [[cell(s.figures, key, form) for s in sizes] for _, key, form in ROWS]
    widths = [max(len(s.label), *(len(row[i]) for row in cells)) for i, s in enumerate(sizes)]
    report.line("")
    report.line(f"{'triples':<{width}} | " + " | ".join(
        f"{s.label:>{w}}" for s, w in zip(sizes, widths, strict=True)))
    for (label, _, _), row in zip(ROWS, cells, strict=True):
        report.line(f"{label:<{width}} | " + " | ".join(
            f"{c:>{w}}" for c, w in zip(row, widths, strict=True)))


def plot(sizes: list[Size], path: Path, report: Report) -> None:
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        report.line("# no plot: matplotlib is missing (pip install -e '.[bench]')")
        return
    x = [s.store.triples for s in sizes]
    figure, (left, right) = plt.subplots(1, 2, figsize=(12, 4.8))
    for key, label in (("search3_p50_ms", "3-term search p50"),
                       ("search1_broad_p50_ms", "broad 1-term search p50"),
                       ("subject_p50_ms", "subject data p50"),
                       ("by_type_p50_ms", "by_type search p50"),
                       ("edit_p50_ms", "PUT of one subject p50"),
                       ("create_p50_ms", "POST of one pod p50"),
                       ("restart_search_s", "restart to first search")):
        scale = 1000 if key.endswith("_s") else 1
        left.plot(x, [s.figures[key] * scale for s in sizes], marker="o", label=label)
    for key, label in (("rss_start_mb", "RSS at start"),
                       ("rss_after_searches_mb", "RSS after the searches"),
                       ("store_mb", "store on disk"), ("index_mb", "index on disk")):
        right.plot(x, [s.figures[key] for s in sizes], marker="o", label=label)
    for axes, unit in ((left, "ms"), (right, "MB")):
        first = axes.get_lines()[0].get_ydata()[0] if axes.get_lines() else 1
        if len(x) > 1:
            axes.plot(x, [first * v / x[0] for v in x], color="grey", linestyle=":",
                      label="proportional to size")
        axes.set_xscale("log")
        axes.set_yscale("log")
        axes.set_xlabel("triples")
        axes.set_ylabel(unit)
        axes.grid(True, which="both", alpha=0.3)
        axes.legend(fontsize="small")
    left.set_title("latency, end to end")
    right.set_title("memory and disk")
    figure.suptitle(f"{report.name}; code {code_version()}", fontsize="small")
    figure.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(path, dpi=110)
    report.line(f"# plot: {path}")


def verdicts(sizes: list[Size], report: Report) -> None:
    for size in sizes:
        f = size.figures
        applies = "" if size.store.triples == TARGET_SIZE else APPLIES
        tag = f"[{size.label}]"
        report.ratio(f"search3_p50_ms{tag}", f["search3_p50_ms"], 100, higher_is_better=False,
                     applies=applies, note=f"(p99 {f['search3_p99_ms']:.1f} ms)")
        report.ratio(f"search1_broad_p50_ms{tag}", f["search1_broad_p50_ms"], 300,
                     higher_is_better=False, applies=applies,
                     note=f"(p99 {f['search1_broad_p99_ms']:.1f} ms)")
        report.ratio(f"restart_to_first_search_s{tag}", f["restart_search_s"], 2,
                     higher_is_better=False, applies=applies,
                     note=f"(to /health {f['restart_health_s']:.2f} s)")
        report.ratio(f"rss_mb_after_searches{tag}", f["rss_after_searches_mb"], 400,
                     higher_is_better=False, applies=applies,
                     note=f"({size.args.searches} searches, read {SETTLE_SECONDS:.0f} s after "
                          f"the last; right after {f['rss_right_after_searches_mb']:.0f} MB; "
                          f"at start {f['rss_start_mb']:.0f} MB)")
        report.ratio(f"bytes_per_statement{tag}", f["bytes_per_triple"], 700,
                     higher_is_better=False, applies=applies)
        report.ratio(f"health_p99_during_index_build_vs_idle{tag}", f["build_health_vs_idle"],
                     1.25, higher_is_better=False, applies=applies,
                     note=f"({f['build_health_p99_ms']:.1f} vs {f['idle_health_p99_ms']:.2f} ms;"
                          f" build {f['build_s']:.1f} s)")
        report.ratio(f"index_build_progress_lines{tag}", f["build_progress_lines"], 1,
                     applies=applies)
        for operation in ("refresh", "upload"):
            report.ratio(f"{operation}_share_of_concurrency_limit{tag}",
                         f[f"{operation}_share"], 0.85, applies=applies,
                         note=f"({f[f'{operation}_pods_per_s']:.1f} pods/s; longest stall "
                              f"{f[f'{operation}_stall']:.1%} of the job)")
    by_triples = {s.store.triples: s for s in sizes}
    if TARGET_SIZE in by_triples and REFERENCE_SIZE in by_triples:
        big, ref = by_triples[TARGET_SIZE].figures, by_triples[REFERENCE_SIZE].figures
        report.ratio("search3_p50_10M_vs_1M", big["search3_p50_ms"] / ref["search3_p50_ms"],
                     2.5, higher_is_better=False,
                     note=f"({big['search3_p50_ms']:.1f} vs {ref['search3_p50_ms']:.1f} ms)")
    for small, large in pairwise(sizes):
        growth = large.store.triples / small.store.triples
        for key in ("search3_p50_ms", "search1_broad_p50_ms", "edit_p50_ms", "create_p50_ms",
                    "build_s"):
            report.ratio(f"growth[{key}, {small.label} to {large.label}]",
                         large.figures[key] / small.figures[key],
                         note=f"(data x{growth:g})")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    add_common_args(parser)
    parser.add_argument("--sizes", default="10k,100k,1M,10M",
                        help="triples, comma-separated (k and M suffixes)")
    parser.add_argument("--triples-per-pod", type=int, default=100)
    parser.add_argument("--rounds", type=int, default=20, help="timings per search kind")
    parser.add_argument("--budget", type=float, default=60.0,
                        help="seconds per search kind after which rounds stop (3 at least)")
    parser.add_argument("--searches", type=int, default=200,
                        help="searches run before the second RSS reading")
    parser.add_argument("--restarts", type=int, default=3)
    parser.add_argument("--limit", type=int, default=50)
    parser.add_argument("--sync-pods", type=int, default=5000,
                        help="pods refreshed and uploaded (at most the pods of the size)")
    parser.add_argument("--c1-pods", type=int, default=100,
                        help="pods of the concurrency-1 measurement (bench/sync.py fixture)")
    parser.add_argument("--latency-ms", type=float, default=20.0)
    parser.add_argument("--interval-ms", type=float, default=10.0, help="/health probe period")
    parser.add_argument("--idle-window", type=float, default=10.0,
                        help="seconds of the idle /health control after the first start")
    parser.add_argument("--build-timeout", type=float, default=3600.0)
    parser.add_argument("--build-only", action="store_true",
                        help="build (or check) the cached data of the sizes, measure nothing")
    parser.add_argument("--keep-work", action="store_true",
                        help="keep each size's working copy under --workdir/scale")
    parser.add_argument("--plot", type=Path, default=REPO / "docs" / "scale.png")
    parser.add_argument("--no-plot", action="store_true")
    args = parser.parse_args(argv)
    if args.quick:
        args.sizes, args.rounds, args.searches, args.restarts = "2k", 3, 20, 1
        args.sync_pods, args.c1_pods, args.idle_window = 12, 12, 1.0
        if args.plot == parser.get_default("plot"):
            args.plot = args.workdir / "scale-quick.png"
    args.interval = args.interval_ms / 1000
    triples = sorted({parse_size(s) for s in args.sizes.split(",") if s.strip()})
    concurrency = default_concurrency()
    report = Report("cost as the work grows (bench/scale.py)")
    report.header(sizes=", ".join(size_label(t) for t in triples),
                  triples_per_pod=args.triples_per_pod, rounds=args.rounds,
                  budget_seconds=args.budget, searches_before_rss=args.searches,
                  restarts=args.restarts, limit=args.limit,
                  sync=f"min({args.sync_pods}, pods) pods, latency {args.latency_ms:g} ms, "
                       f"default concurrency {concurrency}; concurrency 1 on {args.c1_pods} "
                       "pods (bench/sync.py's fixture)",
                  daemon_settings="log level warning (info at the first start), search "
                                  "time limits lifted")
    sizes: list[Size] = []
    for count in triples:
        pods = max(1, count // args.triples_per_pod)
        started = time.monotonic()
        base = own_pods_base(args.workdir, sync_fixture(args.workdir, min(args.sync_pods, pods),
                                                        log=report.line), log=report.line)
        store = scale_store(args.workdir, base, pods, args.triples_per_pod, log=report.line)
        size = Size(args, store)
        size.figures.update({"quads": float(store.quads), "data_build_s": store.build_seconds,
                             "pods_build_s": sum(float(json.loads((root / READY).read_text())
                                                       ["build_seconds"])
                                                 for root in (base.sync.root, base.root))})
        report.line(f"# [{size.label}] data: {store.root} ({store.triples} generated triples "
                    f"in {pods} pods + {base.pods} own pods; {store.quads} statements; bulk "
                    f"build {store.build_seconds:.1f} s; ready in "
                    f"{time.monotonic() - started:.1f} s this run)")
        sizes.append(size)
    c1_fixture = sync_fixture(args.workdir, args.c1_pods, log=report.line)
    if args.build_only:
        report.line("# --build-only: the data is ready; nothing measured")
        return 0
    c1: dict[str, float] = {}
    c1_work = args.workdir / "scale" / "c1-work"
    try:
        for operation in ("refresh", "upload"):
            seconds, _, _ = measure(c1_fixture, c1_work, operation, 1, args.latency_ms)
            c1[operation] = args.c1_pods / seconds
            report.line(f"# concurrency 1: {operation} of {args.c1_pods} pods in "
                        f"{seconds:.2f} s, {c1[operation]:.2f} pods/s")
    finally:
        shutil.rmtree(c1_work, ignore_errors=True)
    for size in sizes:
        measure_size(size, concurrency, c1, report)
    table(sizes, report)
    (args.workdir / "scale").mkdir(parents=True, exist_ok=True)
    (args.workdir / "scale" / "last-run.json").write_text(json.dumps(
        {s.label: {"triples": s.store.triples, **s.figures} for s in sizes}, indent=1))
    if not args.no_plot:
        plot(sizes, args.plot, report)
    verdicts(sizes, report)
    report.finish()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
