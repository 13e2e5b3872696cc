"""Running a parsed search query against the store, and reading a subject's data.

Blocking: call it in a worker thread. Every form runs a read-only query: the built-in
ones their own SPARQL (queries.py), the text search through text.py, and an advanced
query with the pod graphs as its dataset, so that it never sees the local bookkeeping
graph. This module must never run anything but a read-only query.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Final

from pyoxigraph import BlankNode, DefaultGraph, NamedNode, QuerySolutions, Store

from colony_actor.colony.fulltext.index import FullTextIndex
from colony_actor.colony.search import sparql_json
from colony_actor.colony.search.forms import SearchQuery
from colony_actor.colony.search.queries import builtin_sparql, subject_data_sparql
from colony_actor.colony.search.results import Results, read_solutions, rows, run_query
from colony_actor.colony.search.text import text_search
from colony_actor.colony.store.reads import pod_graphs

# An advanced query's rows are collected in memory; past this the result is truncated.
MAX_ADVANCED_ROWS: Final = 100_000


def run(store: Store, query: SearchQuery, config: NamedNode, deadline: float,
        index: FullTextIndex | None = None) -> Results | sparql_json.Serialized:
    """Execute a parsed query (blocking; call it in a worker thread)."""
    if query.form == "text":
        return text_search(store, query.terms, query.limit, config, deadline, index)
    if query.form == "advanced":
        return advanced(store, query.sparql, deadline)
    return run_query(store, builtin_sparql(query, config), deadline, query.limit)


def advanced(store: Store, sparql: str, deadline: float) -> Results | sparql_json.Serialized:
    """An advanced query, with the pod graphs as its dataset: SELECT solutions as SPARQL
    JSON text (sparql_json.py), unless there are more than one result keeps; other forms,
    and those, as rows."""
    graphs: list[NamedNode | BlankNode] = list(pod_graphs(store))
    default: list[NamedNode | BlankNode | DefaultGraph] = list(graphs) or [DefaultGraph()]
    return _advanced(store, sparql, deadline, default_graph=default, named_graphs=graphs)


def _advanced(store: Store, sparql: str, deadline: float,
              **options: Any) -> Results | sparql_json.Serialized:
    solutions = store.query(sparql, **options)
    read: Callable[[Any, float, int], Results | sparql_json.Serialized] = (
        sparql_json.collect if isinstance(solutions, QuerySolutions) else rows)
    answer = read_solutions(read, solutions, deadline, MAX_ADVANCED_ROWS)
    del solutions
    if isinstance(answer, sparql_json.TooLarge):
        # The rows path stops at the row limit and marks the result truncated.
        return run_query(store, sparql, deadline, MAX_ADVANCED_ROWS, **options)
    if isinstance(answer, Exception):
        raise answer
    return answer


def subject_data(store: Store, subject: NamedNode) -> dict[str, Any]:
    """Every (graph, predicate, object) about `subject`, as SPARQL JSON."""
    results = run_query(store, subject_data_sparql(subject), float("inf"), 1 << 40)
    return {"head": {"vars": ["graph", "predicate", "object"]},
            "results": {"bindings": results.bindings}}
