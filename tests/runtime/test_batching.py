"""Tests for batching.Batches: grouped worker-thread steps, each submitter its own outcome."""

from __future__ import annotations

from dataclasses import dataclass

import pytest
import trio
import trio.testing

from colony_actor.runtime.batching import Batches


@dataclass(eq=False)
class Square:
    value: int
    done: bool = False
    result: int | None = None
    error: Exception | None = None


class Stepper:
    """A real step: squares each item in a worker thread, and records the batches."""

    def __init__(self, *, undone: int | None = None, broken: bool = False) -> None:
        self.batches: list[list[int]] = []
        self.undone = undone
        self.broken = broken

    def __call__(self, batch: list[Square]) -> None:
        self.batches.append([item.value for item in batch])
        if self.broken:
            raise ValueError("step broke")
        for item in batch:
            if item.value == self.undone:
                continue
            if item.value < 0:
                item.error = ValueError(f"negative: {item.value}")
            else:
                item.result = item.value * item.value
            item.done = True


def failed(item: Square, exc: Exception) -> Exception:
    return LookupError(f"{item.value} not squared: {exc}")


async def submit_all(batches: Batches[Square], values: list[int]) -> dict[int, Square]:
    items = {value: Square(value) for value in values}
    async with trio.open_nursery() as nursery:
        for item in items.values():
            nursery.start_soon(batches.run, item)
    return items


async def test_items_submitted_together_share_steps_and_keep_their_outcomes() -> None:
    step = Stepper()
    items = await submit_all(Batches(step, failed=failed), [*range(30), -1, -2])
    assert sum(len(batch) for batch in step.batches) == 32
    assert len(step.batches) < 32  # grouped: the first alone, then those that waited
    for value, item in items.items():
        assert item.done
        if value < 0:
            assert isinstance(item.error, ValueError) and str(value) in str(item.error)
        else:
            assert item.error is None and item.result == value * value


async def test_a_broken_step_fails_every_item_of_its_batch_saying_why() -> None:
    items = await submit_all(Batches(Stepper(broken=True), failed=failed), [1, 2, 3])
    for value, item in items.items():
        assert isinstance(item.error, LookupError)
        assert f"{value} not squared: step broke" in str(item.error)


async def test_an_item_the_step_leaves_undone_fails_and_the_others_stand() -> None:
    items = await submit_all(Batches(Stepper(undone=2), failed=failed), [1, 2, 3])
    assert isinstance(items[2].error, LookupError)
    assert items[1].result == 1 and items[3].result == 9


@pytest.mark.parametrize("cancelled", ["the one to run the step", "one waiting"])
async def test_a_cancelled_submitter_leaves_the_others_items_alone(cancelled: str) -> None:
    lock = trio.Lock()
    step = Stepper()
    batches = Batches(step, failed=failed, lock=lock)
    first, others = Square(0), [Square(n) for n in range(1, 6)]
    scope = trio.CancelScope()

    async def run_first() -> None:
        with scope:
            await batches.run(first)

    await lock.acquire()
    async with trio.open_nursery() as nursery:
        nursery.start_soon(run_first)
        await trio.testing.wait_all_tasks_blocked()  # `first` waits for the lock first
        for item in others:
            nursery.start_soon(batches.run, item)
        await trio.testing.wait_all_tasks_blocked()
        if cancelled == "one waiting":
            scope.cancel()
            await trio.testing.wait_all_tasks_blocked()
            lock.release()
        else:
            # The lock goes to `first`, which is cancelled before its thread call starts.
            lock.release()
            scope.cancel()
    assert scope.cancelled_caught
    assert not first.done
    assert all(item.done and item.result == item.value ** 2 for item in others)
    assert all(0 not in batch for batch in step.batches)
    assert batches.waiting == 0


