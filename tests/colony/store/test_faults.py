"""What a storage failure is, as the store and SQLite word it, and what a user is told."""

from __future__ import annotations

import errno
import sqlite3
from pathlib import Path

from colony_actor.colony.errors import StorageFull, StorageUnavailable
from colony_actor.colony.store.faults import (
    OUT_OF_SPACE,
    RETRY_AFTER,
    UNAVAILABLE,
    classify,
    free_bytes,
    no_room,
)

DATA = Path("/var/lib/colony")
# As pyoxigraph 0.5 raises them (an OSError without errno, its text from RocksDB).
ROCKSDB_FULL = OSError("IO error: No space left on device: While appending to file: "
                       "/var/lib/colony/store/000008.log: No space left on device")
ROCKSDB_NO_FD = OSError("IO error: While open a file for random read: "
                        "/var/lib/colony/store/000012.sst: Too many open files")


def test_out_of_space_in_every_wording() -> None:
    for exc in (ROCKSDB_FULL, OSError(errno.ENOSPC, "No space left on device"),
                OSError(errno.EDQUOT, "Disk quota exceeded"),
                sqlite3.OperationalError("database or disk is full")):
        assert classify(exc, DATA).kind == OUT_OF_SPACE, exc
    assert no_room("OperationalError: database or disk is full")
    assert not no_room("OperationalError: database is locked")


def test_out_of_space_says_what_to_do_and_answers_507() -> None:
    fault = classify(ROCKSDB_FULL, DATA)
    error = fault.error()
    assert isinstance(error, StorageFull)
    assert "/var/lib/colony" in str(error) and "Free some space" in str(error)
    assert "nothing was written" in str(error) and "no restart" in str(error)


def test_anything_else_is_unavailable_and_worth_a_retry() -> None:
    fault = classify(ROCKSDB_NO_FD, DATA)
    assert fault.kind == UNAVAILABLE
    error = fault.error()
    assert isinstance(error, StorageUnavailable) and error.retry_after == RETRY_AFTER
    assert "Too many open files" in str(error) and f"{RETRY_AFTER} seconds" in str(error)
    assert classify(OSError(), DATA).cause == "OSError"  # never an empty sentence
    assert len(classify(OSError("x" * 5000), DATA).cause) < 1000


def test_free_bytes_of_a_real_filesystem(tmp_path: Path) -> None:
    assert free_bytes(tmp_path) > 0
