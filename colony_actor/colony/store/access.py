"""The async way to the store, and its one owner: reads in worker threads, writes under one
lock, and the healing of storage faults.

Every write (an edit, the replace step of a refresh, the bookkeeping step of an upload)
holds `lock` across its worker-thread call, and is one store transaction, so an edit made
while a sync runs is never lost nor half-applied; callers never hold the lock across
network I/O. Work under the lock is O(the pod at hand), never O(all pods).

A storage failure is raised as a StorageError (507 out of space, 503 otherwise) and
recorded as the store's fault. RocksDB then refuses every write until the store is
reopened, even once the cause is gone; so while a fault lasts the owner reopens the store
(`GraphStore.reopen`) before the next write and from a periodic probe (`watch`): a store
out of space only once its filesystem has room again (one `statvfs`), any attempt at most
once per back-off period. A reopen holds the write lock (writes wait for it) and closes
the reader gate: it waits for the reads running and holds new ones back, so no reader
ever meets a closed store. The store's directory stays where it is. This module must
never block the event loop.
"""

from __future__ import annotations

import contextlib
import math
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any, Final, TypeVar

import trio

from colony_actor.colony.errors import StorageError, StorageUnavailable
from colony_actor.colony.store.faults import OUT_OF_SPACE, Fault, free_bytes
from colony_actor.colony.store.graph import GraphStore
from colony_actor.runtime import threads

T = TypeVar("T")

STORE_THREADS: Final = 4
# While a fault lasts, the probe looks this often whether the store can be healed.
PROBE_SECONDS: Final = 1.0
# Between two attempts to heal: doubling from the first to the last figure, back to the
# first once a write succeeds.
RETRY_FIRST_SECONDS: Final = 0.5
RETRY_MAX_SECONDS: Final = 10.0
# Free bytes the filesystem needs before a store that ran out of space is reopened (the
# reopen itself writes: a new log, the memory table flushed).
ROOM_BYTES: Final = 1 << 20


@dataclass(frozen=True)
class StorageStatistics:
    fault: Fault | None  # the storage failure last met, until a write or a reopen succeeds
    writable: bool  # False while a read-only handle stands in for the store
    follower_usable: bool  # False while the full-text index is set aside
    reopens: int  # reopens that succeeded since start
    failed_reopens: int
    reading: int  # reads in progress


class _ReaderGate:
    """Reads share the store; a reopen waits for those running and holds new ones back."""

    def __init__(self) -> None:
        self.readers = 0
        self._open = trio.Event()
        self._open.set()
        self._idle = trio.Event()
        self._idle.set()
        self._shut = False

    @asynccontextmanager
    async def reading(self) -> AsyncIterator[None]:
        while not self._open.is_set():
            await self._open.wait()
        if self._shut:
            raise StorageUnavailable("The store is closed: the daemon is stopping")
        self.readers += 1
        if self.readers == 1:
            self._idle = trio.Event()
        try:
            yield
        finally:
            self.readers -= 1
            if self.readers == 0:
                self._idle.set()

    @asynccontextmanager
    async def closed(self, *, for_good: bool = False) -> AsyncIterator[None]:
        """Hold new reads back and wait for those running; let them in again after (or,
        `for_good`, refuse them)."""
        self._open = trio.Event()
        try:
            await self._idle.wait()
            yield
        finally:
            self._shut = self._shut or for_good
            self._open.set()


