"""Progress in stages: the share of each stage is computed in constant time, whatever the
number of stages a client asked for (a refresh to depth 999,999,999 is one request)."""

from __future__ import annotations

import threading

import pytest

from colony_actor.colony.sync.progress import SCALE, Progress


def test_a_huge_number_of_stages_is_no_work() -> None:
    reports: list[int] = []
    progress = Progress(lambda done, total, message: reports.append(done), "Refreshed",
                        stages=1_000_000_000)

    def walk() -> None:
        for stage in range(3):
            progress.grow(2 * (stage + 1))
            for _ in range(2 * (stage + 1)):
                progress.step()
            progress.next_stage()
        progress.finish()

    # A bound on hanging, not a timing: the walk is a few dozen arithmetic steps, and the
    # share's sum over the stages ahead once took minutes per step at this depth.
    worker = threading.Thread(target=walk, daemon=True)
    worker.start()
    worker.join(timeout=30)
    assert not worker.is_alive(), "the progress of 3 stages did not finish"
    assert reports == sorted(reports) and reports[-1] == SCALE


@pytest.mark.parametrize("growth,stages", [(1, 4), (3, 5)])
def test_stages_that_grow_as_expected_end_at_one(growth: int, stages: int) -> None:
    stage_sizes = [growth ** i for i in range(stages)]
    reports: list[int] = []
    progress = Progress(lambda done, total, message: reports.append(done), "Refreshed",
                        stages=stages)
    for size in stage_sizes:
        progress.grow(size)
        for _ in range(size):
            progress.step()
        progress.next_stage()
    # Stages that grow as expected are each given exactly their pods' share.
    assert abs(reports[-1] - SCALE) <= 1
    assert reports == sorted(reports)
