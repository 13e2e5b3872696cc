"""The full-text index: same results as the SPARQL scan, kept in step with the store,
rebuilt or reconciled at open, and never trusted when it cannot be."""

from __future__ import annotations

import contextlib
import os
import sqlite3
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import trio
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pyoxigraph import BlankNode, Literal, NamedNode, Store, Triple

from colony_actor.colony.errors import IndexNotReady, SearchTimeout
from colony_actor.colony.facade import FULLTEXT_FILE, Colony
from colony_actor.colony.fulltext import walk
from colony_actor.colony.fulltext.index import FullTextIndex
from colony_actor.colony.fulltext.ranking import RANKED, select_groups
from colony_actor.colony.keys.store import KeyStore
from colony_actor.colony.search.forms import parse_terms
from colony_actor.colony.search.text import indexed_search, scan_text_search, text_search
from colony_actor.colony.store import writes
from colony_actor.colony.store.changes import WHOLE, subjects
from colony_actor.colony.store.graph import GraphStore
from colony_actor.colony.store.poddata import PodData
from colony_actor.colony.store.writes import Write
from colony_actor.colony.vocab import (
    DEPTH,
    INDEX_GENERATION,
    INDEX_SEAL,
    LOCAL_GRAPH,
    NAME,
    pod_node,
)
from colony_actor.service.health import search_index

from ..conftest import (
    PASSWORD,
    SETTINGS,
    MemoryNetwork,
    OpenColony,
    init_config,
    no_progress,
    open_graph,
    replace_pod,
)

CTX = {"schema": "http://schema.org/"}
S = [f"{i:064x}" for i in range(1, 40)]
INF = float("inf")
XSD = "http://www.w3.org/2001/XMLSchema#"

DOCUMENTS: list[dict[str, Any]] = [
    {"schema:name": "Abbey Road", "schema:description": "The Beatles, 1969, Straße café"},
    {"schema:name": "Let It Be", "schema:description": "beatles again, İstanbul ΟΔΟΣ"},
    {"schema:name": "東京 日本語 テキスト", "schema:keywords": ["😀 emoji 😁😂", "ÉLAN élan"]},
    {"schema:name": 'Quote " brace } angle > hash # back \\ slash',
     "schema:contentSize": 42, "schema:isFamilyFriendly": True},
    {"schema:name": {"@value": "Road to Rome", "@language": "en"},
     "schema:author": {"schema:name": "Nested Beatles Author",
                       "schema:address": {"schema:streetAddress": "1 Abbey Road"}}},
    {"schema:name": "STRASSE straße STRAẞE", "schema:keywords": ["a", "ab", "b a", "ROAD"]},
]
QUERIES = ['beatles', 'BEATLES "abbey road"', "road", "a", "ab", "é", "ß", "ẞ", "ss", "日本",
           "😁", "😀 emoji", "i̇stanbul", "İSTANBUL", "οδος", "ΟΔΟΣ", '"', "}", "\\", "#",
           "1969", "42", "true", "en", "beatles road a", '"b a"', "nested", "rome abbey x",
           "ant://", "schema", "zzz nothing", "User Configuration", "2026", "Music"]


async def fill(colony: Colony, pods: int = 3, copies: int = 6) -> list[str]:
    addresses = []
    for p in range(pods):
        pod = await colony.create_pod(f"Music {p}")
        addresses.append(pod.address)
        for i in range(copies):
            doc = dict(DOCUMENTS[(i + p) % len(DOCUMENTS)])
            doc["@context"] = CTX
            await colony.put_subject_data(pod.address, S[p * copies + i], doc)
    return addresses


def both(graph: GraphStore, index: FullTextIndex | None, terms: list[str], limit: int,
         answers: bool = True) -> tuple[Any, Any]:
    """(what a search through the index gives, what the scan gives); the index must
    answer itself unless `answers` is False (then it may leave the search to the scan)."""
    assert index is not None
    found = indexed_search(graph.store, index, terms, limit, graph.config_node, INF)
    if answers:
        assert found is not None, "the index did not answer"
    elif found is None:
        found = text_search(graph.store, terms, limit, graph.config_node, INF, index)
    return found, scan_text_search(graph.store, terms, limit, graph.config_node, INF)


