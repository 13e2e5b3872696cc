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


ROOMY = {"per_pod": 1000, "budget": 1000}


def test_each_pod_is_reached_once_at_its_first_generation() -> None:
    first = next_generation({C: ["ant://" + B, "http://bad", "ant://" + A, "ant://" + B]},
                            frozenset({C}), **ROOMY)
    assert first.following == (B, A)
    assert first.malformed == ("http://bad",)
    assert first.visited == {A, B, C}
    assert first.cut == ()
    second = next_generation({A: ["ant://" + A, "ant://" + C]}, first.visited, **ROOMY)
    assert second.following == ()
    assert second.visited == first.visited


def pods(first: int, count: int) -> list[str]:
    return [f"{n:064x}" for n in range(first, first + count)]


def test_only_the_first_references_of_a_pod_are_looked_at() -> None:
    many = pods(1, 20_000)
    found = next_generation({A: ["ant://" + p for p in many], B: ["ant://" + C]},
                            frozenset({A, B}), per_pod=5, budget=1000)
    assert found.following == (*many[:5], C)
    assert [s.address for s in found.cut] == [A]
    assert found.cut[0].reason == ("References not followed: 19995 of its 20000 references "
                                   "are past the cap of 5 per pod (network.max_refs_per_pod)")


def test_a_refresh_follows_at_most_its_budget() -> None:
    refs = {A: ["ant://" + p for p in pods(1, 3)] + ["http://bad"],
            B: ["ant://" + A, "ant://" + C, *("ant://" + p for p in pods(1, 2))]}
    found = next_generation(refs, frozenset({A, B}), per_pod=10, budget=4)
    # The malformed one counts (it is reported); references to pods reached cost nothing.
    assert found.following == tuple(pods(1, 3))
    assert found.malformed == ("http://bad",)
    assert [(s.address, s.reason) for s in found.cut] == [
        (B, "References not followed: 1 came after the refresh had followed as many "
            "references as it may (network.max_refs_per_refresh)")]
    assert next_generation(refs, frozenset({A, B}), per_pod=10, budget=0).following == ()


def test_the_next_frontier_leaves_out_skipped_pods() -> None:
    outcomes = [PodOutcome.refreshed(), PodOutcome.skipped("gone"), PodOutcome.kept()]
    assert reached([A, B, C], outcomes) == [A, C]


def test_depth_zero_has_no_bound() -> None:
    assert bound(0) == math.inf
    assert bound(2) == 2
