"""How a long operation reports how far it got: a callable given by whoever runs it.

The reporter is called with (done, total, message): pods handled out of pods known, and
the current step. This module must never call anything but the reporter, and never let
`done` decrease or `total` fall below `done`.
"""

from __future__ import annotations

from collections.abc import Callable

# (done, total, message): pods handled out of pods to handle, and the current step.
ProgressReporter = Callable[[int, int, str], None]


class Progress:
    """Pods handled out of pods known, reported at each step as "<verb> n of m pods"."""

    def __init__(self, report: ProgressReporter, verb: str) -> None:
        self._report = report
        self._verb = verb
        self.done = 0
        self.total = 0

    def grow(self, count: int) -> None:
        """`count` more pods to handle."""
        self.total += count

    def step(self) -> None:
        """One more pod handled."""
        self.done += 1
        self.total = max(self.total, self.done)
        self._report(self.done, self.total, f"{self._verb} {self.done} of {self.total} pods")
