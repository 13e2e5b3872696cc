"""The breadth-first walk over references: which pods the next generation reaches.

Generation g are the pods first reached through g references; each is reached once, at
the smallest g. A reference that is not exactly `ant://<64 lowercase hex>` is malformed:
reported, never followed. Pure functions, as jobs/lifecycle.py is: no I/O, no trio.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence, Set
from dataclasses import dataclass

from colony_actor.colony.sync.outcome import Outcome, PodOutcome
from colony_actor.colony.vocab import is_address, normalize_address


@dataclass(frozen=True)
class Generation:
    following: tuple[str, ...]  # the pods first reached now, in the order of the references
    malformed: tuple[str, ...]  # the references that name no pod
    visited: frozenset[str]  # every pod reached so far, these included


def is_pod_reference(raw: str) -> bool:
    return is_address(raw) and raw.startswith("ant://") and raw == raw.lower()


def next_generation(references: Iterable[str], visited: Set[str]) -> Generation:
    """The pods that `references` (those of the current generation) reach first."""
    following: list[str] = []
    malformed: list[str] = []
    seen = set(visited)
    for raw in references:
        if not is_pod_reference(raw):
            malformed.append(raw)
            continue
        address = normalize_address(raw)
        if address not in seen:
            seen.add(address)
            following.append(address)
    return Generation(tuple(following), tuple(malformed), frozenset(seen))


def reached(addresses: Sequence[str], outcomes: Sequence[PodOutcome]) -> list[str]:
    """The pods of a generation that were reached (not skipped): the next frontier."""
    return [a for a, o in zip(addresses, outcomes, strict=True)
            if o.outcome is not Outcome.SKIPPED]


def bound(depth: int) -> float:
    """How many generations a refresh to `depth` walks (0: no bound)."""
    return depth if depth > 0 else math.inf
