"""A SELECT query's solutions as W3C SPARQL JSON text, never as Python rows.

An advanced query answers up to 100,000 rows. Made into Python dicts one term at a time,
they held the GIL for about 1.5 s in the worker thread, and the event loop waited for it
at each of its system calls (docs/benchmarks.md, §2). Here pyoxigraph writes the JSON
itself, handing over 8 KiB pieces, and SQLite's JSON functions count the rows and list the
distinct pod graphs; both run with the GIL released. The text then goes into the job's
result as it is (`json_pieces.Raw`), as far as the journal and the HTTP response.

`collect` must be called on the thread that ran the query, like every use of a pyoxigraph
solution iterator, and nothing it raises may hold the iterator (results.read_solutions
says why).
This module must never decode a result past `threads.INLINE_MAX_BYTES` into Python
objects, never copy the whole text with the GIL held, and never give a text other than
the rows path of results.py would give once parsed (tests/colony/search/test_sparql_json.py
compares them).
"""

from __future__ import annotations

import json
import re
import sqlite3
import time
from collections.abc import Iterator
from contextlib import closing, suppress
from dataclasses import dataclass
from typing import IO, Any, Final, cast

from pyoxigraph import QueryResultsFormat, QuerySolutions

from colony_actor.colony.errors import ColonyError, SearchTimeout
from colony_actor.colony.search.results import Results
from colony_actor.runtime.json_pieces import Raw

# Past this much text a query's answer is not kept as text: run.py takes the rows
# path, which stops at its row limit. 64 MiB is 100,000 rows of about 670 bytes.
MAX_TEXT_BYTES: Final = 64 * 1024 * 1024
# SQLite's virtual machine instructions between two looks at the deadline.
DEADLINE_STEPS: Final = 100_000
# The text goes into SQLite this much at a time, so that no copy holds the GIL for long.
_CHUNK_BYTES: Final = 1024 * 1024
# What pyoxigraph writes between two rows that bind at least one variable (it writes JSON
# without spaces): `},{"` and the first character of a variable's name. A string's
# closing quote after a value ending in "},{" is followed by `,` or `}`, never by a name;
# an opening quote inside a string is always escaped. A row that binds nothing (`{}`) is
# not counted, so the count is a lower bound, good for stopping early and nothing else
# (SQLite counts).
_ROW_SEPARATOR: Final = re.compile(rb'\},\{"[^,}]')
_SEPARATOR_TAIL: Final = 4  # a separator is 5 bytes: one cut by a piece's edge is found


# The row count on every row, with each distinct URI bound to ?graph in the order of its
# first row (as results.Results gives them); one row with a NULL graph when there is none.
# Each part is computed once (MATERIALIZED), over the text written to the `answer` table.
_SUMMARY_SQL = """
WITH doc(text) AS MATERIALIZED (SELECT CAST(text AS TEXT) FROM answer),
     total(count) AS MATERIALIZED (SELECT json_array_length(text, '$.results.bindings') FROM doc),
     graphs(graph, first) AS (
         SELECT row.value ->> '$.graph.value', min(row.key)
         FROM doc, json_each(doc.text, '$.results.bindings') AS row
         WHERE row.value ->> '$.graph.type' = 'uri' GROUP BY 1)
SELECT total.count, graphs.graph FROM total LEFT JOIN graphs ORDER BY graphs.first
"""


class TooLarge(ColonyError):
    """The answer is not to be kept as text: more rows or more text than one result
    keeps, or nested deeper than SQLite's JSON reads. The rows path answers it instead."""


@dataclass(frozen=True)
class Serialized:
    """A query's answer: its SPARQL JSON text (UTF-8), row count and pod graphs, and
    whether rows were left out past the row limit."""

    text: bytes
    count: int
    pods_found: list[str]
    truncated: bool = False

    @classmethod
    def of(cls, results: Results) -> Serialized:
        """The same answer as `results` gives (the rows path), as text."""
        out = results.to_json()
        text = json.dumps(out["sparql_results"], separators=(",", ":")).encode()
        return cls(text, out["result_count"], out["pods_found"], results.truncated)

    def to_json(self) -> dict[str, Any]:
        """The search result of API.md §5; a small answer's rows as Python objects, a
        large one's as its text."""
        # Here, not at the top: a query worker imports this module, and needs no trio.
        from colony_actor.runtime.threads import INLINE_MAX_BYTES

        sparql: Any = Raw(self.text)
        if len(self.text) <= INLINE_MAX_BYTES:
            # Triple terms nested hundreds deep stay as text, which is valid JSON.
            with suppress(RecursionError):
                sparql = json.loads(self.text)
        out = {"sparql_results": sparql, "result_count": self.count,
               "pods_found": list(self.pods_found)}
        if self.truncated:
            out["truncated"] = True
        return out


