"""Checkpoints of the index file's write-ahead log, on a connection of their own.

The writer's connection never checkpoints (schema: `wal_autocheckpoint` 0): SQLite's
automatic checkpoint runs inside the COMMIT that crosses its threshold, and with it the
fsync of the index file, while the writer holds the store's write lock. Behind a large
file's writeback that fsync took 0.6 to 2.4 s at 10 million triples, a stall of every
write and of the refresh it belonged to. Here a checkpoint is PASSIVE (it waits for no
reader and no writer) and runs in a worker thread of its own, every few seconds
(running.py): any write (a followed store write, a catch-up's batch) is copied so.

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

    def run(self) -> tuple[int, int]:
        """Copy what the write-ahead log holds into the file, as far as no reader still
        needs it: (frames in the log, frames copied in all). Quick when nothing is left
        to copy: SQLite then neither writes nor syncs."""
        with self._lock:
            if self._closed:
                return 0, 0
            if self._db is None:
                self._db = connect(self._path)
            _, logged, copied = self._db.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchone()
            return int(logged), int(copied)

    def close(self) -> None:
        with self._lock:
            self._closed = True
            if self._db is not None:
                self._db.close()
                self._db = None
