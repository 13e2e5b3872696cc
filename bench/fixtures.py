"""Generated data for the benchmarks, built once and cached under the work directory.

- `search_store`: a daemon data directory whose store holds N pods of schema.org metadata
  (`pods * triples_per_pod` triples), written with the project's own graph module
  (`writes.replace_pods`, the step a refresh uses to store a downloaded pod) in a key
  store the daemon opens with the benchmark password. Words follow a Zipf law over a
  generated vocabulary, so a search term's frequency is known from its rank.
- `sync_fixture`: built through the daemon's HTTP API: a publisher with `pods` pods
  (never uploaded: `publisher/` is the pristine state of an upload_all), the network those
  pods were uploaded to (`network/`), and a follower whose one own pod references the
  first-generation pods, which reference the rest (`follower/`: the pristine state of a
  refresh_ref with depth 2 that fetches every pod).
- `own_pods_base` and `scale_store` (bench/scale.py): a sync fixture's follower given pods
  of its own, never uploaded (through HTTP), then N pods of the same generated data as the
  search store added with pyoxigraph's bulk loader, as a refresh would have stored them
  (depth 1); fast enough for 10,000,000 triples. No full-text index is written: the
  daemon builds it at its first start.

A fixture directory is complete when its `ready.json` exists; delete the directory to
rebuild it.
"""

from __future__ import annotations

import hashlib
import json
import random
import shutil
import time
from bisect import bisect
from collections.abc import Callable
from dataclasses import dataclass
from itertools import accumulate
from pathlib import Path
from typing import Any

import httpx
from common import MNEMONIC, MNEMONIC_B, PASSWORD, Daemon, check_completed, daemon_env

READY = "ready.json"
_SYLLABLES = ("ka", "lo", "mi", "ne", "ru", "ta", "vo", "shi", "dra", "pel", "qua", "zen",
              "bor", "fin", "gal", "hus", "jet", "mor", "nix", "tro")
_TYPES = ("MediaObject", "MusicRecording", "Book", "Movie", "Dataset", "ImageObject")
SCHEMA = "http://schema.org/"


def address(kind: str, number: int) -> str:
    return hashlib.sha256(f"colony-bench/{kind}/{number}".encode()).hexdigest()


class Words:
    """A vocabulary of `size` pseudo-words drawn with Zipf weights (rank r: 1/r)."""

    def __init__(self, size: int = 4096, seed: int = 7) -> None:
        rng = random.Random(seed)
        seen: set[str] = set()
        words: list[str] = []
        while len(words) < size:
            word = "".join(rng.choice(_SYLLABLES) for _ in range(rng.randint(2, 4)))
            if word not in seen:
                seen.add(word)
                words.append(word)
        self.words = words
        self._cumulative = list(accumulate(1.0 / rank for rank in range(1, size + 1)))
        self._rng = random.Random(seed + 1)

    def draw(self, count: int) -> str:
        total = self._cumulative[-1]
        picks = (bisect(self._cumulative, self._rng.random() * total) for _ in range(count))
        return " ".join(self.words[min(i, len(self.words) - 1)] for i in picks)

    def number(self, low: int, high: int) -> int:
        return self._rng.randint(low, high)


# The three terms of the search benchmark: a common, a middling and a rare word.
SEARCH_TERM_RANKS = (300, 1200, 3000)


def search_terms(words: Words) -> list[str]:
    return [words.words[rank - 1] for rank in SEARCH_TERM_RANKS]


Statement = tuple[str, str, str, bool]  # subject IRI, predicate IRI, object, object is an IRI