class Collector:
    """The binary file pyoxigraph's serializer writes to (it calls `write` and `flush`
    only), stopping it by raising. Pieces are kept apart, not grown into one buffer: each
    growth of a buffer of megabytes would copy it with the GIL held."""

    def __init__(self, deadline: float, max_bytes: int, max_rows: int) -> None:
        self.deadline = deadline
        self.room = max_bytes
        self.rows_past = max_rows  # separators past which there are more rows than this
        self.pieces: list[bytes] = []
        self._tail = b""

    def write(self, data: Any) -> int:
        if time.monotonic() > self.deadline:
            raise SearchTimeout("The search ran out of time")
        piece = bytes(data)
        self.room -= len(piece)
        if self.room < 0:
            raise TooLarge("more text than one result keeps")
        # Separators cut by a piece's edge are found in the last bytes written joined to
        # this piece; those bytes alone are too few to hold one, so none counts twice.
        joined = self._tail + piece
        self.rows_past -= len(_ROW_SEPARATOR.findall(joined))
        if self.rows_past < 0:
            raise TooLarge("more rows than one result keeps")
        self._tail = joined[-_SEPARATOR_TAIL:]
        self.pieces.append(piece)
        return len(piece)

    def flush(self) -> None:
        pass


def collect(solutions: QuerySolutions, deadline: float, max_rows: int,
            max_bytes: int = MAX_TEXT_BYTES) -> Serialized:
    """Write `solutions` as SPARQL JSON and read its row count and pod graphs; TooLarge
    past `max_rows` rows or `max_bytes` of text, SearchTimeout past `deadline`."""
    out = Collector(deadline, max_bytes, max_rows)
    solutions.serialize(cast(IO[bytes], out), format=QueryResultsFormat.JSON)
    return summarize(out.pieces, deadline, max_rows)


def summarize(pieces: list[bytes], deadline: float, max_rows: int) -> Serialized:
    """The answer of the text in `pieces`. Apart from `collect`, so that no frame of an
    error raised here holds the solutions."""
    failure: str | None = None
    with closing(sqlite3.connect(":memory:")) as db:
        db.set_progress_handler(lambda: time.monotonic() > deadline, DEADLINE_STEPS)
        try:
            db.execute("CREATE TABLE answer(text BLOB)")
            db.execute("INSERT INTO answer VALUES (zeroblob(?))", (sum(map(len, pieces)),))
            with db.blobopen("answer", "text", 1) as blob:
                for piece in _chunks(pieces):
                    blob.write(piece)
            rows = db.execute(_SUMMARY_SQL).fetchall()
        except sqlite3.Error as exc:
            failure = str(exc)
    # Raised out here, not in the handler: the sqlite3 error is not kept as its context.
    if failure is not None:
        if time.monotonic() > deadline:
            raise SearchTimeout("The search ran out of time")
        raise TooLarge(f"SQLite cannot read the answer: {failure}")
    count = rows[0][0]
    if count > max_rows:
        raise TooLarge(f"{count} rows, more than {max_rows}")
    text = b"".join(pieces)  # bytes.join copies without the GIL past 1 MB
    return Serialized(text, count, [graph for _, graph in rows if graph is not None])


def _chunks(pieces: list[bytes]) -> Iterator[bytes]:
    """The pieces joined into runs of about _CHUNK_BYTES (fewer, larger blob writes), one
    run at a time."""
    run: list[bytes] = []
    size = 0
    for piece in pieces:
        run.append(piece)
        size += len(piece)
        if size >= _CHUNK_BYTES:
            yield b"".join(run)
            run, size = [], 0
    if run:
        yield b"".join(run)
