"""Checkpoints of the index file's write-ahead log, on a connection of their own.

The writer's connection never checkpoints (schema: `wal_autocheckpoint` 0): SQLite's
automatic checkpoint runs inside the COMMIT that crosses its threshold, and with it the
fsync of the index file, while the writer holds the store's write lock. Behind a large
file's writeback that fsync took 0.6 to 2.4 s at 10 million triples, a stall of every
write and of the refresh it belonged to. Here a checkpoint is PASSIVE (it waits for no
reader and no writer) and runs in a worker thread of its own, every few seconds once the
index was written (running.py).

Blocking; this module must never write rows, nor run under the store's write lock.
"""

from __future__ import annotations

import sqlite3
import threading
from pathlib import Path

from colony_actor.colony.fulltext.schema import connect


class Checkpointer:
    def __init__(self, path: Path) -> None:
        self._path = path
        self._db: sqlite3.Connection | None = None
        self._lock = threading.Lock()
        self._closed = False
        # The index's version when the log was last copied whole.
        self._copied_at: int | None = None

    def run(self, version: int) -> tuple[int, int] | None:
        """Copy what the write-ahead log holds into the file, as far as no reader still
        needs it, unless it was copied whole at this `version` of the index: (frames in
        the log, frames copied), or None if there was nothing to do."""
        with self._lock:
            if self._closed or version == self._copied_at:
                return None
            if self._db is None:
                self._db = connect(self._path)
            _, logged, copied = self._db.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchone()
            if copied == logged and version % 2 == 0:
                self._copied_at = version
            return int(logged), int(copied)

    def close(self) -> None:
        with self._lock:
            self._closed = True
            if self._db is not None:
                self._db.close()
                self._db = None
