"""Many short blocking steps done in one worker-thread call.

Tasks that each need a short blocking step (a record read, a downloaded pod stored) submit
an item to a `Batches`; whoever gets its lock runs the step for every item submitted
meanwhile, in one `threads.run_sync` call, and each submitter then reads its own outcome
off its item. One thread call per item would cost the event loop a dispatch and a wake-up
apiece; a refresh keeps dozens in flight.

This module must never leave a submitter waiting for an item nobody will handle, never
give one submitter another's outcome, and never fail the other items of a batch because
the submitter that was to run it was cancelled first.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Generic, Protocol, TypeVar

import trio

from colony_actor.runtime import threads


class Item(Protocol):
    """What a step sets on each item it handles: `done`, and `error` if it failed."""

    done: bool
    error: Exception | None


ItemT = TypeVar("ItemT", bound=Item)


class Batches(Generic[ItemT]):
    def __init__(self, step: Callable[[list[ItemT]], None], *,
                 failed: Callable[[ItemT, Exception], Exception],
                 lock: trio.Lock | None = None,
                 limiter: trio.CapacityLimiter | None = None) -> None:
        """`step(batch)` runs in a worker thread and gives every item an outcome (an item
        it leaves undone gets `failed(item, error)`, as do all when no thread call can be
        made). `lock` may be shared with other work that must not overlap a step."""
        self._step = step
        self._failed = failed
        self._lock = lock or trio.Lock()
        self._limiter = limiter
        self._waiting: list[ItemT] = []
        # The batch of the step in progress (one at a time: the lock), and those of its
        # items whose submitter was cancelled meanwhile: if the step is cancelled before
        # its thread call, they are not put back. Both are emptied as the step ends.
        self._held: list[ItemT] = []
        self._dropped: list[ItemT] = []

    @property
    def waiting(self) -> int:
        """Items submitted and not yet taken into a step."""
        return len(self._waiting)

    async def run(self, item: ItemT) -> None:
        """Return once `item` is done; its outcome is on it. A cancelled caller's item is
        dropped if no step has taken it yet. An item is submitted once: one already
        waiting, held by a step or done is refused (ValueError), for two submitters of
        one item would share its outcome."""
        if item.done:
            raise ValueError("this item is already done")
        if _among(item, self._waiting) or _among(item, self._held):
            raise ValueError("this item is already submitted")
        self._waiting.append(item)
        try:
            async with self._lock:
                if not item.done:
                    await self._run_waiting(item)
        except BaseException:
            if not item.done:
                if _among(item, self._waiting):
                    self._waiting = [other for other in self._waiting if other is not item]
                elif _among(item, self._held):  # another submitter's step holds it
                    self._dropped.append(item)
            raise

    async def _run_waiting(self, runner: ItemT) -> None:
        batch, self._waiting = self._waiting, []
        self._held = batch
        try:
            await threads.run_sync(self._step, batch, limiter=self._limiter)
        except Exception as exc:  # no thread to be had, or the step itself broke
            self._fail_undone(batch, exc)
        except BaseException:
            # Cancelled before the call ran: the others still wait for their items, and
            # the next of them to get the lock runs them; a cancelled submitter's item
            # is left out (its work would be done for nobody).
            self._waiting[:0] = [item for item in batch if item is not runner
                                 and not item.done and not _among(item, self._dropped)]
            raise
        else:
            self._fail_undone(batch, RuntimeError("the step left it undone"))
        finally:
            self._held, self._dropped = [], []

    def _fail_undone(self, batch: list[ItemT], exc: Exception) -> None:
        for item in batch:
            if not item.done:
                item.error = item.error or self._failed(item, exc)
                item.done = True


def _among(item: object, items: list[ItemT]) -> bool:
    """Whether `item` itself is in `items` (by identity: items may compare equal)."""
    return any(other is item for other in items)
