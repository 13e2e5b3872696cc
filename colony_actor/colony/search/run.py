"""Running a parsed search query against the store, and reading a subject's data.

Blocking: call it in a worker thread. Every form runs a read-only query: the built-in
ones their own SPARQL (queries.py), the text search through text.py, and an advanced
query with the pod graphs as its dataset, so that it never sees the local bookkeeping
graph (advanced.py). This module must never run anything but a read-only query.
"""

from __future__ import annotations

import heapq
import time
from collections.abc import Iterator
from typing import Any, Final

from pyoxigraph import BlankNode, NamedNode, Quad, Store

from colony_actor.colony.errors import SearchTimeout
from colony_actor.colony.fulltext.index import FullTextIndex
from colony_actor.colony.search import sparql_json
from colony_actor.colony.search.advanced import advanced
from colony_actor.colony.search.forms import SearchQuery
from colony_actor.colony.search.queries import builtin_sparql, subject_data_sparql
from colony_actor.colony.search.results import Results, run_query, term_json
from colony_actor.colony.search.text import text_search
from colony_actor.colony.vocab import LOCAL_GRAPH, RDF_TYPE

# Statements read between two looks at the deadline.
_DEADLINE_STEPS: Final = 1024


def run(store: Store, query: SearchQuery, config: NamedNode, deadline: float,
        index: FullTextIndex | None = None) -> Results | sparql_json.Serialized:
    """Execute a parsed query (blocking; call it in a worker thread)."""
    if query.form == "text":
        return text_search(store, query.terms, query.limit, config, deadline, index)
    if query.form == "advanced":
        return advanced(store, query.sparql, deadline)
    if query.form == "by_type" and query.iri is not None:
        return by_type(store, query.iri, query.limit, deadline)
    return run_query(store, builtin_sparql(query, config), deadline, query.limit)


def by_type(store: Store, iri: NamedNode, limit: int, deadline: float) -> Results:
    """The `by_type` search: the same rows as its SPARQL (queries.builtin_sparql: ORDER BY
    ?graph ?subject LIMIT), but the first `limit` are kept as the statements stream by
    (a heap of `limit`), instead of the query sorting every match, whose comparisons
    read each term's text back from the store again and again."""
    def typed() -> Iterator[tuple[str, int, str, NamedNode, Any]]:
        for seen, quad in enumerate(store.quads_for_pattern(None, RDF_TYPE, iri, None)):
            if seen % _DEADLINE_STEPS == 0 and time.monotonic() > deadline:
                raise SearchTimeout("The search ran out of time")
            graph = quad.graph_name
            if isinstance(graph, NamedNode) and graph != LOCAL_GRAPH:
                yield (graph.value, *_term_rank(quad), graph, quad.subject)

    # (graph, subject) pairs are distinct: the predicate and object are fixed.
    try:
        first = heapq.nsmallest(limit, typed(), key=lambda row: row[:3])
    except SearchTimeout:
        first = None
    if first is None:
        # Raised here, with no traceback through the frames that held the store's
        # iterator: it must be dropped on this thread.
        raise SearchTimeout("The search ran out of time")
    return Results(["subject", "graph"], [
        {"subject": term_json(subject), "graph": term_json(graph)}
        for _, _, _, graph, subject in first])


def _term_rank(quad: Quad) -> tuple[int, str]:
    """The SPARQL ORDER BY key of a subject: blank nodes before IRIs (before triples)."""
    subject = quad.subject
    if isinstance(subject, BlankNode):
        return 0, subject.value
    if isinstance(subject, NamedNode):
        return 1, subject.value
    return 2, str(subject)


def subject_data(store: Store, subject: NamedNode) -> dict[str, Any]:
    """Every (graph, predicate, object) about `subject`, as SPARQL JSON."""
    results = run_query(store, subject_data_sparql(subject), float("inf"), 1 << 40)
    return {"head": {"vars": ["graph", "predicate", "object"]},
            "results": {"bindings": results.bindings}}