async def assert_same(colony: Colony, queries: list[str] = QUERIES,
                      limits: tuple[int, ...] = (1, 2, 3, 7, 50)) -> None:
    graph, index = colony.store, colony.fulltext

    def work() -> None:
        for text in queries:
            terms = parse_terms(text) or [text]
            for limit in limits:
                found, scanned = both(graph, index, terms, limit)
                assert found == scanned, (text, limit)

    await trio.to_thread.run_sync(work)


async def test_index_matches_scan_on_a_corpus(open_colony: OpenColony,
                                              network: MemoryNetwork) -> None:
    colony = await open_colony(network)
    await fill(colony)
    await assert_same(colony)
    # Through the public search too: the index answers, with the scan's rows.
    result = await colony.search({"type": "text", "text": 'BEATLES "abbey road"', "limit": 4},
                                 no_progress)
    scanned = scan_text_search(colony.store.store, ["BEATLES", "abbey road"], 4,
                               colony.store.config_node, INF)
    assert result["sparql_results"]["results"]["bindings"] == scanned.bindings
    assert result["result_count"] == 4


async def test_many_matches_low_limit(open_colony: OpenColony, network: MemoryNetwork) -> None:
    colony = await open_colony(network)
    await fill(colony, pods=4, copies=9)
    await assert_same(colony, ["a", "e", "road", "beatles road a e", "o"],
                      limits=(1, 5, 13, 40, 1000))


async def test_index_follows_every_change(open_colony: OpenColony,
                                          network: MemoryNetwork) -> None:
    alice = await open_colony(network)
    pods = await fill(alice)
    await alice.put_subject_data(pods[0], S[0], {"@context": CTX, "schema:name": "Replaced",
                                                 "schema:author": {"schema:name": "Nobody"}})
    await alice.rename_pod(pods[1], "Renamed Beatles")
    await alice.add_pod_ref(pods[0], pods[1])
    await alice.remove_pod_ref(pods[0], pods[1])
    await alice.remove_pod(pods[2])
    await assert_same(alice, ["replaced", "nobody", "beatles", "renamed", "road", "a"])
    # Subject 0 held "Abbey Road" (document 0): replaced, with a new nested author.
    found, _ = both(alice.store, alice.fulltext, ["abbey"], 50)
    assert found.bindings and all(b["subject"]["value"] != "ant://" + S[0]
                                  for b in found.bindings)
    found, _ = both(alice.store, alice.fulltext, ["nobody"], 50)
    assert [b["subject"]["type"] for b in found.bindings] == ["bnode"]
    await alice.upload_all(no_progress)

    # Another device: its config pod is merged from the network and the pods refreshed
    # (whole graphs replaced), then bob follows alice's pods by reference (depth 1).
    other = await open_colony(network, device="2")
    await other.refresh_cache(no_progress)
    await assert_same(other, ["replaced", "beatles", "renamed", "music", "a"])
    bob = await open_colony(network, who="bob")
    mine = await bob.create_pod("Bob's")
    await bob.put_subject_data(mine.address, S[30], {"@context": CTX,
                                                     "schema:name": "Bob's beatles"})
    await bob.add_pod_ref(mine.address, pods[0])
    await bob.add_pod_ref(mine.address, pods[1])
    await bob.refresh_ref(1, no_progress)
    await assert_same(bob, ["beatles", "road", "replaced", "a", "bob"])
    # Own pods (depth 0) rank before referenced ones (depth 1).
    found, _ = both(bob.store, bob.fulltext, ["beatles"], 50)
    depths = [b["depth"]["value"] for b in found.bindings]
    assert depths == sorted(depths) and depths[0] == "0" and depths[-1] == "1"
    await bob.remove_pod(pods[1])
    await assert_same(bob, ["beatles", "renamed"])


def remove_index(path: Path) -> None:
    for suffix in ("", "-wal", "-shm"):
        Path(str(path) + suffix).unlink(missing_ok=True)


