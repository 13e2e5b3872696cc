"""The descriptor limit raised at start-up, and the connection caps derived from it."""

from __future__ import annotations

import json
import resource
import subprocess
import sys
from pathlib import Path

import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

from colony_actor.api.capacity import DERIVED_CEILING, MIN_RESERVE, REFUSING_MAX, derive
from colony_actor.daemon import descriptors

REPORT = ("import dataclasses, json, resource; from colony_actor.daemon import descriptors; "
          "limit = descriptors.raise_soft_limit(); "
          "print(json.dumps([dataclasses.asdict(limit), "
          "list(resource.getrlimit(resource.RLIMIT_NOFILE))]))")


def run_with_limits(soft: int, hard: int) -> tuple[dict[str, int], list[int]]:
    done = subprocess.run(
        [sys.executable, "-c", REPORT], capture_output=True, text=True, check=True,
        preexec_fn=lambda: resource.setrlimit(resource.RLIMIT_NOFILE, (soft, hard)))
    limit, now = json.loads(done.stdout)
    return limit, now


def test_the_soft_limit_is_raised_to_the_hard_one() -> None:
    limit, now = run_with_limits(128, 256)
    assert limit == {"soft_before": 128, "soft": 256, "hard": 256}
    assert now == [256, 256]


def test_a_limit_that_cannot_be_raised_is_left_as_it_is() -> None:
    limit, now = run_with_limits(200, 200)
    assert limit == {"soft_before": 200, "soft": 200, "hard": 200}
    assert now == [200, 200]


def test_open_descriptors_are_counted(tmp_path: Path) -> None:
    before = descriptors.open_count()
    assert before is not None
    with (tmp_path / "f").open("w"):
        assert descriptors.open_count() == before + 1
    assert descriptors.open_count() == before


@pytest.mark.parametrize(("args", "connections", "streams", "reserve", "lowered"), [
    # The end-to-end test's case: half of the 225 free descriptors, less the refusals.
    ((256, 31), 97, 24, 112, False),
    # A low limit: the reserve never goes below its minimum.
    ((128, 31), 17, 4, MIN_RESERVE, False),
    # A high limit: memory bounds the derived cap, not descriptors.
    ((1 << 20, 50), DERIVED_CEILING, DERIVED_CEILING // 4, (1 << 20) - 50 - 4096 - 16, False),
    # Unknown or unlimited: the ceiling, and no reserve to report.
    ((None, None), DERIVED_CEILING, DERIVED_CEILING // 4, None, False),
    # Configured caps within what the limit allows are kept as they are.
    ((256, 31, 50, 5), 50, 5, 159, False),
    # A configured cap above it is lowered; streams never exceed connections.
    ((256, 31, 1000, 500), 97, 97, 112, True),
    # So low a limit leaves room for one connection only.
    ((64, 40), 1, 1, 7, False),
])
def test_derived_caps(args: tuple[int | None, ...], connections: int, streams: int,
                      reserve: int | None, lowered: bool) -> None:
    limits = derive(*args)  # type: ignore[arg-type]
    assert (limits.connections, limits.streams, limits.reserve, limits.lowered) == (
        connections, streams, reserve, lowered)


@given(soft=st.integers(128, 1 << 20), used=st.integers(0, 1000),
       configured=st.integers(0, 1 << 20))
def test_every_slot_taken_still_leaves_the_reserve(soft: int, used: int,
                                                   configured: int) -> None:
    assume(soft - used > MIN_RESERVE + REFUSING_MAX)  # room for one connection at least
    limits = derive(soft, used, configured)
    assert limits.reserve is not None and limits.reserve >= MIN_RESERVE
    # A slot is a descriptor; so is each refusal answered at once.
    assert used + limits.connections + REFUSING_MAX + limits.reserve == soft
    assert 1 <= limits.streams <= limits.connections