def _pod_statements(words: Words, number: int, triples: int) -> list[Statement]:
    """Pod `number`'s `triples` statements: a pod header, then schema.org subjects. The
    draws from `words` follow one another across pods, so that N pods are always the
    first N of a longer run."""
    from colony_actor.colony.vocab import CREATION, MODIFIED, NAME, POD, RDF_TYPE

    pod = "ant://" + address("pod", number)
    stamp = "2025-01-01T00:00:00.000000Z"
    out = [(pod, RDF_TYPE.value, POD.value, True),
           (pod, NAME.value, f"pod {number} " + words.draw(2), False),
           (pod, CREATION.value, stamp, False), (pod, MODIFIED.value, stamp, False)]
    subject_number = 0
    while len(out) < triples:
        subject = "ant://" + address(f"subject/{number}", subject_number)
        subject_number += 1
        kind = _TYPES[words.number(0, len(_TYPES) - 1)]
        for predicate, value in (
                ("type", None), ("name", words.draw(words.number(2, 4))),
                ("description", words.draw(words.number(6, 14))),
                ("author", words.draw(2)), ("keywords", words.draw(3)),
                ("contentSize", str(words.number(1000, 10**9)))):
            if len(out) >= triples:
                break
            if value is None:
                out.append((subject, RDF_TYPE.value, SCHEMA + kind, True))
            else:
                out.append((subject, SCHEMA + predicate, value, False))
    return out


def _pod_triples(words: Words, number: int, triples: int) -> list[Any]:
    from pyoxigraph import Literal, NamedNode, Triple

    return [Triple(NamedNode(s), NamedNode(p), NamedNode(o) if iri else Literal(o))
            for s, p, o, iri in _pod_statements(words, number, triples)]


@dataclass(frozen=True)
class SearchStore:
    root: Path
    data_dir: Path
    pods: int
    triples: int
    terms: list[str]

    @property
    def store_dir(self) -> Path:
        return self.data_dir / "store"


def search_store(workdir: Path, pods: int, triples_per_pod: int,
                 log: Callable[[str], None] = print) -> SearchStore:
    root = workdir / f"search-{pods}x{triples_per_pod}"
    words = Words()
    terms = search_terms(words)
    data_dir = root / "data"
    if (root / READY).exists():
        facts = json.loads((root / READY).read_text())
        return SearchStore(root, data_dir, pods, int(facts["triples"]), terms)
    if root.exists():
        shutil.rmtree(root)
    data_dir.mkdir(parents=True)
    log(f"# building the search store: {pods} pods x {triples_per_pod} triples in {root} ...")
    started = time.monotonic()
    from colony_actor.colony.keys.store import KeyStore
    from colony_actor.colony.store import writes
    from colony_actor.colony.store.graph import GraphStore
    from colony_actor.colony.store.poddata import PodData
    from colony_actor.colony.store.writes import Replacement
    from colony_actor.runtime.timestamps import now_stored as now

    keys = KeyStore.create(data_dir, PASSWORD, MNEMONIC)
    graph = GraphStore(data_dir / "store", keys.address(0))
    graph.apply(writes.init_config(graph.config, keys.address(1), now()))
    stamp = now()
    total = 0
    for number in range(pods):
        triples = _pod_triples(words, number, triples_per_pod)
        total += len(triples)
        # A fresh store: no pod waits for upload, none has a depth yet.
        replacement = Replacement(address("pod", number), PodData.of(triples), 1, None)
        graph.apply(writes.replace_pods(graph.config, [replacement], pending=set(),
                                        known_depths={}, timestamp=stamp)[0])
        if number and number % 1000 == 0:
            log(f"#   {number} pods, {time.monotonic() - started:.0f} s")
    # Depth 1, as pods reached through one reference (none has a depth yet), in batches of
    # 500 pods, one transaction each.
    batch: dict[str, int] = {}
    for number in range(pods):
        batch[address("pod", number)] = 1
        if len(batch) == 500:
            graph.apply(writes.set_depths(graph.config, batch, known={}, timestamp=stamp))
            batch = {}
    if batch:
        graph.apply(writes.set_depths(graph.config, batch, known={}, timestamp=stamp))
    graph.close()
    seconds = time.monotonic() - started
    (root / READY).write_text(json.dumps({"pods": pods, "triples": total,
                                          "build_seconds": round(seconds, 1)}))
    log(f"# built {total} triples in {seconds:.0f} s")
    return SearchStore(root, data_dir, pods, total, terms)


