"""How a long operation reports how far it got: a callable given by whoever runs it.

The reporter is called with (done, total, message): the share of the work done as
done/total, and the current step ("Refreshed n of m pods"). Work whose size is only
learnt as it goes (a refresh discovers the pods of each generation through the previous
one) is split into stages: each stage is given its share of the range still ahead, and
moves through it as its pods are done, so that progress moves steadily and never jumps
ahead of the work nor goes back. This module must never call anything but the reporter,
and never let done/total decrease or `total` fall below `done`.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Final

# (done, total, message): the share of the work done as done/total, and the current step.
ProgressReporter = Callable[[int, int, str], None]
# The `total` reported: done/SCALE is the fraction done.
SCALE: Final = 1_000_000
# How much a stage is expected to grow over the last, at most and at least (a walk that
# shrank may grow again: never less than the last).
MAX_GROWTH: Final = 16.0
MIN_GROWTH: Final = 1.0
# Past e**700 a float overflows.
_MAX_EXPONENT: Final = 700.0


class Progress:
    """Pods handled out of pods known, reported at each step as "<verb> n of m pods", in
    `stages` stages (math.inf: as many as it takes; each is then given the range left
    but what one more stage is expected to need)."""

    def __init__(self, report: ProgressReporter, verb: str, stages: float = 1) -> None:
        if not stages >= 1:
            raise ValueError("stages must be at least 1")
        self._report = report
        self._verb = verb
        self.done = 0
        self.total = 0
        self._stages_left = stages
        self._base = 0.0  # the fraction at the start of the stage
        self._stage_done = 0
        self._stage_total = 0
        self._last_stage = 0  # pods of the stage before this one
        self._reported = 0

    def grow(self, count: int) -> None:
        """`count` more pods to handle in this stage."""
        self.total += count
        self._stage_total += count

    def step(self) -> None:
        """One more pod handled."""
        self.done += 1
        self._stage_done += 1
        self.total = max(self.total, self.done)
        self._stage_total = max(self._stage_total, self._stage_done)
        self._send(self._base + self._share() * self._stage_done / self._stage_total)

    def next_stage(self) -> None:
        """This stage is done: the next one starts where its share ends."""
        self._base += self._share()
        if self._stages_left > 1:
            self._stages_left -= 1
        self._last_stage = self._stage_total
        self._stage_done = self._stage_total = 0

    def finish(self) -> None:
        """All the work is done (a walk may end before the stages it was given)."""
        self._send(1.0)

    def _share(self) -> float:
        """The share of the whole work this stage is given: of the range left, as much as
        its pods are of those expected from here on, the stages ahead expected to grow
        as this one grew from the last (as large as it, with nothing to go by)."""
        left = 1.0 - self._base
        growth = 1.0
        if self._last_stage and self._stage_total:
            growth = min(max(self._stage_total / self._last_stage, MIN_GROWTH), MAX_GROWTH)
        ahead = 1 if math.isinf(self._stages_left) else int(self._stages_left) - 1
        return left / _stages_worth(growth, ahead + 1)

    def _send(self, fraction: float) -> None:
        self._reported = max(self._reported, min(SCALE, round(fraction * SCALE)))
        self._report(self._reported, SCALE, f"{self._verb} {self.done} of {self.total} pods")


def _stages_worth(growth: float, stages: int) -> float:
    """1 + growth + growth**2 + ... over `stages` terms, in constant time: a client may ask
    for a billion stages (a refresh to that depth). Inf where it passes a float."""
    if growth == 1.0:
        return float(stages)
    if stages * math.log(growth) > _MAX_EXPONENT:
        return math.inf
    return (growth ** stages - 1.0) / (growth - 1.0)
