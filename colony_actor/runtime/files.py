"""Atomic file writes: a reader sees the old content or the new one, never a torn file.

A leaf module (it imports nothing of the project) so that every layer may use it. It
must never be called on the event loop's thread for data that can be large: callers run
it in a worker thread (`threads.run_sync`), or at start-up before the loop serves anyone.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from pathlib import Path


def write_atomic(path: Path, data: bytes, *, mode: int = 0o600) -> None:
    """Write `data` to `path` through a temporary file in the same directory, fsync it,
    rename it over `path`, then fsync the directory so the rename survives a crash."""
    fd, tmp_name = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as handle:
            os.fchmod(handle.fileno(), mode)
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp_name, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp_name)
        raise
    fsync_dir(path.parent)


def fsync_dir(directory: Path) -> None:
    # Not every filesystem lets a directory be opened for fsync; durability is then the
    # filesystem's own.
    with contextlib.suppress(OSError):
        fd = os.open(directory, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)
