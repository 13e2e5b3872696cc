"""The job table: every held job's latest snapshot, by id, in creation order.

It keeps what listing needs (creation order, the cursors of a page) and what retention
needs (terminal jobs in the order they finished, with the trio time each finished, and the
count bound). Any task may read it. Only the actor writes it (ARCHITECTURE.md, Rule 2):
the task that `claim`s the table is the one whose `put` and `drop` it accepts, and a write
from any other task raises NotTheActor. It never decides whether a job may change
(lifecycle.py does) and never tells anyone of a change (the runner does).
"""

from __future__ import annotations

import itertools
import math
from collections import OrderedDict

import trio

from colony_actor.jobs.lifecycle import Job, JobStatus


class NotTheActor(RuntimeError):
    """A task other than the actor's tried to change the job table."""


class JobTable:
    def __init__(self, max_retained: int) -> None:
        self.max_retained = max_retained
        # Insertion order is creation order, so reversed() lists newest first.
        self._jobs: dict[str, Job] = {}
        self._seq: dict[str, int] = {}
        self._next_seq = 0
        # Terminal jobs in finishing order, with the trio time each finished.
        self._finished: OrderedDict[str, float] = OrderedDict()
        self._writer: trio.lowlevel.Task | None = None

    def claim(self) -> None:
        """Make the calling task the table's only writer (the actor, as it starts)."""
        task = trio.lowlevel.current_task()
        if self._writer is not None and self._writer is not task:
            raise NotTheActor(f"The job table is already written by {self._writer.name}")
        self._writer = task

    # ------------------------------------------------------------------ reads

    def get(self, job_id: str) -> Job | None:
        return self._jobs.get(job_id)

    def __len__(self) -> int:
        return len(self._jobs)

    def first_finish(self) -> float:
        """When the longest held terminal job finished (trio time); inf if none is held."""
        return next(iter(self._finished.values()), math.inf)

    def finished_by(self, moment: float) -> list[str]:
        """The terminal jobs that finished at or before `moment`."""
        return [job_id for job_id, finished in self._finished.items() if finished <= moment]

    def over_bound(self) -> list[str]:
        """The oldest terminal jobs past `max_retained` terminal jobs."""
        excess = len(self._finished) - self.max_retained
        return list(itertools.islice(self._finished, max(excess, 0)))

    def list(self, *, status: JobStatus | None = None, job_type: str | None = None,
             limit: int = 50, cursor: int | None = None) -> tuple[list[Job], int | None]:
        """Newest first; `cursor` is the sequence number below which to continue."""
        page: list[Job] = []
        for job in reversed(self._jobs.values()):
            seq = self._seq[job.id]
            if cursor is not None and seq >= cursor:
                continue
            if status is not None and job.status is not status:
                continue
            if job_type is not None and job.job_type != job_type:
                continue
            if len(page) == limit:
                return page, self._seq[page[-1].id]
            page.append(job)
        return page, None

    # ------------------------------------------------------------------ writes (the actor)

    def put(self, job: Job, *, finished_at: float | None = None) -> None:
        """Hold `job` as its latest snapshot. A job that becomes terminal is counted
        finished now, or at `finished_at` (a restored job)."""
        self._check_writer()
        if job.id not in self._jobs:
            self._seq[job.id] = self._next_seq
            self._next_seq += 1
        self._jobs[job.id] = job
        if job.terminal and job.id not in self._finished:
            self._finished[job.id] = (trio.current_time() if finished_at is None
                                      else finished_at)

    def drop(self, job_id: str) -> None:
        self._check_writer()
        self._jobs.pop(job_id, None)
        self._seq.pop(job_id, None)
        self._finished.pop(job_id, None)

    def _check_writer(self) -> None:
        task = trio.lowlevel.current_task()
        if task is not self._writer:
            raise NotTheActor(
                f"Task {task.name} tried to change the job table; only the runner's own "
                f"task may (its inbox takes every change)")
