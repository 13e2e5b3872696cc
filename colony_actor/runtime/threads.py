"""Worker threads for the daemon's blocking work, at a lower CPU priority than the loop.

Every blocking call (store, full-text index, journal, network files, key derivation) goes
through `run_sync` here instead of `trio.to_thread.run_sync` directly. The first time a
worker thread runs one, it lowers its own scheduling priority (Linux only; elsewhere
nothing changes), the way RocksDB lowers its compaction threads: on a busy machine, the
thread that answers requests (the event loop, at normal priority) then gets a CPU before
a refresh's parsing and indexing (bench/loop.py, benchmark 2, measures the effect).

A thread cannot raise its priority back, so trio's cached worker threads all stay
lowered; that is the point (no worker thread outranks the loop). This module must never
lower the event loop's own thread, and never fail a call because the priority could not
be changed.
"""

from __future__ import annotations

import os
import sys
import threading
from collections.abc import Callable
from typing import Final, TypeVar

import trio

T = TypeVar("T")

# Work on more bytes than this (hashing, parsing, scanning, joining) is done in a worker
# thread, never on the event loop: past it, even a copy into fresh memory takes the loop
# longer than a hand-off to a thread.
INLINE_MAX_BYTES: Final = 64 * 1024

# Added to a worker thread's nice value (capped at 19). CFS then gives a nice-0 thread
# about nine times a nice-10 thread's share of a contended CPU; an idle CPU still runs
# the worker at full speed.
WORKER_NICENESS: Final = 10

_state = threading.local()


async def run_sync(fn: Callable[..., T], *args: object,
                   limiter: trio.CapacityLimiter | None = None,
                   abandon_on_cancel: bool = False) -> T:
    """`trio.to_thread.run_sync(fn, *args)` in a worker thread of lowered priority."""
    return await trio.to_thread.run_sync(_lowered, fn, args, limiter=limiter,
                                         abandon_on_cancel=abandon_on_cancel)


async def run_sized(size: int, fn: Callable[..., T], *args: object,
                    inline_max: int = INLINE_MAX_BYTES) -> T:
    """`fn(*args)`, which works on `size` bytes (or characters): on the loop up to
    `inline_max` (a hand-off to a thread would cost more), in a worker thread past it.
    Work slower per byte than a copy or a hash (a lexer in Python) gives a lower bound."""
    if size <= inline_max:
        return fn(*args)
    return await run_sync(fn, *args)


def _lowered(fn: Callable[..., T], args: tuple[object, ...]) -> T:
    if not getattr(_state, "lowered", False):
        _state.lowered = True
        lower_this_thread()
    return fn(*args)


def lower_this_thread(niceness: int = WORKER_NICENESS) -> bool:
    """Lower the calling thread's CPU priority; False where that is not possible.

    Linux keeps a nice value per thread (setpriority on a thread id); elsewhere the same
    call would change the whole process, so nothing is done."""
    if sys.platform != "linux" or threading.current_thread() is threading.main_thread():
        return False
    tid = threading.get_native_id()
    try:
        current = os.getpriority(os.PRIO_PROCESS, tid)
        os.setpriority(os.PRIO_PROCESS, tid, min(19, current + niceness))
    except OSError:
        return False
    return True
