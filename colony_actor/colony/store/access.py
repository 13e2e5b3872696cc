"""The async way to the store: blocking reads in worker threads, writes under one lock.

Every write (an edit, the replace step of a refresh, the bookkeeping step of an upload)
holds `lock` across its worker-thread call, and is one store transaction, so an edit made
while a sync runs is never lost nor half-applied; callers never hold the lock across
network I/O. Work under the lock is O(the pod at hand), never O(all pods). This module
must never block the event loop.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Final, TypeVar

import trio

from colony_actor.colony.store.graph import GraphStore
from colony_actor.runtime import threads

T = TypeVar("T")

STORE_THREADS: Final = 4


class StoreAccess:
    def __init__(self, graph: GraphStore) -> None:
        self.graph = graph
        # Shared with the work that stores downloaded pods in groups (runtime/batching).
        self.lock = trio.Lock()
        self.limiter = trio.CapacityLimiter(STORE_THREADS)
        self._closed = False

    async def read(self, fn: Callable[..., T], *args: Any) -> T:
        """`fn(*args)` in a worker thread: a read, which needs no lock."""
        return await threads.run_sync(fn, *args, limiter=self.limiter)

    async def write(self, fn: Callable[..., T], *args: Any) -> T:
        """`fn(*args)` in a worker thread, under the write lock."""
        # Held across the thread call; a cancelled caller still waits for the thread, so a
        # write is never left running unlocked.
        async with self.lock:
            return await threads.run_sync(fn, *args, limiter=self.limiter)

    async def aclose(self) -> None:
        async with self.lock:
            if not self._closed:
                self._closed = True
                await threads.run_sync(self.graph.close)