# -- the sync fixture (through HTTP) ------------------------------------------------------


@dataclass(frozen=True)
class SyncFixture:
    root: Path
    pods: int
    first_generation: int

    @property
    def publisher(self) -> Path:
        return self.root / "publisher"

    @property
    def network(self) -> Path:
        return self.root / "network"

    @property
    def follower(self) -> Path:
        return self.root / "follower"


def generations(pods: int) -> int:
    """How many first-generation pods: about sqrt(pods), so each references about as many."""
    root: float = pods ** 0.5
    return max(1, round(root))


def subject_jsonld(words: Words, kind: str) -> dict[str, Any]:
    return {"@context": {"schema": SCHEMA}, "@type": f"schema:{kind}",
            "schema:name": words.draw(3), "schema:description": words.draw(10),
            "schema:author": words.draw(2), "schema:keywords": words.draw(3),
            "schema:contentSize": str(words.number(1000, 10**9))}


def _create_pods(client: httpx.Client, words: Words, pods: int, subjects_per_pod: int,
                 name: str, subject_kind: str, log: Callable[[str], None]) -> list[str]:
    """Create `pods` pods of `subjects_per_pod` subjects each through the API; their
    addresses. Logs the time a pod takes every 500 pods (it grows with the pods held)."""
    addresses = []
    started = time.monotonic()
    for number in range(pods):
        if number and number % 500 == 0:
            log(f"#   {number} pods created; the last 500 took "
                f"{(time.monotonic() - started) / 500 * 1000:.0f} ms a pod")
            started = time.monotonic()
        pod = _ok(client.post("/api/v1/pods", json={"name": f"{name} {number}"}))
        addresses.append(pod["address"])
        for s in range(subjects_per_pod):
            subject = address(f"{subject_kind}/{number}", s)
            _ok(client.put(f"/api/v1/pods/{pod['address']}/{subject}",
                           json=subject_jsonld(words, _TYPES[s % len(_TYPES)])))
    return addresses


def _ok(response: httpx.Response) -> Any:
    if response.status_code >= 300:
        raise RuntimeError(f"{response.request.method} {response.request.url}: "
                           f"{response.status_code} {response.text[:300]}")
    return response.json() if response.content else None


def sync_fixture(workdir: Path, pods: int, subjects_per_pod: int = 4,
                 log: Callable[[str], None] = print) -> SyncFixture:
    root = workdir / f"sync-{pods}x{subjects_per_pod}"
    first = generations(pods)
    fixture = SyncFixture(root, pods, first)
    if (root / READY).exists():
        return fixture
    if root.exists():
        shutil.rmtree(root)
    root.mkdir(parents=True)
    log(f"# building the sync fixture: {pods} pods in {root} ...")
    started = time.monotonic()
    words = Words(seed=11)
    scratch = root / "scratch"
    env = daemon_env(log_level="warning")
    # 1. The publisher's pods, edited but never uploaded.
    with Daemon(fixture.publisher, scratch / "unused-network", env=env,
                log_path=scratch / "publisher.log").start() as daemon, daemon.client() as client:
        addresses = _create_pods(client, words, pods, subjects_per_pod, "bench pod",
                                 "sync-subject", log)
        rest = addresses[first:]
        for index, parent in enumerate(addresses[:first]):
            for child in rest[index::first]:
                _ok(client.post(f"/api/v1/pods/{parent}/pod_ref", json={"pod_ref": child}))
    # 2. The network, as one upload of those pods leaves it.
    published = scratch / "publisher-uploaded"
    shutil.copytree(fixture.publisher, published)
    with Daemon(published, fixture.network, env=env,
                log_path=scratch / "upload.log").start() as daemon, daemon.client() as client:
        from common import run_job

        job, _ = run_job(client, "/api/v1/jobs/cache/upload")
        check_completed(job)
    # 3. The follower: another user whose one pod references the first generation.
    with Daemon(fixture.follower, fixture.network, env=env, mnemonic=MNEMONIC_B,
                log_path=scratch / "follower.log").start() as daemon, daemon.client() as client:
        index = _ok(client.post("/api/v1/pods", json={"name": "follower index"}))
        for parent in addresses[:first]:
            _ok(client.post(f"/api/v1/pods/{index['address']}/pod_ref",
                            json={"pod_ref": parent}))
    for path in (fixture.publisher, fixture.follower):
        for journal in path.glob("jobs.sqlite3*"):
            journal.unlink()
    shutil.rmtree(scratch)
    seconds = time.monotonic() - started
    (root / READY).write_text(json.dumps({"pods": pods, "first_generation": first,
                                          "build_seconds": round(seconds, 1)}))
    log(f"# built the sync fixture in {seconds:.0f} s")
    return fixture


