"""The by_type search's walk (search/typed.py): graph by graph in IRI order, the same rows
in the same order as its SPARQL; the statements read all when the walk cannot answer."""

from __future__ import annotations

import random
from pathlib import Path
from typing import Any

import pytest
from pyoxigraph import BlankNode, NamedNode, Triple

from colony_actor.colony.search import typed
from colony_actor.colony.search.forms import parse_query
from colony_actor.colony.search.queries import builtin_sparql
from colony_actor.colony.search.results import Results, run_query
from colony_actor.colony.search.run import run
from colony_actor.colony.store.poddata import PodData
from colony_actor.colony.vocab import NAME, RDF_TYPE, pod_node

from ..conftest import init_config, open_graph, replace_pod

BOOK, FILM = NamedNode("http://schema.org/Book"), NamedNode("http://schema.org/Film")
STAMP = "2025-01-01T00:00:00.000000Z"
LIMITS = (1, 3, 7, 40, 1000)


def typed_pods(tmp_path: Path) -> Any:
    """A store of 12 pods of Books and Films (named and blank subjects; two pods of
    neither) and its full-text index."""
    graph, index = open_graph(tmp_path, "c" * 64)
    assert index is not None
    init_config(graph, "d" * 64, STAMP)
    rng = random.Random(5)
    for number in range(1, 13):
        address = f"{number * 7919 % 1000:03d}".ljust(64, "e")
        triples = [Triple(pod_node(address), NAME, pod_node(address))]
        for s in range(rng.randrange(0, 6) if number > 2 else 0):
            subject: Any = (BlankNode(f"b{s}") if rng.random() < 0.3
                            else NamedNode(f"ant://{rng.randrange(1000):064x}"))
            triples.append(Triple(subject, RDF_TYPE, rng.choice([BOOK, BOOK, FILM])))
        replace_pod(graph, address, PodData.of(triples), 1, rng.choice([None, 1]), STAMP)
    return graph, index


@pytest.mark.parametrize("how", ["walk", "budget", "scan", "no index"])
def test_by_type_gives_the_rows_of_its_sparql(tmp_path: Path, how: str,
                                              monkeypatch: pytest.MonkeyPatch) -> None:
    graph, index = typed_pods(tmp_path)
    walks: list[bool] = []
    walked = typed._walked

    def watched(*args: Any) -> Any:
        found = walked(*args)
        walks.append(found is not None)
        return found

    monkeypatch.setattr(typed, "_walked", watched)
    # One statement counts as common; a budget of one graph is too small for the pods.
    monkeypatch.setattr(typed, "COMMON_STATEMENTS", 10**6 if how == "scan" else 1)
    monkeypatch.setattr(typed, "WALK_BUDGET", 1 if how == "budget" else typed.WALK_BUDGET)
    monkeypatch.setattr(typed, "_CHUNK", 2)  # several chunks
    try:
        for limit in LIMITS:
            query = parse_query({"type": "by_type", "type_uri": BOOK.value, "limit": limit})
            reference = run_query(graph.store, builtin_sparql(query, graph.config_node),
                                  float("inf"), limit)
            found = run(graph.store, query, graph.config_node, float("inf"),
                        None if how == "no index" else index)
            assert isinstance(found, Results)
            assert found.bindings == reference.bindings, (how, limit)
            assert 0 < len(found.bindings) <= limit
    finally:
        graph.close()
    if how == "budget":
        assert walks[-2:] == [False, False]  # 40 or more rows are not in one graph
    else:
        assert walks == {"walk": [True] * len(LIMITS), "scan": [], "no index": []}[how]


def test_a_walk_that_overlaps_a_write_reads_all(tmp_path: Path,
                                               monkeypatch: pytest.MonkeyPatch) -> None:
    graph, index = typed_pods(tmp_path)
    monkeypatch.setattr(typed, "_CHUNK", 2)
    listed = index.graphs_after
    calls: list[str] = []

    def then_a_write(after: str, count: int, deadline: float) -> Any:
        found = listed(after, count, deadline)
        if not calls:  # a pod of Books is written once the first graphs are listed
            address = "f" * 64
            replace_pod(graph, address, PodData.of([
                Triple(pod_node(address), NAME, pod_node(address)),
                Triple(NamedNode("ant://" + "0" * 64), RDF_TYPE, BOOK)]), 1, None, STAMP)
        calls.append(after)
        return found

    monkeypatch.setattr(index, "graphs_after", then_a_write)
    try:
        assert typed._walked(graph.store, BOOK, 1000, float("inf"), index) is None
        assert len(calls) == 2  # it gave up on the second chunk, which saw the write
        query = parse_query({"type": "by_type", "type_uri": BOOK.value, "limit": 1000})
        reference = run_query(graph.store, builtin_sparql(query, graph.config_node),
                              float("inf"), 1000)
        monkeypatch.setattr(typed, "COMMON_STATEMENTS", 1)
        found = run(graph.store, query, graph.config_node, float("inf"), index)
        assert isinstance(found, Results) and found.bindings == reference.bindings
        assert {"type": "uri", "value": "ant://" + "f" * 64} in [
            row["graph"] for row in found.bindings]
    finally:
        graph.close()
