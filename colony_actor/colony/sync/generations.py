"""The breadth-first walk over references: which pods the next generation reaches.

Generation g are the pods first reached through g references; each is reached once, at
the smallest g. A reference that is not exactly `ant://<64 lowercase hex>` is malformed:
reported, never followed. The walk is bounded, as peers choose what they reference: only
the first `per_pod` references of a pod are looked at, and at most `budget` references
(a malformed one included, as it is reported) are followed in the generation; each pod
whose references were cut is reported with how many and why. Pure functions, as
jobs/lifecycle.py is: no I/O, no trio.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence, Set
from dataclasses import dataclass

from colony_actor.colony.sync.outcome import Outcome, PodOutcome, Skipped
from colony_actor.colony.vocab import is_address, normalize_address


@dataclass(frozen=True)
class Generation:
    following: tuple[str, ...]  # the pods first reached now, in the order of the references
    malformed: tuple[str, ...]  # the references that name no pod
    visited: frozenset[str]  # every pod reached so far, these included
    cut: tuple[Skipped, ...] = ()  # the pods whose references were not all looked at


def is_pod_reference(raw: str) -> bool:
    return is_address(raw) and raw.startswith("ant://") and raw == raw.lower()


def next_generation(references: Mapping[str, Sequence[str]], visited: Set[str], *,
                    per_pod: int, budget: int) -> Generation:
    """The pods that `references` (each pod of the current generation's, in order) reach
    first, following at most `budget` of them and looking at `per_pod` of each pod's."""
    following: list[str] = []
    malformed: list[str] = []
    cut: list[Skipped] = []
    seen = set(visited)
    reported: set[str] = set()
    for pod, refs in references.items():
        late = 0
        for raw in refs[:per_pod]:
            address = normalize_address(raw) if is_pod_reference(raw) else None
            if address in seen or (address is None and raw in reported):
                continue  # reached or reported already: costs nothing
            if budget <= 0:
                late += 1
                continue
            budget -= 1
            if address is None:
                reported.add(raw)
                malformed.append(raw)
            else:
                seen.add(address)
                following.append(address)
        past_cap = max(0, len(refs) - per_pod)
        if past_cap or late:
            cut.append(Skipped(pod, _cut_reason(len(refs), past_cap, per_pod, late)))
    return Generation(tuple(following), tuple(malformed), frozenset(seen), tuple(cut))


def _cut_reason(references: int, past_cap: int, per_pod: int, late: int) -> str:
    parts = []
    if past_cap:
        parts.append(f"{past_cap} of its {references} references are past the cap of "
                     f"{per_pod} per pod (network.max_refs_per_pod)")
    if late:
        parts.append(f"{late} came after the refresh had followed as many references as "
                     f"it may (network.max_refs_per_refresh)")
    return "References not followed: " + "; ".join(parts)


def reached(addresses: Sequence[str], outcomes: Sequence[PodOutcome]) -> list[str]:
    """The pods of a generation that were reached (not skipped): the next frontier."""
    return [a for a, o in zip(addresses, outcomes, strict=True)
            if o.outcome is not Outcome.SKIPPED]


def bound(depth: int) -> float:
    """How many generations a refresh to `depth` walks (0: no bound)."""
    return depth if depth > 0 else math.inf
