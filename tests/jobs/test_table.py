"""The job table: listing and retention order, and Rule 2 (only the actor writes)."""

from __future__ import annotations

from typing import Any

import pytest
import trio

from colony_actor.jobs.lifecycle import JobStatus
from colony_actor.jobs.table import JobTable, NotTheActor
from tests.jobs.support import make_job


def claimed(max_retained: int = 10) -> JobTable:
    table = JobTable(max_retained)
    table.claim()
    return table


async def test_a_write_from_another_task_fails_loudly(nursery: trio.Nursery) -> None:
    table = claimed()
    table.put(make_job(1))
    failures: list[BaseException] = []

    async def intruder(task_status: trio.TaskStatus[None]) -> None:
        for write in (lambda: table.put(make_job(2)), lambda: table.drop("job-1")):
            try:
                write()
            except NotTheActor as exc:
                failures.append(exc)
        task_status.started()

    await nursery.start(intruder)
    assert len(failures) == 2
    assert "only the runner's own task may" in str(failures[0])
    assert [job.id for job in table.list()[0]] == ["job-1"], "nothing changed"


async def test_no_write_before_an_actor_claims_it() -> None:
    table = JobTable(10)
    with pytest.raises(NotTheActor):
        table.put(make_job(1))
    assert len(table) == 0


async def test_a_second_actor_cannot_claim_it(nursery: trio.Nursery) -> None:
    table = claimed()
    refused: list[BaseException] = []

    async def second(task_status: trio.TaskStatus[None]) -> None:
        try:
            table.claim()
        except NotTheActor as exc:
            refused.append(exc)
        task_status.started()

    await nursery.start(second)
    assert len(refused) == 1
    table.put(make_job(1))  # the first actor still writes


async def test_list_is_newest_first_with_cursors_and_filters() -> None:
    table = claimed()
    for n, status in enumerate([JobStatus.COMPLETED, JobStatus.RUNNING, JobStatus.COMPLETED,
                                JobStatus.CANCELLED]):
        table.put(make_job(n, status))
    table.put(make_job(1, JobStatus.COMPLETED))  # a new snapshot keeps its place
    page, cursor = table.list(limit=3)
    assert [job.id for job in page] == ["job-3", "job-2", "job-1"] and cursor is not None
    page, cursor = table.list(limit=3, cursor=cursor)
    assert [job.id for job in page] == ["job-0"] and cursor is None
    done, _ = table.list(status=JobStatus.COMPLETED)
    assert [job.id for job in done] == ["job-2", "job-1", "job-0"]
    assert table.list(job_type="uploadall") == ([], None)


async def test_retention_order_is_finishing_order(autojump_clock: Any) -> None:
    table = claimed(max_retained=2)
    start = trio.current_time()
    table.put(make_job(1, JobStatus.RUNNING))
    assert table.first_finish() == float("inf")
    table.put(make_job(2, JobStatus.COMPLETED))
    await trio.sleep(5)
    table.put(make_job(1, JobStatus.FAILED))
    table.put(make_job(3, JobStatus.COMPLETED), finished_at=start - 60)  # restored
    assert table.first_finish() == start
    assert table.finished_by(start) == ["job-2", "job-3"]
    assert table.over_bound() == ["job-2"]
    table.drop("job-2")
    assert table.over_bound() == [] and table.get("job-2") is None
    assert table.first_finish() == start + 5
