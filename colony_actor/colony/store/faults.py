"""What a storage failure is: out of space or otherwise unavailable, and what it tells a user.

pyoxigraph reports every I/O failure of its RocksDB store as an `OSError` whose text, not
errno, says what happened (`IO error: No space left on device: While appending to file:
.../000008.log`); SQLite says `database or disk is full`. `classify` turns such an error
into a `Fault`, and `Fault.error` into the ColonyError the HTTP layer answers with (507 out
of space, 503 otherwise). Pure values and text, plus `free_bytes` (one `statvfs`); this
module must never open, write or reopen anything.
"""

from __future__ import annotations

import errno
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Final

from colony_actor.colony.errors import StorageError, StorageFull, StorageUnavailable

OUT_OF_SPACE: Final = "out_of_space"
UNAVAILABLE: Final = "unavailable"
# How the store and SQLite word "no room": ENOSPC, EDQUOT, SQLITE_FULL.
_NO_ROOM: Final = ("no space left on device", "disk quota exceeded",
                   "database or disk is full")
# Seconds after which a 503 is worth retrying: the owner of the store retries its reopen
# at least this often while the fault lasts.
RETRY_AFTER: Final = 5
CAUSE_MAX: Final = 300


@dataclass(frozen=True)
class Fault:
    """A storage failure of the data directory `directory`: its kind (OUT_OF_SPACE or
    UNAVAILABLE) and its cause as the storage worded it."""
    kind: str
    cause: str
    directory: str

    @property
    def message(self) -> str:
        """A sentence for the user: what happened and what to do."""
        if self.kind == OUT_OF_SPACE:
            return (f"The disk holding the data directory {self.directory} is full: nothing "
                    "was written. Free some space on it; colony-actor resumes writing by "
                    "itself, with no restart.")
        return (f"The store cannot be used right now ({self.cause}): nothing was written. "
                f"colony-actor reopens it by itself; try again in {RETRY_AFTER} seconds.")

    def error(self) -> StorageError:
        if self.kind == OUT_OF_SPACE:
            return StorageFull(self.message)
        return StorageUnavailable(self.message, retry_after=RETRY_AFTER)


def classify(exc: BaseException, directory: Path) -> Fault:
    """The fault an error of the storage in `directory` (an OSError, sqlite3.Error...)
    stands for."""
    cause = str(exc).strip() or type(exc).__name__
    full = getattr(exc, "errno", None) in (errno.ENOSPC, errno.EDQUOT) or no_room(cause)
    return Fault(OUT_OF_SPACE if full else UNAVAILABLE, cause[:CAUSE_MAX], str(directory))


def no_room(text: str) -> bool:
    """Whether an error's text says the filesystem is out of space."""
    return any(words in text.lower() for words in _NO_ROOM)


def free_bytes(path: Path) -> int:
    """Bytes an unprivileged writer may still use on the filesystem of `path`."""
    stat = os.statvfs(path)
    return stat.f_bavail * stat.f_frsize
