"""Running a parsed search query against the store, and reading a subject's data.

Blocking: call it in a worker thread. Every form runs a read-only query: the built-in
ones their own SPARQL (queries.py), the text search through text.py, and an advanced
query with the pod graphs as its dataset, so that it never sees the local bookkeeping
graph (advanced.py). This module must never run anything but a read-only query.
"""

from __future__ import annotations

from typing import Any, Final

from pyoxigraph import NamedNode, Store

from colony_actor.colony.fulltext.index import FullTextIndex
from colony_actor.colony.search import sparql_json
from colony_actor.colony.search.advanced import advanced
from colony_actor.colony.search.forms import SearchQuery
from colony_actor.colony.search.queries import builtin_sparql, subject_data_sparql
from colony_actor.colony.search.results import Results, run_query
from colony_actor.colony.search.text import text_search
from colony_actor.colony.search.typed import by_type

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
        return by_type(store, query.iri, query.limit, deadline, index)
    return run_query(store, builtin_sparql(query, config), deadline, query.limit)


def subject_data(store: Store, subject: NamedNode) -> dict[str, Any]:
    """Every (graph, predicate, object) about `subject`, as SPARQL JSON."""
    results = run_query(store, subject_data_sparql(subject), float("inf"), 1 << 40)
    return {"head": {"vars": ["graph", "predicate", "object"]},
            "results": {"bindings": results.bindings}}
