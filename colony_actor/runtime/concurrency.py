"""Bounded concurrency: run many awaitables at once, at most so many at a time.

A leaf module (it imports nothing of the project). `gather` gives every thunk's result or
the exception it raised, in order, so that one failure never cancels the others; it must
never start more than `at_once` thunks at a time, and never swallow a cancellation.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from typing import TypeVar

import trio

T = TypeVar("T")


async def gather(thunks: Sequence[Callable[[], Awaitable[T]]], at_once: int | None = None
                 ) -> list[T | Exception]:
    """Run them concurrently, at most `at_once` at a time (all if None); each result or
    the exception it raised, in order."""
    results: list[T | Exception] = [RuntimeError("not run")] * len(thunks)
    slots = trio.CapacityLimiter(at_once or max(1, len(thunks)))

    async def run(position: int, thunk: Callable[[], Awaitable[T]]) -> None:
        try:
            results[position] = await thunk()
        except Exception as exc:
            results[position] = exc
        finally:
            slots.release_on_behalf_of(position)

    async with trio.open_nursery() as nursery:
        for position, thunk in enumerate(thunks):
            await slots.acquire_on_behalf_of(position)
            nursery.start_soon(run, position, thunk)
    return results
