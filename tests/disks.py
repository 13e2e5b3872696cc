"""A small filesystem for tests of a full disk: a tmpfs mounted for the test, and filling it.

Mounting needs Linux and root (CI runs as root on this kind of machine); elsewhere the
test is skipped with the reason. A tmpfs gives ENOSPC exactly as a full disk does (an
`RLIMIT_FSIZE` would give EFBIG instead, which is not what an operator meets).
"""

from __future__ import annotations

import contextlib
import errno
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest


@contextlib.contextmanager
def small_disk(path: Path, size: str = "20m") -> Iterator[Path]:
    """A tmpfs of `size` mounted at `path` (created), unmounted after."""
    if not sys.platform.startswith("linux") or os.geteuid() != 0:
        pytest.skip("mounting a small filesystem needs Linux and root")
    path.mkdir(parents=True, exist_ok=True)
    done = subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size},mode=0700", "tmpfs",
                           str(path)], capture_output=True, text=True, check=False)
    if done.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {done.stderr.strip() or done.returncode}")
    try:
        yield path
    finally:
        # Lazy: a store still open in this process must not keep the mount.
        subprocess.run(["umount", "-l", str(path)], check=False)


def fill(directory: Path) -> Path:
    """Fill the filesystem of `directory` to its last byte; the filler file (unlink it to
    free the space)."""
    filler = directory / "filler"
    fd = os.open(filler, os.O_WRONLY | os.O_CREAT, 0o600)
    try:
        block = b"\0" * 65536
        while True:
            try:
                os.write(fd, block)
            except OSError as exc:
                assert exc.errno == errno.ENOSPC, exc
                if len(block) == 1:
                    break
                block = block[:len(block) // 2]
    finally:
        os.close(fd)
    return filler


@contextlib.contextmanager
def no_new_descriptors() -> Iterator[None]:
    """While it lasts, this process can open no file: its soft descriptor limit is 3
    (what is already open stays usable), as when connections took every descriptor."""
    import resource

    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (3, hard))
    try:
        yield
    finally:
        resource.setrlimit(resource.RLIMIT_NOFILE, (soft, hard))
