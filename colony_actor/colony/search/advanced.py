"""An advanced query: the client's SPARQL, with the pod graphs as its dataset.

Blocking; it runs in a query worker process (worker.py), which imports this module and not
the daemon's: it must stay light to import (no trio, no logging). SELECT solutions come
back as SPARQL JSON text (sparql_json.py), other forms and an answer past the row limit as
rows. This module must never run anything but a read-only query.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Final

from pyoxigraph import BlankNode, DefaultGraph, NamedNode, QuerySolutions, Store

from colony_actor.colony.search import sparql_json
from colony_actor.colony.search.results import Results, read_solutions, rows, run_query
from colony_actor.colony.store.reads import pod_graphs

# An advanced query's rows are collected in memory; past this the result is truncated.
MAX_ADVANCED_ROWS: Final = 100_000


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
