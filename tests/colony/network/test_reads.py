"""GroupedReads with a read that can be held in its thread, as on a stuck disk: what a
cancelled reader leaves behind, and what later readers are made to wait for."""

from __future__ import annotations

import threading
from collections.abc import Callable

import trio
import trio.testing

from colony_actor.colony.network.reads import Call, GroupedReads


class HeldReads:
    """A read of a key in `held` waits in its thread until that key is released."""

    def __init__(self, *held: str) -> None:
        self.held = {key: threading.Event() for key in held}
        self.asked: list[str] = []

    def read(self, call: Call[str]) -> None:
        for key in call.keys:
            self.asked.append(key)
            if key in self.held:
                self.held[key].wait()
            call.outcomes.append((f"value of {key}", None))

    def release(self, *keys: str) -> None:
        for key in keys or tuple(self.held):
            self.held[key].set()


def grouped(source: HeldReads) -> GroupedReads[str, str]:
    return GroupedReads(source.read, timeout_seconds=3600, threads=4,
                        timed_out=lambda key: TimeoutError(key),
                        stuck=lambda key: RuntimeError(key))


async def until(condition: Callable[[], bool]) -> None:
    with trio.fail_after(5):
        while not condition():  # noqa: ASYNC110 (a worker thread changes it)
            await trio.sleep(0.001)


async def test_a_reader_cancelled_while_another_runs_its_read_is_not_read_again() -> None:
    source = HeldReads("gate", "stuck")
    reads = grouped(source)
    holder, waiter = trio.CancelScope(), trio.CancelScope()

    async def read_in(scope: trio.CancelScope, key: str) -> None:
        with scope:
            await reads.read(key)

    try:
        async with trio.open_nursery() as nursery:
            # While "gate" is read, "first" and then "stuck" queue up: the reader of
            # "first" gets the next turn and reads both in one call.
            nursery.start_soon(read_in, trio.CancelScope(), "gate")
            await until(lambda: source.asked == ["gate"])
            nursery.start_soon(read_in, holder, "first")
            await trio.testing.wait_all_tasks_blocked()
            nursery.start_soon(read_in, waiter, "stuck")
            await trio.testing.wait_all_tasks_blocked()
            source.release("gate")
            await until(lambda: source.asked == ["gate", "first", "stuck"])
            # The reader of "stuck" goes first, then the one whose call is held.
            waiter.cancel()
            await trio.testing.wait_all_tasks_blocked()
            holder.cancel()
        assert reads.statistics().waiting == 0
        # Nobody waits for "stuck" any more: a later read is not made to read it again.
        with trio.fail_after(5):
            assert await reads.read("later") == "value of later"
        assert source.asked == ["gate", "first", "stuck", "later"]
    finally:
        source.release()


async def test_readers_in_one_call_get_their_own_values() -> None:
    source = HeldReads()
    reads = grouped(source)
    values: dict[str, str | None] = {}

    async def read(key: str) -> None:
        values[key] = await reads.read(key)

    async with trio.open_nursery() as nursery:
        for key in ("a", "b", "c"):
            nursery.start_soon(read, key)
    assert values == {key: f"value of {key}" for key in ("a", "b", "c")}