class Gated:
    """Batches behind a lock and a one-thread limiter that the test holds until it
    releases them: a step can be made to take its batch, then wait for a thread."""

    def __init__(self) -> None:
        self.lock = trio.Lock()
        self.threads = trio.CapacityLimiter(1)
        self.step = Stepper()
        self.batches = Batches(self.step, failed=failed, lock=self.lock, limiter=self.threads)

    async def hold(self) -> None:
        await self.lock.acquire()
        await self.threads.acquire()

    async def run(self, item: Square, scope: trio.CancelScope | None = None) -> None:
        with scope or trio.CancelScope():
            await self.batches.run(item)


async def test_an_item_cancelled_inside_a_batch_that_never_ran_is_not_run_later() -> None:
    # `a` takes the batch [a, b] and waits for a thread; `b`, then `a`, are cancelled;
    # the next step must not run `b` for nobody (a stored pod of a cancelled refresh).
    gated = Gated()
    a, b, c = Square(1), Square(2), Square(3)
    scope_a, scope_b = trio.CancelScope(), trio.CancelScope()
    await gated.hold()
    async with trio.open_nursery() as nursery:
        nursery.start_soon(gated.run, a, scope_a)
        await trio.testing.wait_all_tasks_blocked()
        nursery.start_soon(gated.run, b, scope_b)
        await trio.testing.wait_all_tasks_blocked()
        gated.lock.release()  # `a` takes [a, b] and waits for the limiter
        await trio.testing.wait_all_tasks_blocked()
        assert gated.batches.waiting == 0
        scope_b.cancel()
        await trio.testing.wait_all_tasks_blocked()
        scope_a.cancel()
        await trio.testing.wait_all_tasks_blocked()
        gated.threads.release()
        await gated.batches.run(c)
    assert scope_a.cancelled_caught and scope_b.cancelled_caught
    assert c.done and c.result == 9
    assert gated.step.batches == [[3]]
    assert not b.done
    assert gated.batches.waiting == 0


async def test_an_item_submitted_again_after_its_runner_was_cancelled_is_run() -> None:
    # A cancelled runner's own item is no other step's business: submitted again later,
    # into a batch whose runner is cancelled in turn, it must be put back and run.
    gated = Gated()
    item, other = Square(4), Square(5)
    first, runner = trio.CancelScope(), trio.CancelScope()
    await gated.hold()
    async with trio.open_nursery() as nursery:
        nursery.start_soon(gated.run, item, first)
        await trio.testing.wait_all_tasks_blocked()
        gated.lock.release()  # `item`'s submitter takes [item] and waits for the limiter
        await trio.testing.wait_all_tasks_blocked()
        first.cancel()
    await gated.lock.acquire()
    async with trio.open_nursery() as nursery:
        nursery.start_soon(gated.run, other, runner)
        await trio.testing.wait_all_tasks_blocked()
        nursery.start_soon(gated.run, item)
        await trio.testing.wait_all_tasks_blocked()
        gated.lock.release()  # `other`'s submitter takes [other, item]
        await trio.testing.wait_all_tasks_blocked()
        runner.cancel()
        await trio.testing.wait_all_tasks_blocked()
        gated.threads.release()
    assert item.done and item.result == 16
    assert gated.step.batches == [[4]]


async def test_an_item_pending_or_done_is_refused() -> None:
    # The same item twice at once, or again once done, would share one outcome between
    # two submitters (and, cancelled, leave the other's returned undone or run it twice).
    with trio.fail_after(10):  # without the refusal, this hangs
        gated = Gated()
        waiting, held = Square(6), Square(7)
        await gated.hold()
        async with trio.open_nursery() as nursery:
            nursery.start_soon(gated.run, held)
            await trio.testing.wait_all_tasks_blocked()
            gated.lock.release()  # a step holds [held] and waits for the limiter
            await trio.testing.wait_all_tasks_blocked()
            nursery.start_soon(gated.run, waiting)
            await trio.testing.wait_all_tasks_blocked()
            for pending in (waiting, held):
                with pytest.raises(ValueError, match="already submitted"):
                    await gated.batches.run(pending)
            gated.threads.release()
        assert waiting.done and held.done
        with pytest.raises(ValueError, match="already done"):
            await gated.batches.run(held)
        assert gated.step.batches == [[7], [6]]
        assert gated.batches.waiting == 0
