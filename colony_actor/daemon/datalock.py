"""One daemon per data directory: an exclusive lock on `<data_dir>/daemon.lock`.

The lock (`flock`) is taken before anything else touches the data directory and held for
the life of the process; the kernel drops it when the process ends, however it ends, so
a kill -9 never leaves a stale lock. The file holds the holder's pid, for the sentence a
second daemon prints. This module must never remove the lock file: a daemon waiting to
take it would then lock a file the next one no longer sees.
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import os
from pathlib import Path

from colony_actor.service.startup import Failure, StartupError, unusable

LOCK_FILE = "daemon.lock"


class DataDirLock:
    def __init__(self, path: Path, fd: int) -> None:
        self.path = path
        self._fd: int | None = fd

    @classmethod
    def take(cls, data_dir: Path) -> DataDirLock:
        """The lock of `data_dir`; StartupError if another process holds it."""
        path = data_dir / LOCK_FILE
        try:
            fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
        except OSError as exc:
            raise unusable("the lock file", path, exc) from None
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError as exc:
            holder = _holder(fd)
            os.close(fd)
            if exc.errno not in (errno.EWOULDBLOCK, errno.EAGAIN):
                raise unusable("the lock file", path, exc) from None
            who = f" (pid {holder})" if holder else ""
            raise StartupError(
                Failure.DATA_DIR_IN_USE,
                f"The data directory {data_dir} is in use by another colony-actor "
                f"daemon{who}: stop it first, or give this one its own --data-dir") from None
        try:
            os.ftruncate(fd, 0)
            os.pwrite(fd, f"{os.getpid()}\n".encode("ascii"), 0)
        except OSError:
            pass  # the pid only makes a second daemon's sentence more helpful
        return cls(path, fd)

    def release(self) -> None:
        fd, self._fd = self._fd, None
        if fd is not None:
            with contextlib.suppress(OSError):
                os.close(fd)


def _holder(fd: int) -> str:
    try:
        text = os.pread(fd, 32, 0).decode("ascii", "replace").strip()
    except OSError:
        return ""
    return text if text.isdigit() else ""
