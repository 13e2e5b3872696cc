"""The local network's files, opened as peer data: only regular files, never through a
symbolic link, never blocking, never read past a cap, never created outside the directory.

Anyone sharing the network directory can put anything in it: a FIFO where a record is
read (a blocking open or read would wait for a writer for ever), a link to `/dev/zero`
(an unbounded read), a link where a lock file or a kind directory is expected (a write
would create files elsewhere). So every file is opened relative to its kind directory's
descriptor, that directory and the file both with `O_NOFOLLOW`, the file with
`O_NONBLOCK` too, and `fstat` must say "regular file" before a byte is read.

Blocking: run every function here in a worker thread. This module must never follow a
symbolic link at a record, a lock file or a kind directory, never read from anything but
a regular file, never read more than its caller's cap, and never leave a descriptor open
on an error.
"""

from __future__ import annotations

import contextlib
import errno
import os
import secrets
import stat
from pathlib import Path
from typing import Final

_NOFOLLOW: Final = os.O_NOFOLLOW | os.O_CLOEXEC
# Opening a FIFO or a device without O_NONBLOCK can wait for ever (a FIFO, for a writer).
_FILE: Final = _NOFOLLOW | os.O_NONBLOCK
_READ_STEP: Final = 1 << 20


class Refused(Exception):
    """A file that is not what it must be (a link, a FIFO, too large...): `name` and `why`."""

    def __init__(self, name: str, why: str) -> None:
        super().__init__(f"{name} {why}")
        self.name = name
        self.why = why


def _opened(path: str, flags: int, mode: int = 0, *, dir_fd: int | None = None,
            name: str = "") -> int:
    try:
        return os.open(path, flags, mode, dir_fd=dir_fd)
    except OSError as exc:
        if exc.errno == errno.ELOOP:
            raise Refused(name or path, "is a symbolic link") from None
        raise


def open_directory(parent: Path, name: str) -> int | None:
    """A descriptor of the directory `parent/name` (None if there is none), which must not
    be a symbolic link."""
    try:
        fd = _opened(str(parent / name), os.O_RDONLY | os.O_DIRECTORY | _NOFOLLOW, name=name)
    except FileNotFoundError:
        return None
    except NotADirectoryError:
        # O_NOFOLLOW with O_DIRECTORY answers ENOTDIR for a link: say which it is.
        link = stat.S_ISLNK(os.lstat(parent / name).st_mode)
        raise Refused(name, "is a symbolic link" if link else "is not a directory") from None
    return fd


def _regular(fd: int, name: str) -> os.stat_result:
    """`fd`'s status; closes it and refuses if it is not a regular file."""
    try:
        status = os.fstat(fd)
    except BaseException:
        os.close(fd)
        raise
    if not stat.S_ISREG(status.st_mode):
        os.close(fd)
        raise Refused(name, "is not a regular file")
    return status


def read_capped(dir_fd: int, name: str, cap: int) -> bytes | None:
    """The bytes of the regular file `name` in `dir_fd` (None if there is none), refused
    unread if it holds more than `cap` bytes."""
    try:
        fd = _opened(name, os.O_RDONLY | _FILE, dir_fd=dir_fd)
    except FileNotFoundError:
        return None
    status = _regular(fd, name)
    try:
        if status.st_size > cap:
            raise Refused(name, f"is {status.st_size} bytes, more than the {cap} allowed")
        # The file may grow while it is read: read one byte past the cap at most.
        parts: list[bytes] = []
        left, want = cap + 1, status.st_size + 1
        while left > 0:
            part = os.read(fd, min(left, want))
            if not part:
                break
            parts.append(part)
            left, want = left - len(part), _READ_STEP
    finally:
        os.close(fd)
    if left <= 0:
        raise Refused(name, f"grew past the {cap} bytes allowed while it was read")
    return b"".join(parts)


def read_head(dir_fd: int, name: str, size: int) -> bytes | None:
    """At most the first `size` bytes of the regular file `name` in `dir_fd` (None if
    there is none)."""
    try:
        fd = _opened(name, os.O_RDONLY | _FILE, dir_fd=dir_fd)
    except FileNotFoundError:
        return None
    _regular(fd, name)
    try:
        return os.read(fd, size)
    finally:
        os.close(fd)


def open_lock(dir_fd: int, name: str) -> int:
    """A descriptor of the lock file `name` in `dir_fd`, created (readable and writable by
    everyone sharing the directory, as the umask allows) if missing; never a link's target."""
    fd = _opened(name, os.O_RDWR | os.O_CREAT | _FILE, 0o666, dir_fd=dir_fd)
    _regular(fd, name)
    return fd


def replace_file(dir_fd: int, name: str, data: bytes, mode: int) -> None:
    """Write `data` to `name` in `dir_fd` atomically: through a fresh temporary file in the
    same directory (created exclusively, so never through a link), fsynced, renamed over
    `name` (which replaces a link there rather than following it), then the directory
    fsynced so that the rename survives a crash."""
    temporary = f".{name}.{secrets.token_hex(8)}.tmp"
    fd = _opened(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL | _FILE, mode,
                 dir_fd=dir_fd)
    try:
        try:
            os.fchmod(fd, mode)
            view = memoryview(data)
            while view:
                view = view[os.write(fd, view):]
            os.fsync(fd)
        finally:
            os.close(fd)
        os.replace(temporary, name, src_dir_fd=dir_fd, dst_dir_fd=dir_fd)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(temporary, dir_fd=dir_fd)
        raise
    # Not every filesystem lets a directory be fsynced; durability is then its own.
    with contextlib.suppress(OSError):
        os.fsync(dir_fd)
