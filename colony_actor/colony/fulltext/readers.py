"""A pool of read-only connections to the index file, for searches in worker threads.

Each connection is bounded by the search's deadline while it is lent, and keeps a
temporary table of the depth keys it last ranked with. Blocking; this module must never
write to the index file itself (only to a connection's own temporary schema).
"""

from __future__ import annotations

import contextlib
import sqlite3
import threading
import time
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Final

from colony_actor.colony.fulltext.ranking import fits_sqlite
from colony_actor.colony.fulltext.schema import connect
from colony_actor.colony.fulltext.sealed import VIEW_IN_TEMP

# SQLite's virtual machine instructions between two looks at the deadline.
_DEADLINE_STEPS: Final = 10_000


class Readers:
    def __init__(self, path: Path) -> None:
        self._path = path
        self._idle: list[sqlite3.Connection] = []
        self._lock = threading.Lock()
        self._closed = False
        # Which depth keys each connection's temporary table holds (the cached dict itself).
        self._depths: dict[sqlite3.Connection, Mapping[str, list[int]]] = {}
        # The depth keys kept with the seal the index was opened with (sealed.py), which a
        # connection copies from the file instead of from Python.
        self.sealed: Mapping[str, list[int]] | None = None

    @contextlib.contextmanager
    def reading(self, deadline: float) -> Iterator[sqlite3.Connection]:
        """A connection whose statements stop (OperationalError) past `deadline`."""
        with self._lock:
            if self._closed:
                raise sqlite3.ProgrammingError("the index is closed")
            reader = self._idle.pop() if self._idle else None
        if reader is None:
            reader = connect(self._path)
            reader.execute("PRAGMA query_only=1")
        reader.set_progress_handler(lambda: int(time.monotonic() > deadline), _DEADLINE_STEPS)
        try:
            yield reader
        finally:
            reader.set_progress_handler(None, 0)
            if reader.in_transaction:  # a search's snapshot (exact.py) cut short
                reader.execute("ROLLBACK")
            with self._lock:
                if self._closed:
                    reader.close()
                else:
                    self._idle.append(reader)

    def load_depth_keys(self, reader: sqlite3.Connection,
                        depths: Mapping[str, list[int]]) -> bool:
        """Have the reader's temporary `depth_keys` hold `depths` (a view of those kept with
        the seal, else a table); False if some key does not fit SQLite's integers (the
        caller ranks in Python then)."""
        held = self._depths.get(reader)
        if held is depths:
            return True
        if not fits_sqlite(depths):
            return False
        # Only the connection's own temporary schema is written: a deferred transaction
        # takes no lock on the index file.
        reader.execute("PRAGMA query_only=0")
        try:
            reader.execute("BEGIN")
            try:
                if held is not None:
                    kind = "VIEW" if held is self.sealed else "TABLE"
                    reader.execute(f"DROP {kind} temp.depth_keys")
                if depths is self.sealed:
                    reader.execute(VIEW_IN_TEMP)
                else:
                    reader.execute("CREATE TEMP TABLE depth_keys("
                                   "iri TEXT NOT NULL, key INTEGER NOT NULL)")
                    reader.execute("CREATE INDEX temp.depth_keys_iri ON depth_keys(iri)")
                    reader.executemany("INSERT INTO temp.depth_keys(iri, key) VALUES (?, ?)",
                                       [(g, k) for g, keys in depths.items() for k in keys])
            except BaseException:
                reader.execute("ROLLBACK")  # the reader holds what it held
                raise
            reader.execute("COMMIT")
        finally:
            reader.execute("PRAGMA query_only=1")
        self._depths[reader] = depths
        return True

    def close(self) -> None:
        with self._lock:
            self._closed = True
            for reader in self._idle:
                reader.close()
            self._idle.clear()
            self._depths.clear()
