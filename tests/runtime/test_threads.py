"""Worker threads run below the event loop's CPU priority (colony_actor/threads.py)."""

from __future__ import annotations

import os
import sys
import threading

import pytest
import trio

from colony_actor.runtime import threads


def nice_of_this_thread() -> int:
    return os.getpriority(os.PRIO_PROCESS, threading.get_native_id())


@pytest.mark.skipif(sys.platform != "linux", reason="only Linux keeps a nice value per thread")
async def test_worker_threads_run_below_the_loop() -> None:
    loop_nice = nice_of_this_thread()
    limiter = trio.CapacityLimiter(3)
    seen = [await threads.run_sync(nice_of_this_thread, limiter=limiter) for _ in range(3)]
    assert all(nice >= min(19, loop_nice + threads.WORKER_NICENESS) for nice in seen)
    assert nice_of_this_thread() == loop_nice
    # The loop's own thread is never lowered, even if asked.
    assert threads.lower_this_thread() is False
    assert nice_of_this_thread() == loop_nice


async def test_results_and_errors_pass_through() -> None:
    assert await threads.run_sync(lambda a, b: a + b, 2, 3) == 5

    def fail() -> None:
        raise ValueError("from the worker")

    with pytest.raises(ValueError, match="from the worker"):
        await threads.run_sync(fail)