async def test_missing_or_broken_index_is_rebuilt(open_colony: OpenColony,
                                                  network: MemoryNetwork,
                                                  tmp_path: Path) -> None:
    colony = await open_colony(network)
    await fill(colony)
    before = await colony.search("beatles road", no_progress)
    await colony.aclose()
    path = tmp_path / "alice-1" / FULLTEXT_FILE
    await trio.to_thread.run_sync(remove_index, path)
    colony = await open_colony(network)
    assert await trio.Path(path).exists()
    again = await colony.search("beatles road", no_progress)
    assert again["sparql_results"] == before["sparql_results"]
    await assert_same(colony, limits=(3, 50))
    await colony.aclose()

    await trio.to_thread.run_sync(remove_index, path)
    await trio.Path(path).write_bytes(b"this is not a database" * 100)
    colony = await open_colony(network)
    assert colony.fulltext is not None and colony.fulltext.usable
    await assert_same(colony, ["beatles", "a"], limits=(5,))


async def test_stale_graph_is_reindexed_at_open(open_colony: OpenColony,
                                                network: MemoryNetwork,
                                                tmp_path: Path) -> None:
    colony = await open_colony(network)
    pods = await fill(colony)
    await colony.aclose()
    # A crash between the store's transaction and the index's: the store changed (and
    # with it the generation), the index did not, and no clean close sealed them.
    store = Store(str(tmp_path / "alice-1" / "store"))
    p, q = pod_node(pods[0]), pod_node(pods[2])
    store.update(f"DELETE WHERE {{ GRAPH {LOCAL_GRAPH} {{ {LOCAL_GRAPH} {INDEX_SEAL} ?v }} }} ;"
                 f"INSERT DATA {{ GRAPH {p} {{ <ant://crash> {NAME} \"Zanzibar crash\" }} }} ;"
                 f"DELETE WHERE {{ GRAPH {LOCAL_GRAPH} {{ {p} {INDEX_GENERATION} ?t }} }} ;"
                 f"INSERT DATA {{ GRAPH {LOCAL_GRAPH} {{ {p} {INDEX_GENERATION} \"new\" }} }} ;"
                 f"DROP GRAPH {q} ;"
                 f"DELETE WHERE {{ GRAPH {LOCAL_GRAPH} {{ {q} {INDEX_GENERATION} ?t }} }}")
    store.flush()
    del store
    colony = await open_colony(network)
    assert colony.fulltext is not None
    progress = colony.fulltext.catch_up_progress()
    assert (progress.graphs_done, progress.graphs_total) == (2, 2)  # only those two
    found = await colony.search("zanzibar", no_progress)
    assert [b["subject"]["value"] for b in found["sparql_results"]["results"]["bindings"]] \
        == ["ant://crash"]
    await assert_same(colony, ["zanzibar", "beatles", "a"])
    index = colony.fulltext
    assert index is not None
    assert index.differences(colony.store.store) == []


async def test_a_clean_restart_reads_no_graph_to_trust_the_index(
        open_colony: OpenColony, network: MemoryNetwork, tmp_path: Path) -> None:
    """A clean close seals the index and the store with one token: the next open trusts
    the index without comparing every graph's generation (which grows with the store);
    an open that finds no matching seal (a crash) compares them, in the background."""
    colony = await open_colony(network)
    await fill(colony)
    await colony.aclose()
    colony = await open_colony(network)
    assert colony.fulltext is not None and colony.fulltext.behind == ""
    assert colony.fulltext.catch_up_progress().graphs_total == 0  # no plan was read
    await assert_same(colony, ["beatles"], limits=(5,))
    await colony.aclose()
    # A store written by something other than the daemon (here: unsealed) is compared.
    store = Store(str(tmp_path / "alice-1" / "store"))
    store.update(f"DELETE WHERE {{ GRAPH {LOCAL_GRAPH} {{ {LOCAL_GRAPH} {INDEX_SEAL} ?v }} }}")
    store.flush()
    del store
    data_dir = tmp_path / "alice-1"
    keys = await trio.to_thread.run_sync(KeyStore.open, data_dir, PASSWORD)
    reopened = await Colony.open(data_dir, network, keys, **SETTINGS)
    try:
        assert reopened.fulltext is not None and reopened.fulltext.behind == "reconcile"
        await reopened.catch_up_index()
        assert reopened.fulltext.behind == ""
        assert reopened.fulltext.catch_up_progress().graphs_done == 0  # all in step
    finally:
        await reopened.aclose()