# -- the scaling benchmark's data (bench/scale.py) ------------------------------------------


@dataclass(frozen=True)
class OwnPodsBase:
    """A follower (MNEMONIC_B) whose one pod references the first generation of `sync`'s
    network, with `pods` pods of its own never uploaded: the pristine state of both a
    refresh_ref with depth 2 that fetches `sync.pods` pods and an upload_all of `pods`."""
    root: Path
    sync: SyncFixture
    pods: int

    @property
    def data_dir(self) -> Path:
        return self.root / "data"


def own_pods_base(workdir: Path, sync: SyncFixture, subjects_per_pod: int = 4,
                  log: Callable[[str], None] = print) -> OwnPodsBase:
    root = workdir / "scale" / f"base-{sync.pods}x{subjects_per_pod}"
    base = OwnPodsBase(root, sync, sync.pods)
    if (root / READY).exists():
        return base
    if root.exists():
        shutil.rmtree(root)
    root.mkdir(parents=True)
    log(f"# building the follower with {sync.pods} pods of its own in {root} ...")
    started = time.monotonic()
    shutil.copytree(sync.follower, base.data_dir)
    with Daemon(base.data_dir, root / "unused-network", env=daemon_env(log_level="warning"),
                mnemonic=MNEMONIC_B, log_path=root / "build.log").start() as daemon, \
            daemon.client() as client:
        _create_pods(client, Words(seed=13), sync.pods, subjects_per_pod, "own pod",
                     "own-subject", log)
    _drop_derived(base.data_dir)
    shutil.rmtree(root / "unused-network", ignore_errors=True)
    seconds = time.monotonic() - started
    (root / READY).write_text(json.dumps({"own_pods": sync.pods,
                                          "build_seconds": round(seconds, 1)}))
    log(f"# built the follower's own pods in {seconds:.0f} s")
    return base


def _drop_derived(data_dir: Path) -> None:
    """Remove what the daemon derives or keeps per run: the job journal, and the full-text
    index (rebuilt from the store at the next start)."""
    for pattern in ("jobs.sqlite3*", "fulltext.sqlite3*"):
        for path in data_dir.glob(pattern):
            path.unlink()


@dataclass(frozen=True)
class ScaleStore:
    root: Path
    base: OwnPodsBase
    pods: int  # generated pods, at depth 1
    triples: int  # generated triples
    quads: int  # every statement in the store (the base's and the bookkeeping included)
    build_seconds: float

    @property
    def data_dir(self) -> Path:
        return self.root / "data"

    @property
    def store_dir(self) -> Path:
        return self.data_dir / "store"


def _nquad_term(value: str, iri: bool) -> str:
    if iri:
        return f"<{value}>"
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n") + '"'


