"""A query's answer as rows of W3C SPARQL 1.1 JSON terms, and the search result made of it.

pyoxigraph's solution iterators must be read and dropped on the thread that made them:
`run_query` does both, and nothing it raises holds one. This module must never run
anything but the read-only query it is given.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Final, TypeVar

from pyoxigraph import BlankNode, Literal, NamedNode, QueryBoolean, QuerySolutions, Store, Triple

from colony_actor.colony.errors import InvalidInput, SearchTimeout
from colony_actor.colony.vocab import RDF_LANG_STRING, XSD_STRING

T = TypeVar("T")

# Each triple term is two JSON objects deep; Python's encoder and parser stop near 1,000.
MAX_TRIPLE_NESTING: Final = 100
_PLAIN: Final = (XSD_STRING.value, RDF_LANG_STRING.value)


def term_json(term: Any, depth: int = 0) -> dict[str, Any]:
    """A term in the W3C SPARQL 1.1 JSON results format; InvalidInput for triple terms
    nested past MAX_TRIPLE_NESTING (no JSON encoder or parser would take them)."""
    if isinstance(term, NamedNode):
        return {"type": "uri", "value": term.value}
    if isinstance(term, BlankNode):
        return {"type": "bnode", "value": term.value}
    if isinstance(term, Literal):
        out: dict[str, Any] = {"type": "literal", "value": term.value}
        if term.language:
            out["xml:lang"] = term.language
        elif term.datatype.value not in _PLAIN:
            out["datatype"] = term.datatype.value
        return out
    if isinstance(term, Triple):
        if depth >= MAX_TRIPLE_NESTING:
            raise InvalidInput(f"The answer nests triple terms deeper than "
                               f"{MAX_TRIPLE_NESTING} levels")
        return {"type": "triple", "value": {"subject": term_json(term.subject, depth + 1),
                                            "predicate": term_json(term.predicate, depth + 1),
                                            "object": term_json(term.object, depth + 1)}}
    raise TypeError(f"not an RDF term: {type(term).__name__}")


@dataclass
class Results:
    variables: list[str]
    bindings: list[dict[str, Any]]
    boolean: bool | None = None
    truncated: bool = False

    def to_json(self) -> dict[str, Any]:
        if self.boolean is not None:
            sparql: dict[str, Any] = {"head": {}, "boolean": self.boolean}
            count = 1
        else:
            sparql = {"head": {"vars": self.variables},
                      "results": {"bindings": self.bindings}}
            count = len(self.bindings)
        found: dict[str, None] = {}  # in order of first appearance
        for row in self.bindings:
            graph = row.get("graph")
            if graph and graph.get("type") == "uri":
                found[graph["value"]] = None
        out = {"sparql_results": sparql, "result_count": count, "pods_found": list(found)}
        if self.truncated:
            out["truncated"] = True
        return out


def read_solutions(read: Callable[[Any, float, int], T], solutions: Any, deadline: float,
                   max_rows: int) -> T | Exception:
    """`read(solutions, deadline, max_rows)`, or the exception that stopped it.

    pyoxigraph's solution iterators must be dropped on the thread that made them, so an
    error is returned rather than raised: a raised one would keep this frame, and the
    iterator, alive in its traceback until some other thread collects it.
    """
    try:
        return read(solutions, deadline, max_rows)
    except Exception as exc:
        return exc.with_traceback(None)


def rows(solutions: Any, deadline: float, max_rows: int) -> Results:
    """The solutions (or the triples of a CONSTRUCT or DESCRIBE) as rows, at most
    `max_rows` of them (then marked truncated)."""
    if isinstance(solutions, QueryBoolean):
        return Results([], [], boolean=bool(solutions))
    variables = (["subject", "predicate", "object"] if not isinstance(solutions, QuerySolutions)
                 else [v.value for v in solutions.variables])
    bindings: list[dict[str, Any]] = []
    truncated = False
    for item in solutions:
        if time.monotonic() > deadline:
            raise SearchTimeout("The search ran out of time")
        if len(bindings) >= max_rows:
            truncated = True
            break
        if isinstance(solutions, QuerySolutions):
            bindings.append({v: term_json(item[v]) for v in variables if item[v] is not None})
        else:
            bindings.append({"subject": term_json(item.subject),
                             "predicate": term_json(item.predicate),
                             "object": term_json(item.object)})
    return Results(variables, bindings, truncated=truncated)


def run_query(store: Store, sparql: str, deadline: float, max_rows: int,
              **options: Any) -> Results:
    """Run a read-only query and read its answer as rows (blocking)."""
    solutions = store.query(sparql, **options)
    result = read_solutions(rows, solutions, deadline, max_rows)
    del solutions
    if isinstance(result, Exception):
        raise result
    return result