class StoreAccess:
    def __init__(self, graph: GraphStore) -> None:
        self.graph = graph
        # Shared with the work that stores downloaded pods in groups (runtime/batching).
        self.lock = trio.Lock()
        self.limiter = trio.CapacityLimiter(STORE_THREADS)
        self._closed = False
        self._gate = _ReaderGate()
        self._next_try = -math.inf
        self._delay = RETRY_FIRST_SECONDS
        self._reopens = 0
        self._failed_reopens = 0
        # The last attempt to reopen the store failed: writes are refused until the next.
        self._unhealed = False

    async def read(self, fn: Callable[..., T], *args: Any) -> T:
        """`fn(*args)` in a worker thread: a read, which needs no lock. StorageError if
        the store fails."""
        async with self._gate.reading():
            return await self._run(fn, args)

    async def write(self, fn: Callable[..., T], *args: Any) -> T:
        """`fn(*args)` in a worker thread, under the write lock, the store healed first
        if it can be. StorageError (nothing written) if the store fails."""
        # Held across the thread call; a cancelled caller still waits for the thread, so a
        # write is never left running unlocked.
        async with self.lock:
            await self._heal()
            out = await self._run(fn, args)
            if not self.faulty:
                self._next_try, self._delay = -math.inf, RETRY_FIRST_SECONDS
            return out

    async def _run(self, fn: Callable[..., T], args: tuple[Any, ...]) -> T:
        try:
            return await threads.run_sync(fn, *args, limiter=self.limiter)
        except OSError as exc:  # a read of the store (its writes raise StorageError)
            error = self.graph.failed(exc)
        # Outside the handler: the failure's traceback holds frames that held the store.
        raise error

    # -- healing ---------------------------------------------------------------------

    @property
    def faulty(self) -> bool:
        """Whether the store has a fault, or its follower is set aside."""
        return not self._closed and (self.graph.fault is not None
                                     or not self.graph.follower_usable)

    async def heal(self) -> None:
        """Heal the store now if it has a fault and an attempt is due; StorageError if
        the attempt fails."""
        async with self.lock:
            await self._heal()

    async def watch(self, *, task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED
                    ) -> None:
        """The probe: every PROBE_SECONDS, heal the store if it needs it. Runs until
        cancelled."""
        task_status.started()
        while not self._closed:
            await trio.sleep(PROBE_SECONDS)
            if self.faulty:
                with contextlib.suppress(StorageError):  # recorded; tried again later
                    await self.heal()

    async def _heal(self) -> None:
        """(The write lock held.) Reopen a store with a fault, or have a follower that was
        set aside catch up, if an attempt is due. StorageError, the fault left in place,
        if the store could not be reopened (or the last attempt failed and the next is not
        due): the write that asked is not tried."""
        if not self.faulty:
            return
        if trio.current_time() < self._next_try:
            fault = self.graph.fault
            if self._unhealed and fault is not None:
                # The store is known to be broken: its own error now (a full disk's, say)
                # would misstate why.
                raise fault.error()
            return
        fault = self.graph.fault
        if not await threads.run_sync(self._has_room, fault, limiter=self.limiter):
            return
        self._next_try = trio.current_time() + self._delay
        self._delay = min(self._delay * 2, RETRY_MAX_SECONDS)
        if fault is None:
            await threads.run_sync(self.graph.resume_follower, limiter=self.limiter)
            return
        async with self._gate.closed():
            try:
                await threads.run_sync(self.graph.reopen, limiter=self.limiter)
            except StorageError:
                self._failed_reopens += 1
                self._unhealed = True
                raise
        self._reopens += 1
        self._unhealed = False

    def _has_room(self, fault: Fault | None) -> bool:
        """Whether a store out of space (or a follower to rebuild) has room again."""
        if fault is not None and fault.kind != OUT_OF_SPACE:
            return True
        try:
            return free_bytes(self.graph.path) >= ROOM_BYTES
        except OSError:
            return True  # the attempt tells what is wrong

    def statistics(self) -> StorageStatistics:
        return StorageStatistics(self.graph.fault, self.graph.writable,
                                 self.graph.follower_usable, self._reopens,
                                 self._failed_reopens, self._gate.readers)

    async def aclose(self) -> None:
        async with self.lock:
            if not self._closed:
                self._closed = True
                async with self._gate.closed(for_good=True):
                    await threads.run_sync(self.graph.close)
