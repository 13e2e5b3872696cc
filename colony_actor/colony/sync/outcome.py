"""What became of each pod in a refresh, and the tallies a refresh reports.

Pure values and functions, as jobs/lifecycle.py is: no I/O, no trio. They must never
count a pod twice, nor drop one.
"""

from __future__ import annotations

import enum
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from typing import Any, Final

KEPT_REASON: Final = "Local changes wait for upload"
# How much of a malformed reference a result shows.
MALFORMED_SHOWN: Final = 300
MALFORMED_REASON: Final = "Malformed reference"


class Outcome(enum.Enum):
    REFRESHED = "refreshed"  # a newer copy was downloaded and stored
    UNCHANGED = "unchanged"  # the copy held is the newest
    KEPT = "kept"  # not replaced: local changes wait for upload
    SKIPPED = "skipped"  # not reached: unreachable, missing or unreadable


@dataclass(frozen=True)
class PodOutcome:
    outcome: Outcome
    reason: str = ""

    @classmethod
    def refreshed(cls) -> PodOutcome:
        return cls(Outcome.REFRESHED)

    @classmethod
    def unchanged(cls) -> PodOutcome:
        return cls(Outcome.UNCHANGED)

    @classmethod
    def kept(cls) -> PodOutcome:
        return cls(Outcome.KEPT, KEPT_REASON)

    @classmethod
    def skipped(cls, reason: str) -> PodOutcome:
        return cls(Outcome.SKIPPED, reason)

    @classmethod
    def failed(cls, exc: BaseException) -> PodOutcome:
        return cls.skipped(reason(exc))


def reason(exc: BaseException) -> str:
    """A failure as a result shows it: its message (or its type), at most 500 characters."""
    text = str(exc) or type(exc).__name__
    return text[:500]


@dataclass(frozen=True)
class Skipped:
    address: str
    reason: str

    def to_json(self) -> dict[str, str]:
        return {"address": self.address, "reason": self.reason}


@dataclass(frozen=True)
class Tally:
    """The pods of a refresh so far, by outcome (skipped ones in the order met)."""
    refreshed: int = 0
    unchanged: int = 0
    kept: tuple[str, ...] = ()
    skipped: tuple[Skipped, ...] = ()

    def to_json(self, **extra: Any) -> dict[str, Any]:
        """The counts of a refresh result; `extra` goes before the skipped pods."""
        return {"pods_refreshed": self.refreshed, "pods_unchanged": self.unchanged,
                "pods_kept": sorted(self.kept), **extra,
                "skipped": [s.to_json() for s in self.skipped]}


def tally(start: Tally, addresses: Sequence[str], outcomes: Sequence[PodOutcome]) -> Tally:
    """`start` with these pods' outcomes added."""
    refreshed, unchanged = start.refreshed, start.unchanged
    kept, skipped = list(start.kept), list(start.skipped)
    for address, outcome in zip(addresses, outcomes, strict=True):
        if outcome.outcome is Outcome.REFRESHED:
            refreshed += 1
        elif outcome.outcome is Outcome.UNCHANGED:
            unchanged += 1
        elif outcome.outcome is Outcome.KEPT:
            kept.append(address)
        else:
            skipped.append(Skipped(address, outcome.reason))
    return Tally(refreshed, unchanged, tuple(kept), tuple(skipped))


def with_malformed(start: Tally, references: Iterable[str]) -> Tally:
    """`start` with these malformed references skipped, each reported once."""
    skipped = list(start.skipped)
    shown = {s.address for s in skipped}
    for raw in references:
        if raw[:MALFORMED_SHOWN] not in shown:
            shown.add(raw[:MALFORMED_SHOWN])
            skipped.append(Skipped(raw[:MALFORMED_SHOWN], MALFORMED_REASON))
    return replace(start, skipped=tuple(skipped))


def with_skipped(start: Tally, skipped: Iterable[Skipped]) -> Tally:
    """`start` with these reported as skipped (what a refresh did not follow, and why)."""
    return replace(start, skipped=(*start.skipped, *skipped))


def counted(start: Tally, refreshed: int = 0, unchanged: int = 0) -> Tally:
    """`start` with pods counted as refreshed or unchanged outside `tally`."""
    return replace(start, refreshed=start.refreshed + refreshed,
                   unchanged=start.unchanged + unchanged)