async def test_index_that_cannot_follow_is_set_aside(open_colony: OpenColony,
                                                     network: MemoryNetwork,
                                                     tmp_path: Path) -> None:
    colony = await open_colony(network)
    pods = await fill(colony, pods=1)
    index = colony.fulltext
    assert index is not None

    def break_index() -> None:
        # The file loses a table behind the index's back: it cannot follow the next write.
        with contextlib.closing(sqlite3.connect(tmp_path / "alice-1" / FULLTEXT_FILE)) as db:
            db.execute("DROP TABLE literals")
            db.commit()

    await trio.to_thread.run_sync(break_index)
    await colony.put_subject_data(pods[0], S[0], {"@context": CTX, "schema:name": "Kept edit"})
    assert not index.usable  # the edit stands; the index no longer answers
    assert indexed_search(colony.store.store, index, ["kept"], 5, colony.store.config_node,
                          INF) is None
    found = await colony.search("kept edit", no_progress)  # the scan answers
    assert found["result_count"] == 1
    await colony.aclose()
    colony = await open_colony(network)  # rebuilt at open
    assert colony.fulltext is not None and colony.fulltext.usable
    await assert_same(colony, ["kept edit", "beatles"])


def wait_until(condition: Callable[[], bool], seconds: float = 10.0) -> None:
    """Poll `condition` (another thread is to make it true) until it holds."""
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, "the condition never held"
        time.sleep(0.001)


def test_search_waits_for_a_write_in_progress(tmp_path: Path) -> None:
    graph, index = open_graph(tmp_path, S[-1])
    assert index is not None
    try:
        init_config(graph, S[-2], "2025-01-01T00:00:00.000000Z")
        out: list[Any] = []
        with index.writing(graph.store, {}, {}):
            thread = threading.Thread(target=lambda: out.append(indexed_search(
                graph.store, index, ["configuration"], 5, graph.config_node, INF)))
            thread.start()
            assert index.statistics().writing
            wait_until(lambda: index.statistics().searches_waiting == 1)
            assert thread.is_alive() and not out
            with pytest.raises(SearchTimeout):
                indexed_search(graph.store, index, ["configuration"], 5, graph.config_node,
                               time.monotonic() + 0.1)
            assert index.statistics().searches_waiting == 1
        thread.join(5)
        done = index.statistics()
        assert done.usable and not done.writing and done.searches_waiting == 0
        assert out and out[0] == scan_text_search(graph.store, ["configuration"], 5,
                                                  graph.config_node, INF)
        assert out[0].bindings
    finally:
        graph.close()


# -- random literals and terms --------------------------------------------------------

TRICKY = [*"aAbBzZ iI\u0131\u0307\u0130\u03a3\u03c3\u03c2\u00e9\u00c9e\u0301\u00df\u1e9e"
          "\u01c5\ufb00\u212a\u2126\u65e5\u672c\U0001f600\U0001f601\"'\\{}<>#,.\n\r\t\x00-",
          "ss"]
values = st.one_of(st.lists(st.sampled_from(TRICKY), max_size=14).map("".join),
                   st.text(max_size=10).filter(lambda t: not any(
                       0xD800 <= ord(c) <= 0xDFFF for c in t)))


@st.composite
def literals(draw: st.DrawFn) -> Literal:
    value = draw(values)
    kind = draw(st.sampled_from(["plain", "plain", "lang", "integer", "custom", "boolean"]))
    if kind == "lang":
        return Literal(value, language=draw(st.sampled_from(["en", "de", "tr"])))
    if kind == "integer":
        return Literal(draw(st.sampled_from([value, "1", "01", "-7", "+3"])),
                       datatype=NamedNode(XSD + "integer"))
    if kind == "boolean":
        return Literal(draw(st.sampled_from(["true", "false", value])),
                       datatype=NamedNode(XSD + "boolean"))
    if kind == "custom":
        return Literal(value, datatype=NamedNode("http://example.org/dt"))
    return Literal(value)


P = [NamedNode(f"http://schema.org/p{i}") for i in range(3)]


@st.composite
def pod_triples(draw: st.DrawFn, pod: NamedNode) -> list[Triple]:
    out = [Triple(pod, NAME, Literal("pod"))]
    for number in range(draw(st.integers(0, 6))):
        subject: NamedNode | BlankNode = (BlankNode(f"b{number}") if draw(st.booleans())
                                          else NamedNode(f"ant://s{draw(st.integers(0, 4))}"))
        for _ in range(draw(st.integers(1, 4))):
            out.append(Triple(subject, draw(st.sampled_from(P)), draw(literals())))
    return out


