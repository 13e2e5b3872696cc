"""Job states, the transition table, and the frozen Job snapshot.

Everything that decides whether a job may change state lives here, in `TRANSITIONS`, a
table to read top to bottom. Pure: no I/O, no trio, no clock of its own (callers pass
`now`). A terminal job never changes again; progress never decreases and is 1.0 exactly
when the job is terminal.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any

from colony_actor.jobs.errors import FailureKind


class JobStatus(StrEnum):
    PENDING = "pending"
    RUNNING = "running"
    COMPLETED = "completed"
    FAILED = "failed"
    CANCELLED = "cancelled"

    @property
    def terminal(self) -> bool:
        return self in TERMINAL


TERMINAL = frozenset({JobStatus.COMPLETED, JobStatus.FAILED, JobStatus.CANCELLED})


class Event(StrEnum):
    START = "start"
    PROGRESS = "progress"
    COMPLETE = "complete"
    FAIL = "fail"
    CANCEL = "cancel"


# (state, event) -> next state. Anything not listed is refused with InvalidTransition.
TRANSITIONS: dict[tuple[JobStatus, Event], JobStatus] = {
    (JobStatus.PENDING, Event.START): JobStatus.RUNNING,
    (JobStatus.PENDING, Event.CANCEL): JobStatus.CANCELLED,
    # A pending job fails when the daemon stops or restarts before it could start.
    (JobStatus.PENDING, Event.FAIL): JobStatus.FAILED,
    (JobStatus.RUNNING, Event.PROGRESS): JobStatus.RUNNING,
    (JobStatus.RUNNING, Event.COMPLETE): JobStatus.COMPLETED,
    (JobStatus.RUNNING, Event.FAIL): JobStatus.FAILED,
    (JobStatus.RUNNING, Event.CANCEL): JobStatus.CANCELLED,
}

# Progress of a running job stays below 1.0: 1.0 means "terminal" to clients.
RUNNING_PROGRESS_CAP = 0.99


class InvalidTransition(Exception):
    def __init__(self, job: Job, event: Event) -> None:
        super().__init__(f"Job {job.id} cannot {event.value} while {job.status.value}")
        self.job = job
        self.event = event


@dataclass(frozen=True)
class Job:
    """An immutable snapshot of one job. The runner replaces it on every change."""

    id: str
    job_type: str
    status: JobStatus
    progress: float
    message: str
    created_at: datetime
    updated_at: datetime
    params: dict[str, Any] = field(default_factory=dict)
    result: Any = None
    error: str | None = None
    # Why a job failed, for callers that map failures (e.g. "invalid_request" -> 400).
    error_kind: FailureKind | None = None
    started_at: datetime | None = None
    finished_at: datetime | None = None
    version: int = 1
    # The result was moved out of memory into the journal (`result` is then None here);
    # readers fetch it through the runner. Not a change of the job: the version stays.
    result_offloaded: bool = False

    @property
    def terminal(self) -> bool:
        return self.status.terminal


def new_job(job_id: str, job_type: str, params: dict[str, Any], message: str,
            now: datetime) -> Job:
    return Job(id=job_id, job_type=job_type, status=JobStatus.PENDING, progress=0.0,
               message=message, created_at=now, updated_at=now, params=dict(params))


def apply(job: Job, event: Event, now: datetime, *, progress: float | None = None,
          message: str | None = None, result: Any = None, error: str | None = None,
          error_kind: FailureKind | None = None) -> Job:
    """The one place a job changes: the next snapshot after `event`, or InvalidTransition."""
    target = TRANSITIONS.get((job.status, event))
    if target is None:
        raise InvalidTransition(job, event)
    changes: dict[str, Any] = {"status": target, "updated_at": now, "version": job.version + 1}
    if message is not None:
        changes["message"] = message
    if event is Event.START:
        changes["started_at"] = now
    if event is Event.PROGRESS and progress is not None:
        bounded = min(max(progress, 0.0), RUNNING_PROGRESS_CAP)
        changes["progress"] = max(job.progress, bounded)
    if target.terminal:
        changes["progress"] = 1.0
        changes["finished_at"] = now
        if target is JobStatus.COMPLETED:
            changes["result"] = result
        else:
            changes["error"] = error or ("Cancelled" if target is JobStatus.CANCELLED
                                         else "Failed")
            changes["error_kind"] = error_kind
    return dataclasses.replace(job, **changes)
