"""The full-text rows of literal statements, read from a store as the store computes them.

A row is (subject, predicate IRI, kind, `LCASE(STR(literal))`), kind being 's' for a plain
string, 'l' for a language-tagged one and 'o' for any other literal: exactly what the
full-text index holds, made by oxigraph so that it lower-cases as the search query does.
Reads only; this module must never write to a store.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from typing import Any, Final

from pyoxigraph import QueryResultsFormat, QuerySolutions, Store

from colony_actor.colony.vocab import RDF_LANG_STRING, XSD_STRING


def csv_rows(store: Store, sparql: str, **options: Any) -> list[list[str]]:
    """A SELECT's rows as strings, through the CSV results format (plain values: IRIs
    bare, blank nodes `_:id`, literals their lexical form), far cheaper than terms."""
    solutions = store.query(sparql, **options)
    assert isinstance(solutions, QuerySolutions)
    body = solutions.serialize(format=QueryResultsFormat.CSV)
    del solutions
    assert isinstance(body, bytes)
    reader = csv.reader(io.StringIO(body.decode("utf-8"), newline=""))
    next(reader, None)
    # Row by row in the interpreter's loop, not list(reader): that is one C call, which
    # would hold the GIL (and the event loop) for all of a large answer at once.
    return [row for row in reader]


def field(variable: str, name: str) -> str:
    """A SELECT expression giving `?variable` as one CSV field named `?name`: an IRI as a
    plain string (the CSV writer leaves IRIs unquoted, and an IRI may hold a comma), a
    blank node as `_:id`."""
    return f"(IF(isBlank(?{variable}), ?{variable}, STR(?{variable})) AS ?{name})"


# The kind of the literal in ?o, as ?k.
KIND: Final = (f"(IF(DATATYPE(?o) = {RDF_LANG_STRING}, \"l\", IF(DATATYPE(?o) = "
               f"{XSD_STRING}, \"s\", \"o\")) AS ?k)")
# The rows of the literal statements `{inner}` binds to ?x ?p ?o (a str.format template).
LITERAL_ROWS: Final = (f"SELECT {field('x', 's')} {field('p', 'q')} "
                       + KIND.replace("{", "{{").replace("}", "}}")
                       + " (LCASE(STR(?o)) AS ?l) WHERE {{ {inner} }}")


@dataclass(frozen=True)
class GraphRows:
    """The index rows of a graph a write replaces wholly, known before the write: those of
    its literal statements about named subjects (`rows`, built by `LITERAL_ROWS`), and
    whether it has literal statements about blank nodes (the store renames those, so they
    are read back after the write)."""
    rows: list[list[str]]
    blank: bool