def subject_tree(data: st.DataObject, subject: NamedNode) -> list[Triple]:
    out = [Triple(subject, P[0], data.draw(literals()))]
    parent: NamedNode | BlankNode = subject
    for level in range(data.draw(st.integers(0, 3))):
        child = BlankNode(f"n{level}")
        out.append(Triple(parent, P[1], child))
        out.append(Triple(child, P[0], data.draw(literals())))
        parent = child
    return out


@pytest.mark.parametrize("common_matches", [walk.COMMON_MATCHES, 1], ids=["fts", "walk"])
def test_random_literals_and_terms(tmp_path: Path, common_matches: int) -> None:
    config = "c" * 64
    graph, index = open_graph(tmp_path, config)
    assert index is not None
    index.common_matches = common_matches  # 1: every one-term search walks (walk.py)
    stamp = "2025-01-01T00:00:00.000000Z"
    init_config(graph, "d" * 64, stamp)
    pods = [f"{i:064x}" for i in range(1, 5)]
    c = graph.config_node
    # Odd depth statements: two for one pod ("1" and "01"), a non-number for another.
    graph.apply(Write(f"INSERT DATA {{ GRAPH {c} {{ {pod_node(pods[2])} {DEPTH} \"1\", \"01\" . "
                      f"{pod_node(pods[3])} {DEPTH} \"abc\" }} }}",
                      {c: subjects(pod_node(pods[2]), pod_node(pods[3]))}))

    for address in pods[2:]:
        graph.apply(Write(f"INSERT DATA {{ GRAPH {pod_node(address)} {{ "
                          f"{pod_node(address)} {NAME} \"p\" }} }}", {pod_node(address): WHOLE}))

    @settings(max_examples=int(os.environ.get("COLONY_FULLTEXT_EXAMPLES", "120")), deadline=None,
              suppress_health_check=[HealthCheck.function_scoped_fixture,
                                     HealthCheck.too_slow])
    @given(st.data())
    def check(data: st.DataObject) -> None:
        written: list[Triple] = []
        for address in pods[:2]:
            triples = data.draw(pod_triples(pod_node(address)))
            written += triples
            replace_pod(graph, address, PodData.of(triples), 1,
                        data.draw(st.sampled_from([None, 0, 1, 2])), stamp)
        for address in pods[2:]:
            subject = NamedNode(f"ant://t{data.draw(st.integers(0, 2))}")
            triples = subject_tree(data, subject)
            written += triples
            graph.apply(writes.put_subject(address, subject, triples, stamp))
        assert index.differences(graph.store) == []
        texts = sorted({t.object.value for t in written if isinstance(t.object, Literal)} - {""})
        terms: list[str] = []
        for _ in range(data.draw(st.integers(1, 4))):
            if texts and data.draw(st.booleans()):
                source = data.draw(st.sampled_from(texts))
                start = data.draw(st.integers(0, len(source) - 1))
                end = data.draw(st.integers(start + 1, len(source)))
                term = data.draw(st.sampled_from([str.lower, str.upper, str.swapcase,
                                                  str.casefold, str]))(source[start:end])
            else:
                term = data.draw(values.filter(bool))
            terms.append(term)
        limit = data.draw(st.integers(1, 25))
        found, scanned = both(graph, index, terms, limit, answers=False)
        assert found == scanned, (terms, limit)

    try:
        check()
        assert index.differences(graph.store) == []
    finally:
        graph.close()


# -- choosing the groups --------------------------------------------------------------


