"""A pod's data as it travels: parsing what was downloaded, serialising what is uploaded.

Parsing happens in a scratch in-memory store, never in the pod store: whatever a pod's data
says (named graphs included), it can only become that pod's own statements. Blocking and
pure of side effects; this module must never touch the pod store or the network.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import pyoxigraph
from pyoxigraph import DefaultGraph, RdfFormat, Store, Triple

from colony_actor.colony.store.rows import LITERAL_ROWS, GraphRows, csv_rows
from colony_actor.colony.vocab import INDEX


@dataclass(frozen=True)
class PodData:
    """A downloaded pod's statements, parsed and checked in a scratch in-memory store, ready
    to replace its graph: made without a Python object per statement, so that a refresh's
    store thread spends its time in oxigraph and SQLite (which let the event loop run)
    rather than holding the interpreter."""
    statements: str  # N-Triples, `.../index` statements left out
    count: int  # statements in the data, `.../index` ones included
    rows: GraphRows  # for the full-text index

    @classmethod
    def parse(cls, body: bytes) -> PodData:
        """The pod's data as published (TriG; statements in named graphs count as the
        pod's own); SyntaxError if it does not parse."""
        scratch = Store()
        scratch.load(body, format=RdfFormat.TRIG)
        if next(iter(scratch.named_graphs()), None) is not None:
            scratch.update("INSERT { ?s ?p ?o } WHERE { GRAPH ?g { ?s ?p ?o } } ; DROP NAMED")
        count = len(scratch)
        if next(iter(scratch.quads_for_pattern(None, INDEX, None)), None) is not None:
            scratch.update(f"DELETE WHERE {{ ?s {INDEX} ?o }}")
        dumped = scratch.dump(format=RdfFormat.N_TRIPLES, from_graph=DefaultGraph())
        assert isinstance(dumped, bytes)
        # Blank nodes get new names when stored: the index reads their rows back then.
        found = csv_rows(scratch, LITERAL_ROWS.format(inner="?x ?p ?o FILTER(isLiteral(?o))"))
        rows = [row for row in found if not row[0].startswith("_:")]
        return cls(dumped.decode("utf-8"), count, GraphRows(rows, len(rows) < len(found)))

    @classmethod
    def of(cls, triples: Iterable[Triple]) -> PodData:
        return cls.parse(pyoxigraph.serialize(list(triples), format=RdfFormat.N_TRIPLES) or b"")


def serialize_lines(triples: Sequence[Triple]) -> list[bytes]:
    """Triples as sorted N-Triples lines (UTF-8, one statement per line)."""
    if not triples:
        return []
    raw = pyoxigraph.serialize(triples, format=RdfFormat.N_TRIPLES) or b""
    return sorted(raw.splitlines(keepends=True))


def parse_statements(body: bytes) -> list[Triple]:
    """Triples from downloaded statements; SyntaxError if they do not parse."""
    return [q.triple for q in pyoxigraph.parse(body, format=RdfFormat.TRIG)]
