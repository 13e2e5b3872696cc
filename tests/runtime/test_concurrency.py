"""gather: every result or error in order, never more than `at_once` running."""

from __future__ import annotations

import functools

import trio

from colony_actor.runtime.concurrency import gather


async def test_results_and_errors_in_order(autojump_clock: trio.testing.MockClock) -> None:
    async def job(n: int) -> int:
        await trio.sleep(10 - n)  # the last ones finish first
        if n == 3:
            raise ValueError("three")
        return n * n

    results = await gather([functools.partial(job, n) for n in range(6)], at_once=2)
    assert [r if not isinstance(r, Exception) else str(r) for r in results] \
        == [0, 1, 4, "three", 16, 25]


async def test_at_most_at_once_run(autojump_clock: trio.testing.MockClock) -> None:
    running = 0
    most = 0

    async def job() -> None:
        nonlocal running, most
        running += 1
        most = max(most, running)
        await trio.sleep(1)
        running -= 1

    await gather([job] * 10, at_once=3)
    assert most == 3
    most = 0
    await gather([job] * 10)
    assert most == 10
    assert await gather([]) == []


async def test_cancellation_is_not_swallowed(autojump_clock: trio.testing.MockClock) -> None:
    with trio.move_on_after(1) as scope:
        await gather([trio.sleep_forever, trio.sleep_forever])
    assert scope.cancelled_caught

