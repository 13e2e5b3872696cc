"""The index follows a write whose rows it was given while the store writes (following.py):
it commits only what the store holds, and lets go of the store when it cannot follow."""

from __future__ import annotations

import contextlib
import sqlite3
from collections.abc import Iterator
from pathlib import Path

import pytest
from pyoxigraph import Literal, NamedNode, Triple

from colony_actor.colony.fulltext.index import FullTextIndex
from colony_actor.colony.search.results import Results
from colony_actor.colony.search.text import indexed_search
from colony_actor.colony.store.changes import WHOLE, subjects
from colony_actor.colony.store.graph import GraphStore
from colony_actor.colony.store.poddata import PodData
from colony_actor.colony.store.writes import Write
from colony_actor.colony.vocab import NAME, pod_node

from ..conftest import init_config, open_graph, replace_pod

CONFIG, PAD, POD = (f"{i:064x}" for i in (1, 2, 3))
STAMP = "2025-01-01T00:00:00.000000Z"
DATA = PodData.of([Triple(NamedNode("ant://thing/1"), NAME, Literal("Zebra crossing")),
                   Triple(NamedNode("ant://thing/2"), NAME, Literal("Abbey Road"))])


@contextlib.contextmanager
def opened(tmp_path: Path) -> Iterator[tuple[GraphStore, FullTextIndex]]:
    """A store with its configuration pod, followed by an index; closed after."""
    graph, index = open_graph(tmp_path, CONFIG)
    try:
        assert index is not None
        init_config(graph, PAD, STAMP)
        yield graph, index
    finally:
        graph.close()


def found(graph: GraphStore, index: FullTextIndex, text: str) -> Results:
    result = indexed_search(graph.store, index, [text], 10, graph.config_node, float("inf"))
    assert result is not None  # answered by the index
    return result


def test_rows_written_ahead_are_rolled_back_when_the_store_write_fails(tmp_path: Path) -> None:
    with opened(tmp_path) as (graph, index):
        p = pod_node(POD)
        broken = Write("INSERT DATA { not sparql", {p: WHOLE}, {p: DATA.rows})
        with pytest.raises(SyntaxError):
            graph.apply(broken)
        assert index.usable and index.differences(graph.store) == []
        assert found(graph, index, "zebra").bindings == []
        # The index writes on as before.
        assert replace_pod(graph, POD, DATA, 1, 1, STAMP)
        assert index.usable and index.differences(graph.store) == []
        assert len(found(graph, index, "zebra").bindings) == 1


def test_a_graph_given_rows_that_the_write_leaves_empty_leaves_the_index(
        tmp_path: Path) -> None:
    with opened(tmp_path) as (graph, index):
        assert replace_pod(graph, POD, DATA, 1, 1, STAMP)
        p = pod_node(POD)
        graph.apply(Write(f"DROP SILENT GRAPH {p} ;\n", {p: WHOLE}, {p: DATA.rows}))
        assert not graph.store.contains_named_graph(p)
        assert index.usable and index.differences(graph.store) == []
        assert found(graph, index, "zebra").bindings == []


def test_an_index_that_cannot_write_ahead_is_set_aside_and_lets_go_of_the_store(
        tmp_path: Path) -> None:
    with opened(tmp_path) as (graph, index):
        with contextlib.closing(sqlite3.connect(tmp_path / "ft.sqlite3")) as db:
            db.execute("DROP TABLE literals")  # behind the index's back
            db.commit()
        assert replace_pod(graph, POD, DATA, 1, 1, STAMP)  # the store's write stands
        assert not index.usable
        assert graph.store.contains_named_graph(pod_node(POD))
    del graph, index
    # Nothing kept the store open (an error kept with its frames would): it opens again,
    # and the index is rebuilt beside it.
    graph, index = open_graph(tmp_path, CONFIG)
    try:
        assert index is not None and index.usable and index.differences(graph.store) == []
        assert len(found(graph, index, "zebra").bindings) == 1
    finally:
        graph.close()


def test_a_graph_emptied_without_being_dropped_keeps_no_token_in_the_index(
        tmp_path: Path) -> None:
    """The store gives a graph a write leaves empty no generation token, even when the
    graph itself remains (emptied statement by statement, not dropped)."""
    with opened(tmp_path) as (graph, index):
        assert replace_pod(graph, POD, DATA, 1, 1, STAMP)
        p = pod_node(POD)
        graph.apply(Write(f"DELETE WHERE {{ GRAPH {p} {{ ?s ?p ?o }} }} ;\n",
                          {p: subjects(NamedNode("ant://thing/1"), NamedNode("ant://thing/2"))}))
        assert index.usable and index.differences(graph.store) == []
        assert found(graph, index, "zebra").bindings == []
