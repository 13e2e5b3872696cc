"""Injected network failures, for demos, tests and benchmarks: a seeded draw per call.

Each call of one of the chosen operations (`get_pointer`, `put_pointer`, `get_scratchpad`,
`put_scratchpad`) fails with probability `rate`, before it touches any record, as an
unreachable network would. The draws come from one `random.Random(seed)`: the same seed
and the same sequence of calls give the same failures. This module must never do I/O nor
decide anything but whether a call fails.
"""

from __future__ import annotations

import random
from collections.abc import Iterable
from typing import Final

from colony_actor.colony.errors import NetworkError

OPERATIONS: Final = ("get_pointer", "put_pointer", "get_scratchpad", "put_scratchpad")


def parse_operations(text: str) -> frozenset[str]:
    """The operations a comma-separated list names (empty: all of them); ValueError for a
    name that is not one."""
    names = {part.strip() for part in text.split(",") if part.strip()}
    unknown = sorted(names - set(OPERATIONS))
    if unknown:
        raise ValueError(f"unknown network operation(s) {', '.join(unknown)}; "
                         f"known: {', '.join(OPERATIONS)}")
    return frozenset(names) if names else frozenset(OPERATIONS)


class FaultInjector:
    def __init__(self, rate: float, operations: Iterable[str] = OPERATIONS, *,
                 seed: int) -> None:
        if not 0.0 <= rate <= 1.0:
            raise ValueError("the failure rate must be between 0 and 1")
        self.rate = rate
        self.operations = frozenset(operations)
        unknown = self.operations - set(OPERATIONS)
        if unknown:
            raise ValueError(f"unknown network operation(s) {', '.join(sorted(unknown))}")
        self.seed = seed
        self._random = random.Random(seed)
        self.injected = 0  # failures injected so far

    def __repr__(self) -> str:
        return (f"FaultInjector(rate={self.rate:g}, operations={sorted(self.operations)}, "
                f"seed={self.seed})")

    @property
    def active(self) -> bool:
        return self.rate > 0 and bool(self.operations)

    def check(self, operation: str, address: str) -> None:
        """Raise NetworkError if this call of `operation` is one to fail."""
        if operation not in self.operations or self.rate <= 0:
            return
        if self.rate >= 1 or self._random.random() < self.rate:
            self.injected += 1
            raise NetworkError(f"Injected failure of {operation} at {address} "
                               f"(network.failure_rate {self.rate:g})")
