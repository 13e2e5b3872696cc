"""The tallies of a refresh: pure functions over pod outcomes."""

from __future__ import annotations

from colony_actor.colony.errors import NetworkError
from colony_actor.colony.sync.outcome import (
    KEPT_REASON,
    Outcome,
    PodOutcome,
    Skipped,
    Tally,
    counted,
    reason,
    tally,
    with_malformed,
)

A, B, C, D = ("a" * 64, "b" * 64, "c" * 64, "d" * 64)


def test_an_empty_tally_is_the_result_of_nothing_to_refresh() -> None:
    assert Tally().to_json() == {"pods_refreshed": 0, "pods_unchanged": 0, "pods_kept": [],
                                 "skipped": []}


def test_each_outcome_is_counted_once() -> None:
    outcomes = [PodOutcome.kept(), PodOutcome.refreshed(), PodOutcome.skipped("gone"),
                PodOutcome.unchanged()]
    result = tally(counted(Tally(), refreshed=1), [D, A, B, C], outcomes)
    assert result == Tally(refreshed=2, unchanged=1, kept=(D,), skipped=(Skipped(B, "gone"),))
    assert result.to_json(depth_reached=3) == {
        "pods_refreshed": 2, "pods_unchanged": 1, "pods_kept": [D], "depth_reached": 3,
        "skipped": [{"address": B, "reason": "gone"}]}
    assert list(result.to_json(depth_reached=3))[-1] == "skipped"
    more = tally(result, [C, A], [PodOutcome.kept(), PodOutcome.skipped("again")])
    assert more.to_json()["pods_kept"] == [C, D]  # sorted
    assert [s.address for s in more.skipped] == [B, A]  # in the order met


def test_outcomes_say_why() -> None:
    assert PodOutcome.kept() == PodOutcome(Outcome.KEPT, KEPT_REASON)
    assert PodOutcome.failed(NetworkError("unreachable")) == PodOutcome(Outcome.SKIPPED,
                                                                        "unreachable")
    assert reason(KeyError()) == "KeyError"
    assert len(reason(ValueError("x" * 900))) == 500


def test_a_malformed_reference_is_reported_once() -> None:
    start = Tally(skipped=(Skipped(A, "unreachable"),))
    result = with_malformed(start, ["http://bad/ref", "ant://X", "http://bad/ref"])
    assert result.skipped == (Skipped(A, "unreachable"),
                              Skipped("http://bad/ref", "Malformed reference"),
                              Skipped("ant://X", "Malformed reference"))
    assert with_malformed(result, ["http://bad/ref"]) == result
    long = with_malformed(Tally(), ["x" * 1000])
    assert long.skipped[0].address == "x" * 300
