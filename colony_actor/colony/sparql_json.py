"""A SELECT query's solutions as W3C SPARQL JSON text, never as Python rows.

An advanced query answers up to 100,000 rows. Made into Python dicts one term at a time,
they held the GIL for about 1.5 s in the worker thread, and the event loop waited for it
at each of its system calls (docs/benchmarks.md, §2). Here pyoxigraph writes the JSON
itself, handing over 8 KiB pieces, and SQLite's JSON functions count the rows and list the
distinct pod graphs; both run with the GIL released. The text then goes into the job's
result as it is (`json_pieces.Raw`), as far as the journal and the HTTP response.

`collect` must be called on the thread that ran the query, like every use of a pyoxigraph
solution iterator. This module must never decode a result past `threads.INLINE_MAX_BYTES`
into Python objects, and never give a text other than the rows path of search.py would
give once parsed (tests/colony/test_sparql_json.py compares them).
"""

from __future__ import annotations

import io
import json
import sqlite3
import time
from contextlib import closing
from dataclasses import dataclass
from typing import Any, Final

from pyoxigraph import QueryResultsFormat, QuerySolutions

from colony_actor.colony.errors import ColonyError, SearchTimeout
from colony_actor.json_pieces import Raw
from colony_actor.threads import INLINE_MAX_BYTES

# Past this much text a query's answer is not kept as text: search.py takes the rows
# path, which stops at its row limit. 64 MiB is 100,000 rows of about 670 bytes.
MAX_TEXT_BYTES: Final = 64 * 1024 * 1024
# SQLite's virtual machine instructions between two looks at the deadline.
_DEADLINE_STEPS: Final = 100_000

# One statement, so that the text is bound (copied into SQLite, with the GIL held) once,
# and each part computed once (MATERIALIZED):
# the row count on every row, with each distinct URI bound to ?graph in the order of its
# first row (as search.Results gives them); one row with a NULL graph when there is none.
_SUMMARY = """
WITH doc(text) AS MATERIALIZED (SELECT CAST(?1 AS TEXT)),
     total(count) AS MATERIALIZED (SELECT json_array_length(text, '$.results.bindings') FROM doc),
     graphs(graph, first) AS (
         SELECT row.value ->> '$.graph.value', min(row.key)
         FROM doc, json_each(doc.text, '$.results.bindings') AS row
         WHERE row.value ->> '$.graph.type' = 'uri' GROUP BY 1)
SELECT total.count, graphs.graph FROM total LEFT JOIN graphs ORDER BY graphs.first
"""


class TooLarge(ColonyError):
    """The answer is more rows or more text than one result keeps."""


@dataclass(frozen=True)
class Serialized:
    """A SELECT query's answer: its SPARQL JSON text (UTF-8), row count and pod graphs."""

    text: bytes
    count: int
    pods_found: list[str]

    def to_json(self) -> dict[str, Any]:
        """The search result of API.md §5; a small answer's rows as Python objects, a
        large one's as its text."""
        sparql: Any = (json.loads(self.text) if len(self.text) <= INLINE_MAX_BYTES
                       else Raw(self.text))
        return {"sparql_results": sparql, "result_count": self.count,
                "pods_found": list(self.pods_found)}


class _Collector(io.BytesIO):
    """The binary file pyoxigraph's serializer writes to, stopping it by raising."""

    def __init__(self, deadline: float, max_bytes: int) -> None:
        super().__init__()
        self.deadline = deadline
        self.max_bytes = max_bytes

    def write(self, data: Any) -> int:
        if time.monotonic() > self.deadline:
            raise SearchTimeout("The search ran out of time")
        if self.tell() + len(data) > self.max_bytes:
            raise TooLarge("more text than one result keeps")
        return super().write(data)


def collect(solutions: QuerySolutions, deadline: float, max_rows: int,
            max_bytes: int = MAX_TEXT_BYTES) -> Serialized:
    """Write `solutions` as SPARQL JSON and read its row count and pod graphs; TooLarge
    past `max_rows` rows or `max_bytes` of text, SearchTimeout past `deadline`."""
    out = _Collector(deadline, max_bytes)
    solutions.serialize(out, format=QueryResultsFormat.JSON)
    text = out.getvalue()
    with closing(sqlite3.connect(":memory:")) as db:
        db.set_progress_handler(lambda: time.monotonic() > deadline, _DEADLINE_STEPS)
        try:
            rows = db.execute(_SUMMARY, (text,)).fetchall()
        except sqlite3.OperationalError as exc:
            if time.monotonic() > deadline:
                raise SearchTimeout("The search ran out of time") from None
            # Not chained: the error's frames hold `solutions` (see search._collect).
            raise ColonyError(f"Cannot read the search's results: {exc}") from None
    count = rows[0][0]
    if count > max_rows:
        raise TooLarge(f"{count} rows, more than {max_rows}")
    return Serialized(text, count, [graph for _, graph in rows if graph is not None])
