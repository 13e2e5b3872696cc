"""How the daemon's process allocates memory: few malloc arenas.

glibc gives each thread that allocates while another holds the main arena an arena of its
own, up to 8 per core; what a worker thread frees stays in its arena, so the daemon's
resident memory grew with the threads that ever ran a search or an edit (10M-triple store:
598 MB after 200 searches, 481 MB with two arenas). Two arenas bound that, as the query
workers' environment already does (MALLOC_ARENA_MAX=2). Call `limit_arenas` before any
thread starts. Elsewhere than glibc it does nothing; this module must never fail a start.
"""

from __future__ import annotations

import ctypes
import ctypes.util
from typing import Final

# mallopt's parameter number for the arena limit (glibc malloc.h: M_ARENA_MAX).
_M_ARENA_MAX: Final = -8
ARENAS: Final = 2


def limit_arenas(count: int = ARENAS) -> bool:
    """Allow at most `count` malloc arenas in this process; whether the C library took
    it (False where it is not glibc)."""
    name = ctypes.util.find_library("c")
    if name is None:
        return False
    try:
        mallopt = ctypes.CDLL(name).mallopt
    except (OSError, AttributeError):
        return False
    mallopt.argtypes = [ctypes.c_int, ctypes.c_int]
    mallopt.restype = ctypes.c_int
    return bool(mallopt(_M_ARENA_MAX, count))