def test_select_groups_keeps_the_boundary_bucket() -> None:
    groups = [("g1", "s1", 2, 3), ("g2", "s1", 1, 1), ("g2", "s2", 1, 2), ("g3", "s1", 1, 5),
              ("g0", "s9", 1, 1)]
    # Ranking: g1/s1 (2 matches, 3 rows), then depth 0 graphs g0, g2, then g3 (depth 5).
    depths = {"g3": [5]}
    assert select_groups(groups, depths, 3) == [("g1", "s1")]
    assert select_groups(groups, depths, 4) == [("g0", "s9"), ("g1", "s1")]
    # The boundary bucket (1 match, depth 0, g2) is kept whole.
    assert select_groups(groups, depths, 5) == [("g0", "s9"), ("g1", "s1"), ("g2", "s1"),
                                                ("g2", "s2")]
    assert len(select_groups(groups, depths, 100)) == 5
    # A graph with two depth statements ranks at both.
    groups.append(("g4", "s1", 1, 1))
    head = [("g0", "s9"), ("g1", "s1"), ("g2", "s1"), ("g2", "s2")]
    assert select_groups(groups, {"g3": [9], "g4": [1]}, 8) == [*head, ("g4", "s1")]
    assert select_groups(groups, {"g3": [0, 9], "g4": [1]}, 8) == [*head, ("g3", "s1")]


def test_index_file_is_beside_the_store(tmp_path: Path) -> None:
    graph, index = open_graph(tmp_path, S[0], "x.sqlite3")
    try:
        assert isinstance(index, FullTextIndex)
        assert (tmp_path / "x.sqlite3").exists()
        assert text_search(graph.store, ["x"], 5, graph.config_node, INF,
                           index).bindings == []
    finally:
        graph.close()


def test_ties_between_incomparable_literals(tmp_path: Path) -> None:
    """Literals SPARQL cannot order against each other keep the scan's order."""
    graph, index = open_graph(tmp_path, S[0])
    try:
        init_config(graph, S[1], "2025-01-01T00:00:00.000000Z")
        pod = pod_node(S[2])
        objects = [Literal("1", datatype=NamedNode(XSD + "integer")),
                   Literal("01", datatype=NamedNode(XSD + "integer")),
                   Literal("1.0", datatype=NamedNode(XSD + "decimal")),
                   Literal("1", datatype=NamedNode("http://example.org/dt")),
                   Literal("1", language="en"), Literal("1", language="tr"), Literal("1"),
                   Literal("x1", datatype=NamedNode(XSD + "boolean")),
                   Literal("2001-01-01", datatype=NamedNode(XSD + "date")),
                   Literal("1e0", datatype=NamedNode(XSD + "double"))]
        triples = [Triple(pod, NAME, Literal("pod 1"))]
        for subject in (NamedNode("ant://a1"), BlankNode("x1"), NamedNode("ant://b1")):
            triples += [Triple(subject, P[0], o) for o in objects]
            triples += [Triple(subject, P[1], o) for o in objects[::-1]]
        replace_pod(graph, S[2], PodData.of(triples), 1, None, "2025-01-01T00:00:00.000000Z")
        for limit in range(1, 70, 3):
            for terms in (["1"], ["1", "x"], ["01"], ["pod 1", "1"]):
                found, scanned = both(graph, index, terms, limit, answers=False)
                assert found == scanned, (terms, limit)
        # Only the pod's own name is unambiguous; the index answers that itself.
        found, scanned = both(graph, index, ["pod"], 5)
        assert found == scanned and len(found.bindings) == 1
    finally:
        graph.close()


@settings(max_examples=200, deadline=None)
@given(st.lists(st.tuples(st.sampled_from(["g0", "g1", "g2", "gé", "g\U0001f600"]),
                          st.sampled_from(["s0", "s1", "s2", "_:b0", "sÉ"]),
                          st.integers(1, 3), st.integers(1, 4)),
                unique_by=lambda g: g[:2], max_size=12),
       st.dictionaries(st.sampled_from(["g0", "g1", "g2", "gé", "g\U0001f600"]),
                       st.lists(st.integers(-2, 999999), min_size=1, max_size=3), max_size=4),
       st.integers(1, 30))