def write_nquads(out: Any, pods: int, triples_per_pod: int, config: str) -> None:
    """The first `pods` generated pods as N-Quads on the binary stream `out`, with what a
    refresh that downloaded them at depth 1 writes beside them (pointer counter, index
    generation token, depth in the configuration pod `config`). Runs in a process of its
    own (`scale_store`), so that the bulk loader parses while this one generates."""
    import sys

    from colony_actor.colony.vocab import (
        DEPTH,
        INDEX_GENERATION,
        LOCAL_GRAPH,
        POINTER_COUNTER,
        XSD_INTEGER,
    )

    words = Words()
    local = f"<{LOCAL_GRAPH.value}>"
    counter = f'"1"^^<{XSD_INTEGER.value}>'
    started = time.monotonic()
    lines: list[str] = []
    for number in range(pods):
        pod = "ant://" + address("pod", number)
        graph = f"<{pod}>"
        lines.extend(f"<{s}> <{p}> {_nquad_term(o, iri)} {graph} .\n"
                     for s, p, o, iri in _pod_statements(words, number, triples_per_pod))
        lines.append(f"<{pod}> <{POINTER_COUNTER.value}> {counter} {local} .\n")
        lines.append(f'<{pod}> <{INDEX_GENERATION.value}> "{address("gen", number)[:32]}" '
                     f"{local} .\n")
        lines.append(f'<{pod}> <{DEPTH.value}> "1" <{config}> .\n')
        if len(lines) >= 100_000 or number == pods - 1:
            out.write("".join(lines).encode())
            lines = []
        if number and number % 10_000 == 0:
            print(f"#   {number} pods generated, {time.monotonic() - started:.0f} s",
                  file=sys.stderr, flush=True)
    out.flush()


def _config_graph(store: Any) -> str:
    from colony_actor.colony.vocab import CONFIG_POD_NAME, NAME

    rows = list(store.query(f"SELECT ?g WHERE {{ GRAPH ?g {{ ?g <{NAME.value}> "
                            f"{_nquad_term(CONFIG_POD_NAME, False)} }} }}"))
    if len(rows) != 1:
        raise RuntimeError(f"expected one configuration pod, found {len(rows)}")
    value: str = rows[0]["g"].value
    return value


def scale_store(workdir: Path, base: OwnPodsBase, pods: int, triples_per_pod: int = 100,
                log: Callable[[str], None] = print) -> ScaleStore:
    """A copy of `base` with `pods` generated pods added by pyoxigraph's bulk loader."""
    import subprocess
    import sys

    import pyoxigraph

    root = workdir / "scale" / f"store-{pods}x{triples_per_pod}-own{base.pods}"
    if (root / READY).exists():
        facts = json.loads((root / READY).read_text())
        return ScaleStore(root, base, pods, int(facts["triples"]), int(facts["quads"]),
                          float(facts["build_seconds"]))
    if root.exists():
        shutil.rmtree(root)
    root.mkdir(parents=True)
    triples = pods * triples_per_pod
    log(f"# building the scale store: {pods} pods x {triples_per_pod} triples on "
        f"{base.root.name} in {root} ...")
    started = time.monotonic()
    data_dir = root / "data"
    shutil.copytree(base.data_dir, data_dir)
    _drop_derived(data_dir)
    store = pyoxigraph.Store(str(data_dir / "store"))
    config = _config_graph(store)
    worker = subprocess.Popen(
        [sys.executable, "-c", "import sys, fixtures; fixtures.write_nquads("
         f"sys.stdout.buffer, {pods}, {triples_per_pod}, {config!r})"],
        cwd=Path(__file__).resolve().parent, stdout=subprocess.PIPE)
    assert worker.stdout is not None
    try:
        store.bulk_load(input=worker.stdout, format=pyoxigraph.RdfFormat.N_QUADS, lenient=True)
    finally:
        worker.stdout.close()
        if worker.wait() != 0:
            raise RuntimeError(f"the N-Quads generator exited {worker.returncode}")
    loaded = time.monotonic() - started
    quads = len(store)
    store.flush()
    del store
    seconds = time.monotonic() - started
    (root / READY).write_text(json.dumps({
        "pods": pods, "triples": triples, "quads": quads, "build_seconds": round(seconds, 1),
        "load_seconds": round(loaded, 1), "own_pods": base.pods}))
    log(f"# built {triples} triples ({quads} statements in the store) in {seconds:.1f} s "
        f"(generated and bulk-loaded in {loaded:.1f} s)")
    return ScaleStore(root, base, pods, triples, quads, seconds)
