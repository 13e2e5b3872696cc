"""A network backend that counts and times every record operation of the one it wraps,
into the daemon's metrics (operation, outcome, duration). The colony layer never learns
of metrics: the wiring hands it this wrapper as its `Network`. It must never change what
an operation answers or raises, nor retry anything."""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable
from typing import TypeVar

import trio

from colony_actor.colony.errors import BadSignature, StaleCounter
from colony_actor.colony.network.base import Network, Pointer, Scratchpad
from colony_actor.service.metrics import Metrics

T = TypeVar("T")


def _failure(exc: BaseException) -> str:
    if isinstance(exc, StaleCounter):
        return "stale_counter"
    if isinstance(exc, BadSignature):
        return "bad_signature"
    if isinstance(exc, trio.Cancelled):
        return "cancelled"
    return "error"  # NetworkError, or anything the backend did not expect


class ObservedNetwork:
    def __init__(self, network: Network, metrics: Metrics) -> None:
        self.wrapped = network
        self._metrics = metrics

    def __repr__(self) -> str:
        return f"ObservedNetwork({self.wrapped!r})"

    async def get_pointer(self, address: str) -> Pointer | None:
        return await self._read("get_pointer", self.wrapped.get_pointer(address))

    async def put_pointer(self, pointer: Pointer) -> None:
        await self._observed("put_pointer", self.wrapped.put_pointer(pointer),
                             lambda _: "stored")

    async def get_scratchpad(self, address: str) -> Scratchpad | None:
        return await self._read("get_scratchpad", self.wrapped.get_scratchpad(address))

    async def put_scratchpad(self, scratchpad: Scratchpad) -> None:
        await self._observed("put_scratchpad", self.wrapped.put_scratchpad(scratchpad),
                             lambda _: "stored")

    async def _read(self, operation: str, call: Awaitable[T | None]) -> T | None:
        return await self._observed(operation, call,
                                    lambda found: "absent" if found is None else "found")

    async def _observed(self, operation: str, call: Awaitable[T],
                        outcome: Callable[[T], str]) -> T:
        started = time.perf_counter()
        try:
            answer = await call
        except BaseException as exc:
            self._metrics.observe_network(operation, _failure(exc),
                                          time.perf_counter() - started)
            raise
        self._metrics.observe_network(operation, outcome(answer), time.perf_counter() - started)
        return answer

