"""The `by_type` search: the first `limit` (graph, subject) pairs of a type, in its SPARQL's
order (queries.builtin_sparql: ORDER BY ?graph ?subject LIMIT).

A rare type's statements are few: all are read from the store's (predicate, object) index
and the first `limit` kept (a heap of `limit`, where the query would sort every match and
read each term's text back again and again). A common type's first pairs lie in the first
graphs by IRI: they are read graph by graph in that order (the full-text index lists the
graphs in order), and the walk stops after the graph that completes `limit` pairs; if the
index is not in step, a write overlaps the walk, or the pairs are not all within its budget
of graphs, the statements are read all instead. Blocking; this module must never write.
"""

from __future__ import annotations

import heapq
import time
from collections.abc import Iterable, Iterator
from itertools import chain, islice
from typing import Any, Final

from pyoxigraph import BlankNode, NamedNode, Quad, Store

from colony_actor.colony.errors import SearchTimeout
from colony_actor.colony.fulltext.index import FullTextIndex
from colony_actor.colony.search.results import Results, term_json
from colony_actor.colony.vocab import LOCAL_GRAPH, RDF_TYPE

# Statements read between two looks at the deadline.
_DEADLINE_STEPS: Final = 1024
# Statements of a type from which a walk is tried (read ahead up to this many).
COMMON_STATEMENTS: Final = 5000
# Graphs a walk may read before it gives up.
WALK_BUDGET: Final = 8192
_CHUNK: Final = 256

Row = tuple[str, int, str, NamedNode, Any]  # graph IRI, subject's rank, graph, subject


def by_type(store: Store, iri: NamedNode, limit: int, deadline: float,
            index: FullTextIndex | None = None) -> Results:
    """The `by_type` search's first `limit` rows, the same rows in the same order as its
    SPARQL; SearchTimeout past `deadline`."""
    statements = store.quads_for_pattern(None, RDF_TYPE, iri, None)
    ahead = list(islice(statements, COMMON_STATEMENTS))
    first, timed_out = None, False
    if len(ahead) == COMMON_STATEMENTS and index is not None:
        try:
            first = _walked(store, iri, limit, deadline, index)
        except SearchTimeout:
            timed_out = True
    if first is None and not timed_out:
        first = _kept(chain(ahead, statements), limit, deadline)
    if first is None:
        # Raised here, with no traceback through the frames that held the store's
        # iterator: it must be dropped on this thread.
        raise SearchTimeout("The search ran out of time")
    return Results(["subject", "graph"], [
        {"subject": term_json(subject), "graph": term_json(graph)}
        for _, _, _, graph, subject in first])


def _kept(statements: Iterable[Quad], limit: int, deadline: float) -> list[Row] | None:
    """The first `limit` rows of these statements (None past `deadline`)."""
    def rows() -> Iterator[Row]:
        for seen, quad in enumerate(statements):
            if seen % _DEADLINE_STEPS == 0 and time.monotonic() > deadline:
                raise SearchTimeout("The search ran out of time")
            graph = quad.graph_name
            if isinstance(graph, NamedNode) and graph != LOCAL_GRAPH:
                yield (graph.value, *_term_rank(quad), graph, quad.subject)

    # (graph, subject) pairs are distinct: the predicate and object are fixed.
    try:
        return heapq.nsmallest(limit, rows(), key=lambda row: row[:3])
    except SearchTimeout:
        return None


def _walked(store: Store, iri: NamedNode, limit: int, deadline: float,
            index: FullTextIndex) -> list[Row] | None:
    """The first `limit` rows read graph by graph in IRI order; None if the index cannot
    list the graphs in step with the store, or past WALK_BUDGET graphs."""
    found: list[Row] = []
    after, version, read = "", None, 0
    while read < WALK_BUDGET:
        wanted = min(_CHUNK, WALK_BUDGET - read)
        listed = index.graphs_after(after, wanted, deadline)
        if listed is None or (version is not None and listed[1] != version):
            return None
        iris, version = listed
        for name in iris:
            graph = NamedNode(name)
            found.extend((name, *_term_rank(quad), graph, quad.subject)
                         for quad in store.quads_for_pattern(None, RDF_TYPE, iri, graph))
            if len(found) >= limit:
                break
        read += len(iris)
        if len(found) >= limit or len(iris) < wanted:  # the first rows, or every graph
            if index.changed_since(version):
                return None  # a write began: the graphs read may mix two states
            return sorted(found, key=lambda row: row[:3])[:limit]
        after = iris[-1]
        if time.monotonic() > deadline:
            raise SearchTimeout("The search ran out of time")
    return None


def _term_rank(quad: Quad) -> tuple[int, str]:
    """The SPARQL ORDER BY key of a subject: blank nodes before IRIs (before triples)."""
    subject = quad.subject
    if isinstance(subject, BlankNode):
        return 0, subject.value
    if isinstance(subject, NamedNode):
        return 1, subject.value
    return 2, str(subject)
