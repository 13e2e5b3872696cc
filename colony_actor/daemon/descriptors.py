"""The process's file-descriptor limit: raise the soft limit to the hard one at start-up, and
count the descriptors open now. The connection cap is derived from both.

Raising happens before the store opens: RocksDB (inside pyoxigraph) sizes its table cache
from the soft limit it sees then. Nothing here may fail start-up: a limit that cannot be
raised stays as it was, and a count that cannot be taken is None. This module never logs.
"""

from __future__ import annotations

import os
import resource
from dataclasses import dataclass

# Where the open descriptors are listed: Linux, then the BSDs and macOS.
_FD_DIRS = ("/proc/self/fd", "/dev/fd")
# Tried in turn when the hard limit is "unlimited", which no kernel grants as a soft limit
# (Linux caps it at fs.nr_open, macOS at OPEN_MAX).
_UNLIMITED_TRIES = (1 << 20, 1 << 16, 10240)


@dataclass(frozen=True)
class DescriptorLimit:
    """The soft limit found at start-up, the soft limit now, and the hard limit
    (`resource.RLIM_INFINITY` when unlimited)."""

    soft_before: int
    soft: int
    hard: int

    @property
    def raised(self) -> bool:
        return self.soft > self.soft_before


def raise_soft_limit() -> DescriptorLimit:
    """Raise the soft RLIMIT_NOFILE as far as the hard limit lets it; never raises."""
    try:
        soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    except (OSError, ValueError):
        return DescriptorLimit(-1, -1, -1)
    if soft in (hard, resource.RLIM_INFINITY):
        return DescriptorLimit(soft, soft, hard)
    if hard == resource.RLIM_INFINITY:
        targets = [target for target in _UNLIMITED_TRIES if target > soft]
    else:
        targets = [hard]
    for target in targets:
        try:
            resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))
        except (OSError, ValueError):
            continue
        return DescriptorLimit(soft, target, hard)
    return DescriptorLimit(soft, soft, hard)


def open_count() -> int | None:
    """How many descriptors the process holds now, or None where it cannot be told."""
    for directory in _FD_DIRS:
        try:
            # Listing the directory opens one descriptor of its own: not counted.
            return len(os.listdir(directory)) - 1
        except OSError:
            continue
    return None