def test_ranking_in_sql_is_select_groups(groups: list[tuple[str, str, int, int]],
                                         depths: dict[str, list[int]], limit: int) -> None:
    """The SQL the index ranks candidates with chooses what select_groups chooses."""
    db = sqlite3.connect(":memory:", isolation_level=None)
    try:
        db.execute("CREATE TABLE graphs(id INTEGER PRIMARY KEY, iri TEXT NOT NULL UNIQUE)")
        db.execute("CREATE TABLE g(graph, subject, rows, matches, ambiguous)")
        ids = {iri: n for n, iri in enumerate(sorted({g for g, *_ in groups}), 1)}
        db.executemany("INSERT INTO graphs VALUES (?, ?)", [(n, i) for i, n in ids.items()])
        db.executemany("INSERT INTO g VALUES (?, ?, ?, ?, 0)",
                       [(ids[g], x, n, m) for g, x, m, n in groups])
        db.execute("CREATE TEMP TABLE depth_keys(iri TEXT NOT NULL, key INTEGER NOT NULL)")
        db.executemany("INSERT INTO temp.depth_keys VALUES (?, ?)",
                       [(g, k) for g, keys in depths.items() for k in keys])
        rows = db.execute(RANKED.format(groups="SELECT * FROM g", limit=1), [limit]).fetchall()
    finally:
        db.close()
    assert sorted({(g, x) for g, x, _ in rows}) == select_groups(groups, depths, limit)


async def reopened_without_index(open_colony: OpenColony, network: MemoryNetwork,
                                 tmp_path: Path, **options: Any
                                 ) -> tuple[Colony, list[str], dict[str, Any]]:
    """A filled colony (its pods, a search's result) reopened with its index file lost:
    the index is empty and behind its store, no catch-up run yet."""
    colony = await open_colony(network)
    pods = await fill(colony)
    before = await colony.search("beatles road", no_progress)
    await colony.aclose()
    data_dir = tmp_path / "alice-1"
    await trio.to_thread.run_sync(remove_index, data_dir / FULLTEXT_FILE)
    keys = await trio.to_thread.run_sync(KeyStore.open, data_dir, PASSWORD)
    colony = await Colony.open(data_dir, network, keys, **{**SETTINGS, **options})
    assert colony.fulltext is not None and colony.fulltext.behind == "build"
    return colony, pods, before


async def test_searches_wait_for_the_index_built_after_a_start(
        open_colony: OpenColony, network: MemoryNetwork, tmp_path: Path) -> None:
    """An index file lost: the colony opens at once with an empty index, behind its store;
    a search waits for the catch-up (and says so if its time runs out first), /health
    says the index is building, and the catch-up fills it while edits go on."""
    colony, pods, before = await reopened_without_index(open_colony, network, tmp_path,
                                                        search_timeout=0.2)
    try:
        assert colony.fulltext is not None
        assert search_index(colony) == {"state": "building", "pods_done": 0, "pods_total": 0}
        with pytest.raises(IndexNotReady, match="still being built"):
            await colony.search("beatles road", no_progress)
        # An edit meanwhile is not lost by the catch-up.
        await colony.put_subject_data(pods[0], S[30], {"@context": CTX,
                                                      "schema:name": "Zanzibar meanwhile"})
        await colony.catch_up_index()
        assert search_index(colony) is None
        progress = colony.fulltext.catch_up_progress()
        assert progress.graphs_done == progress.graphs_total >= len(pods)
        again = await colony.search("beatles road", no_progress)
        assert again["sparql_results"] == before["sparql_results"]
        found = await colony.search("zanzibar", no_progress)
        assert found["result_count"] == 1
        assert colony.fulltext.differences(colony.store.store) == []
    finally:
        await colony.aclose()


async def test_a_new_pod_deletes_nothing_from_the_index(open_colony: OpenColony,
                                                        network: MemoryNetwork) -> None:
    """A pod new to the index has no rows to delete: a DELETE there costs nothing itself,
    but it makes FTS5 write the pending rows of the pods before it as a segment of their
    own (0.5 ms a pod at 10M triples, when a refresh stores a batch of new pods)."""
    colony = await open_colony(network)
    index = colony.fulltext
    assert index is not None
    statements: list[str] = []
    index._upkeep.db.set_trace_callback(statements.append)
    try:
        pods = [(await colony.create_pod(f"Music {p}")).address for p in range(2)]
    finally:
        index._upkeep.db.set_trace_callback(None)
    numbers = [index._upkeep.db.execute("SELECT id FROM graphs WHERE iri = ?",
                                        ("ant://" + pod,)).fetchone()[0] for pod in pods]
    inserted = [s for s in statements if s.startswith("INSERT INTO literals(")]
    assert len(inserted) >= 2
    deleted = [s.strip() for s in statements if s.startswith("DELETE FROM literals")]
    assert not {f"DELETE FROM literals WHERE graph = {n}" for n in numbers} & set(deleted)
    await assert_same(colony)
