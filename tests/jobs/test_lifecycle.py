"""The transition table and the snapshot rules, without trio."""

from datetime import UTC, datetime, timedelta

import pytest

from colony_actor.jobs import lifecycle
from colony_actor.jobs.lifecycle import TRANSITIONS, Event, InvalidTransition, JobStatus

T0 = datetime(2024, 1, 1, 12, 0, 0, tzinfo=UTC)


def _job() -> lifecycle.Job:
    return lifecycle.new_job("id-1", "refreshcache", {}, "Cache refresh job started", T0)


@pytest.mark.parametrize("status", sorted(lifecycle.TERMINAL))
@pytest.mark.parametrize("event", list(Event))
def test_terminal_jobs_never_change(status: JobStatus, event: Event) -> None:
    assert (status, event) not in TRANSITIONS


def test_progress_never_decreases_and_stays_below_one_while_running() -> None:
    job = lifecycle.apply(_job(), Event.START, T0)
    job = lifecycle.apply(job, Event.PROGRESS, T0, progress=0.6)
    job = lifecycle.apply(job, Event.PROGRESS, T0, progress=0.2)
    assert job.progress == 0.6
    job = lifecycle.apply(job, Event.PROGRESS, T0, progress=1.0)
    assert job.progress < 1.0
    done = lifecycle.apply(job, Event.COMPLETE, T0 + timedelta(seconds=1), result={"x": 1})
    assert done.progress == 1.0 and done.result == {"x": 1} and done.error is None
    assert done.version == job.version + 1


def test_pending_cannot_complete() -> None:
    with pytest.raises(InvalidTransition):
        lifecycle.apply(_job(), Event.COMPLETE, T0)


def test_failure_carries_error_and_full_progress() -> None:
    job = lifecycle.apply(_job(), Event.START, T0)
    failed = lifecycle.apply(job, Event.FAIL, T0, error="boom", error_kind="x")
    assert failed.status is JobStatus.FAILED
    assert (failed.error, failed.error_kind, failed.progress) == ("boom", "x", 1.0)
    assert failed.result is None
