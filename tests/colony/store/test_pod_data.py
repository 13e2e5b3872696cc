"""A downloaded pod made ready to store (`PodData`) and stored (`writes.replace_pods`):
whatever its data says, it lands in its own graph only, and the full-text index follows."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from pyoxigraph import BlankNode, Literal, NamedNode, Triple

from colony_actor.colony.fulltext.index import FullTextIndex
from colony_actor.colony.search.text import indexed_search, scan_text_search
from colony_actor.colony.store import writes
from colony_actor.colony.store.graph import GraphStore
from colony_actor.colony.store.poddata import PodData
from colony_actor.colony.vocab import INDEX, LOCAL_GRAPH, pod_node

from ..conftest import init_config, open_graph, replace_pod

STAMP = "2025-01-01T00:00:00.000000Z"
POD, OTHER, CHUNK = "1" * 64, "2" * 64, "3" * 64
INF = float("inf")
R = NamedNode("http://ex.org/r")


@pytest.fixture
def opened(tmp_path: Path) -> Iterator[tuple[GraphStore, FullTextIndex]]:
    store, index = open_graph(tmp_path, "c" * 64)
    assert index is not None
    init_config(store, "d" * 64, STAMP)
    try:
        yield store, index
    finally:
        store.close()


def graphs_holding(graph: GraphStore, subject: str) -> set[str]:
    return {str(row["g"].value) for row in graph.select(
        f"SELECT DISTINCT ?g WHERE {{ GRAPH ?g {{ <{subject}> ?p ?o }} }}")}


def test_statements_in_named_graphs_count_as_the_pods_own(
        opened: tuple[GraphStore, FullTextIndex]) -> None:
    """A pod's TriG cannot write into the local graph or another pod's graph."""
    graph, index = opened
    body = (f"#2025-01-01T00:00:00Z\n@prefix s: <http://schema.org/> .\n"
            f"<ant://{CHUNK}> <{INDEX.value}> \"1\" .\n"
            f"<ant://x1> s:name \"Top\" .\n"
            f"GRAPH {LOCAL_GRAPH} {{ <ant://x2> s:name \"Sneaky\" . }}\n"
            f"GRAPH {pod_node(OTHER)} {{ <ant://x3> s:name \"Elsewhere\" ; "
            f"s:author [ s:name \"Nested\" ] . }}\n").encode()
    data = PodData.parse(body)
    assert data.count == 6  # the index statement included
    assert INDEX.value not in data.statements
    assert replace_pod(graph, POD, data, 7, None, STAMP)
    for subject in ("ant://x1", "ant://x2", "ant://x3"):
        assert graphs_holding(graph, subject) == {pod_node(POD).value}
    assert not graph.store.contains_named_graph(pod_node(OTHER))
    assert graph.pointer_counter(POD) == 7
    assert len(graph.triples(POD)) == 5
    assert index.differences(graph.store) == []
    for term in ("sneaky", "nested"):
        found = indexed_search(graph.store, index, [term], 10, graph.config_node, INF)
        assert found is not None
        assert found == scan_text_search(graph.store, [term], 10, graph.config_node, INF)
        assert [row["graph"]["value"] for row in found.bindings] == [pod_node(POD).value]


def test_literals_of_every_kind_are_indexed_as_the_store_holds_them(
        opened: tuple[GraphStore, FullTextIndex]) -> None:
    """Rows come from the data for named subjects (typed literals in canonical form, text
    lower-cased by oxigraph) and are read back for blank nodes, which the store renames."""
    graph, index = opened
    body = ('<ant://a> <ant://p> "ÉCOLE Straße" .\n'
            '<ant://a> <ant://p> "007"^^<http://www.w3.org/2001/XMLSchema#integer> .\n'
            '<ant://a> <ant://p> "Hello"@EN .\n'
            '_:b <ant://p> "Blank NODE" .\n'
            '<ant://a> <ant://q> _:b .\n').encode()
    data = PodData.parse(body)
    assert sorted(data.rows.rows) == [["ant://a", "ant://p", "l", "hello"],
                                      ["ant://a", "ant://p", "o", "7"],
                                      ["ant://a", "ant://p", "s", "école straße"]]
    assert data.rows.blank
    assert replace_pod(graph, POD, data, 1, None, STAMP)
    assert index.differences(graph.store) == []
    for term in ("blank node", "école", "7", "hello"):
        found = indexed_search(graph.store, index, [term], 10, graph.config_node, INF)
        assert found is not None and len(found.bindings) == 1, term


def test_a_removed_pod_has_no_statements() -> None:
    data = PodData.parse(b"#2025-01-01T00:00:00Z\n")
    assert (data.count, data.statements, data.rows.rows, data.rows.blank) == (0, "", [], False)


def test_data_that_does_not_parse_is_refused() -> None:
    for body in (b"<ant://a> <ant://p> .\n", b"<ant://a> <ant://p> \"open\n",
                 b"<relative> <ant://p> \"x\" .\n", b"\xff\xfe"):
        with pytest.raises(SyntaxError):
            PodData.parse(body)


def test_a_pod_with_local_changes_is_left_alone(
        opened: tuple[GraphStore, FullTextIndex]) -> None:
    graph, _ = opened
    graph.apply(writes.create_pod(graph.config, POD, "e" * 64, 1, 2, "Mine", STAMP))
    kept = graph.statements(POD)
    assert not replace_pod(graph, POD, PodData.parse(b'<ant://x> <ant://p> "new" .\n'), 3,
                           None, STAMP)
    assert graph.statements(POD) == kept
    assert NamedNode("ant://x") not in {t.subject for t in graph.triples(POD)}


def test_iris_with_commas_are_indexed(tmp_path: Path) -> None:
    """The index reads rows as CSV: an IRI with a comma (legal in IRIs) must stay one field,
    when a pod is stored, when rows are read back, and when the index is rebuilt."""
    body = (b'<http://ex.org/a,b> <http://ex.org/p,q> "Washington, D.C." .\n'
            b'_:n <http://ex.org/p,q> "Nested, too" .\n'
            b'<http://ex.org/a,b> <http://ex.org/r> _:n .\n')
    fulltext = tmp_path / "ft.sqlite3"
    for attempt in ("stored", "rebuilt"):
        graph, index = open_graph(tmp_path, "c" * 64, fulltext.name)
        try:
            if attempt == "stored":
                init_config(graph, "d" * 64, STAMP)
                assert replace_pod(graph, POD, PodData.parse(body), 1, None, STAMP)
                # A subject's data replaced in place: its rows, and its nested nodes', too.
                subject, child, p = (NamedNode("ant://s"), BlankNode("c"),
                                     NamedNode("http://ex.org/p,q"))
                graph.apply(writes.put_subject(OTHER, subject, [
                    Triple(subject, p, Literal("Ottawa, ON")), Triple(subject, R, child),
                    Triple(child, p, Literal("Inner, child"))], STAMP))
            assert index is not None and index.usable, attempt
            assert index.differences(graph.store) == [], attempt
            for term in ("washington", "nested", "ottawa", "inner"):
                found = indexed_search(graph.store, index, [term], 10, graph.config_node,
                                       INF)
                assert found is not None and len(found.bindings) == 1, (attempt, term)
        finally:
            graph.close()
        fulltext.unlink()
