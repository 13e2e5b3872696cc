"""The one way held jobs change, and everyone told of each change.

A new snapshot (a new job, one `lifecycle.apply` made, a restored one) goes into the table,
then to the waiters' signals, the result memory and the count bound, and the listeners
(the journal, the metrics); dropping a job tells the same parties. Only the actor calls
this, and the table refuses any other task's write. It never decides whether a request
may proceed (the runner does) nor what an event may do to a job (lifecycle.py does).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from datetime import datetime
from typing import Any

import structlog

from colony_actor.jobs import lifecycle
from colony_actor.jobs.errors import FailureKind, JobNotFound
from colony_actor.jobs.execution import INTERRUPTED
from colony_actor.jobs.follow import Followers
from colony_actor.jobs.idempotency import IdempotencyKeys
from colony_actor.jobs.lifecycle import Event, Job
from colony_actor.jobs.results import ResultMemory, moved_out
from colony_actor.jobs.table import JobTable

log = structlog.get_logger("colony_actor.jobs")

Listener = Callable[[Job], None]
DropListener = Callable[[str], None]


class Changes:
    def __init__(self, *, max_retained: int, results: ResultMemory,
                 now: Callable[[], datetime], listeners: Iterable[Listener],
                 drop_listeners: Iterable[DropListener]) -> None:
        self.table = JobTable(max_retained)
        self.follow = Followers(self.table.get)
        self.keys = IdempotencyKeys()
        self.results = results
        self.now = now
        self._listeners = list(listeners)
        self._drop_listeners = list(drop_listeners)

    def add(self, job: Job) -> None:
        """A new job."""
        self._publish(job, previous=None)

    def apply(self, job_id: str, event: Event, **changes: Any) -> Job:
        """The held job after `event` (lifecycle.InvalidTransition if it may not)."""
        previous = self.table.get(job_id)
        if previous is None:
            raise JobNotFound(job_id)
        job = lifecycle.apply(previous, event, self.now(), **changes)
        self._publish(job, previous)
        return job

    def restore(self, jobs: Iterable[Job], now: float) -> None:
        """Hold jobs loaded from a journal, oldest first, each counted finished as long
        before `now` (trio time) as it finished before the wall clock's now. A job that
        was pending or running is failed as interrupted, and the listeners told."""
        wall = self.now()
        for job in sorted(jobs, key=lambda j: j.created_at):
            if self.table.get(job.id) is not None:
                continue
            if not job.terminal:
                job = lifecycle.apply(job, Event.FAIL, wall, error=INTERRUPTED,
                                      error_kind=FailureKind.INTERRUPTED)
                self._notify(job)
            age = (wall - (job.finished_at or job.updated_at)).total_seconds()
            self.table.put(job, finished_at=now - max(age, 0.0))
            if not job.result_offloaded:
                self._keep_result(job.id)
        self._enforce_count_bound()

    def result_stored(self, job: Job) -> None:
        """The store has this snapshot: its result leaves memory, if it is still the
        job's newest."""
        current = self.table.get(job.id)
        if current is not None and current.version == job.version and current.terminal:
            self.results.forget(job.id)
            self._move_out(job.id)

    def drop(self, job_id: str) -> None:
        self.results.forget(job_id)
        self.table.drop(job_id)
        self.follow.dropped(job_id)
        self.keys.forget(job_id)
        for listener in self._drop_listeners:
            try:
                listener(job_id)
            except Exception:
                log.exception("job_listener_failed", job_id=job_id)

    def _publish(self, job: Job, previous: Job | None) -> None:
        self.table.put(job)
        if job.terminal:
            self._enforce_count_bound()
            self._keep_result(job.id)
        self.follow.published(job, previous)
        if previous is None or previous.status is not job.status:
            _log_transition(job)
        self._notify(job)

    def _notify(self, job: Job) -> None:
        for listener in self._listeners:
            try:
                listener(job)
            except Exception:
                log.exception("job_listener_failed", job_id=job.id)

    def _enforce_count_bound(self) -> None:
        for job_id in self.table.over_bound():
            self.drop(job_id)

    def _keep_result(self, job_id: str) -> None:
        for leaving in self.results.keep(job_id):
            self._move_out(leaving)

    def _move_out(self, job_id: str) -> None:
        job = self.table.get(job_id)
        moved = moved_out(job) if job is not None else None
        if moved is not None:
            self.table.put(moved)


def _log_transition(job: Job) -> None:
    fields: dict[str, Any] = {"job_id": job.id, "job_type": job.job_type,
                              "status": job.status.value, "progress": job.progress}
    if job.terminal and job.started_at is not None and job.finished_at is not None:
        fields["duration_ms"] = round(
            (job.finished_at - job.started_at).total_seconds() * 1000, 3)
    if job.error is not None:
        fields["error"] = job.error
    log.info("job_" + job.status.value, **fields)
