"""How the daemon's process allocates memory: few malloc arenas, and free memory given back.

glibc gives each thread that allocates while another holds the main arena an arena of its
own, up to 8 per core; what a worker thread frees stays in its arena, so the daemon's
resident memory grew with the threads that ever ran a search or an edit (10M-triple store:
598 MB after 200 searches, 481 MB with two arenas). Two arenas bound that, as the query
workers' environment already does (MALLOC_ARENA_MAX=2). Call `limit_arenas` before any
thread starts.

What the store, the index and the parsers free stays in glibc's heap: after the searches of
a 10M-triple store, 119 MB of the daemon's 547 MB were free heap pages. `trim` gives
them back (malloc_trim); `GiveBack` does it once work has ended and none has for a while
(the job runner tells it of each job's end). Elsewhere than glibc trimming does nothing;
this module must never fail a start or a job.
"""

from __future__ import annotations

import ctypes
import ctypes.util
from collections.abc import Callable
from functools import cache
from typing import Final

import trio

from colony_actor.runtime import threads

# mallopt's parameter number for the arena limit (glibc malloc.h: M_ARENA_MAX).
_M_ARENA_MAX: Final = -8
ARENAS: Final = 2
# How long no work must have ended before what it freed is given back (GiveBack).
QUIET_SECONDS: Final = 1.0


@cache
def _libc_function(name: str, *argtypes: type) -> Callable[..., int] | None:
    """The C library's function `name` taking `argtypes` and returning an int; None where
    there is no such function."""
    library = ctypes.util.find_library("c")
    if library is None:
        return None
    try:
        function = getattr(ctypes.CDLL(library), name)
    except (OSError, AttributeError):
        return None
    function.argtypes = list(argtypes)
    function.restype = ctypes.c_int
    return function  # type: ignore[no-any-return]


def limit_arenas(count: int = ARENAS) -> bool:
    """Allow at most `count` malloc arenas in this process; whether the C library took
    it (False where it is not glibc)."""
    mallopt = _libc_function("mallopt", ctypes.c_int, ctypes.c_int)
    if mallopt is None:
        return False
    return bool(mallopt(_M_ARENA_MAX, count))


def trim() -> bool:
    """Give the free pages of every malloc arena back to the system; whether any were
    (False too where it is not glibc). Blocking: it walks the arenas, each under its lock
    (about a millisecond for a few hundred MB), so call it in a worker thread."""
    malloc_trim = _libc_function("malloc_trim", ctypes.c_size_t)
    if malloc_trim is None:
        return False
    return bool(malloc_trim(0))


class GiveBack:
    """Gives the memory that work freed back to the system once the work has ended and
    none has for a while; not while work keeps coming, since a trim holds each malloc
    arena's lock for a few milliseconds, which the event loop would wait for. `busy()`:
    whether work is under way now. Without it the daemon's resident memory stays at its
    largest job's high-water mark."""

    def __init__(self, busy: Callable[[], bool]) -> None:
        self._busy = busy
        self._ended = trio.Event()

    def ended(self) -> None:
        """A piece of work (a job) has ended."""
        self._ended.set()

    async def run(self, quiet: float = QUIET_SECONDS) -> None:
        """Give back, `quiet` seconds after work ended with no end since; until cancelled."""
        while True:
            await self._ended.wait()
            self._ended = trio.Event()
            await trio.sleep(quiet)
            if self._ended.is_set() or self._busy():
                continue  # more work: wait for its end
            await threads.run_sync(trim)
