"""The breadth-first walk over references: pure functions, no store, no network."""

from __future__ import annotations

import math

from colony_actor.colony.sync.generations import (
    bound,
    is_pod_reference,
    next_generation,
    reached,
)
from colony_actor.colony.sync.outcome import PodOutcome

A, B, C = ("a" * 64, "b" * 64, "c" * 64)


def test_only_exact_pod_nodes_are_followed() -> None:
    assert is_pod_reference("ant://" + A)
    for raw in (A, "ant://" + A.upper(), "ant://" + A[:-1], "http://bad/ref", "_:b0", ""):
        assert not is_pod_reference(raw), raw


def test_each_pod_is_reached_once_at_its_first_generation() -> None:
    first = next_generation(["ant://" + B, "http://bad", "ant://" + A, "ant://" + B],
                            frozenset({C}))
    assert first.following == (B, A)
    assert first.malformed == ("http://bad",)
    assert first.visited == {A, B, C}
    second = next_generation(["ant://" + A, "ant://" + C], first.visited)
    assert second.following == ()
    assert second.visited == first.visited


def test_the_next_frontier_leaves_out_skipped_pods() -> None:
    outcomes = [PodOutcome.refreshed(), PodOutcome.skipped("gone"), PodOutcome.kept()]
    assert reached([A, B, C], outcomes) == [A, C]


def test_depth_zero_has_no_bound() -> None:
    assert bound(0) == math.inf
    assert bound(2) == 2
