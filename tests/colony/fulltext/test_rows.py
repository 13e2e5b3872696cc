"""The rows the index is built from, read from the statements with no query: the very rows
the reference SPARQL gives, for any literal (kinds, case, NULs, blank and named subjects)."""

from __future__ import annotations

from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pyoxigraph import BlankNode, DefaultGraph, Literal, NamedNode, Quad, Store

from colony_actor.colony.fulltext import rows
from colony_actor.colony.vocab import DEPTH, LOCAL_GRAPH, XSD_INTEGER

from .test_fulltext import P, literals

GRAPHS = [NamedNode(f"ant://{i:064x}") for i in range(3)]
# Statements in these are never rows: the local graph, the default graph.
ELSEWHERE = [LOCAL_GRAPH, DefaultGraph()]


@settings(max_examples=150, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(st.tuples(st.sampled_from(GRAPHS + ELSEWHERE), st.booleans(),
                          st.integers(0, 3),
                          st.sampled_from(P), st.one_of(literals(), st.just(None))),
                max_size=12))
def test_rows_are_those_of_the_reference_query(tmp_path: Path, statements: list) -> None:
    store = Store()
    store.extend(Quad(BlankNode(f"b{n}") if blank else NamedNode(f"ant://s{n}"), predicate,
                      GRAPHS[0] if value is None else value, graph)
                 for graph, blank, n, predicate, value in statements)
    for graphs in (GRAPHS, GRAPHS[1:2], []):
        assert (sorted(rows.rows_of_graphs(store, graphs))
                == sorted(rows.queried_rows(store, graphs)))
    # The scan of the whole store, in parts of 3 statements, gives the pod graphs' rows.
    scanned = list(rows.every_row(store, chunk=3))
    assert (sorted(row for part, _ in scanned for row in part)
            == sorted(rows.queried_rows(store, GRAPHS)))
    graphs = len({graph for graph, *_ in statements if graph in GRAPHS})
    assert [entered for _, entered in scanned][-1:] == ([graphs] if scanned else [])


DEPTHS = [Literal("1"), Literal("01"), Literal("0"), Literal("123456789012345678"),
          Literal("12345678901234567890"), Literal("+5"), Literal("-3"), Literal(" 4"),
          Literal("1.0"), Literal("abc"), Literal(""), Literal("5", language="en"),
          Literal("7", datatype=XSD_INTEGER), Literal("٣"), NamedNode("ant://x")]


@settings(max_examples=150, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 3), st.sampled_from(DEPTHS)), max_size=6),
       st.booleans())
def test_depth_keys_are_those_of_the_ranking_query(depths: list, digits_only: bool) -> None:
    """Read from the statements (digits only) or by the query (anything else), the depth
    keys are those the text search's SPARQL ranks with."""
    store, config = Store(), NamedNode("ant://config")
    for graph, depth in depths:
        if digits_only and not (isinstance(depth, Literal) and depth.value.isascii()
                                and depth.value.isdigit() and len(depth.value) <= 20
                                and depth.language is None):
            continue
        subject = NamedNode(f"ant://{graph:064x}") if graph else BlankNode("b")
        store.add(Quad(subject, DEPTH, depth, config))
    found = rows.depth_keys(store, config)
    assert {k: sorted(v) for k, v in found.items()} == {
        k: sorted(v) for k, v in rows.queried_depth_keys(store, config).items()}
