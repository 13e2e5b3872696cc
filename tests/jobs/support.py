"""Builders shared by the job tests: the runner's settings, jobs made through the real
transition table, and a journal database that tells the test of each write attempt."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import trio

from colony_actor.jobs import lifecycle
from colony_actor.jobs.errors import FailureKind
from colony_actor.jobs.journal.database import Batch, JournalDatabase
from colony_actor.jobs.journal.store import JobJournal
from colony_actor.jobs.lifecycle import Event, Job, JobStatus
from colony_actor.jobs.runner import INTERRUPTED, RunnerSettings

T0 = datetime(2025, 3, 1, 12, 0, 0, 123456, tzinfo=UTC)

SEARCH_RESULT: dict[str, Any] = {
    "message": "Found 1000 results for «café» — 東京",
    "results": [{"subject": f"ant://pod/{n}", "name": f"Ærø {n} ☕",
                 "score": n / 7, "tags": ["ü", None, True, {"depth": [n, [n + 1]]}]}
                for n in range(1000)],
    "lone_surrogate": "\ud800",
}


# Roomy limits and no time limit, so that a test sets only the one it is about.
ROOMY = RunnerSettings(queue_size=16, retention_seconds=86400.0, max_retained=10_000,
                       timeouts={}, results_in_memory=256, result_bytes_in_memory=1 << 20,
                       record_timeout_seconds=10.0)


def settings(**changes: Any) -> RunnerSettings:
    """The runner's settings for a test: ROOMY, with `changes`."""
    return dataclasses.replace(ROOMY, **changes)


def make_job(n: int, status: JobStatus = JobStatus.PENDING, *, result: Any = None,
             params: Mapping[str, Any] | None = None) -> Job:
    """A job that reached `status` through the real transition table."""
    at = T0 + timedelta(seconds=n)
    job = lifecycle.new_job(f"job-{n}", "search", dict(params or {"q": "café", "n": n}),
                            "Searching", at)
    if status is JobStatus.PENDING:
        return job
    if status is JobStatus.FAILED and n % 2:  # a pending job can fail too (interrupted)
        return lifecycle.apply(job, Event.FAIL, at + timedelta(seconds=1), error=INTERRUPTED,
                               error_kind=FailureKind.INTERRUPTED)
    job = lifecycle.apply(job, Event.START, at + timedelta(milliseconds=1))
    job = lifecycle.apply(job, Event.PROGRESS, at + timedelta(milliseconds=2), progress=0.5,
                          message="Half way, ½")
    step = at + timedelta(seconds=3, microseconds=7)
    match status:
        case JobStatus.RUNNING:
            return job
        case JobStatus.COMPLETED:
            return lifecycle.apply(job, Event.COMPLETE, step, result=result,
                                   message="Fertig ✓")
        case JobStatus.FAILED:
            return lifecycle.apply(job, Event.FAIL, step, error="Der Pod fehlt: «x»",
                                   error_kind=FailureKind.OPERATION_FAILED)
        case _:
            return lifecycle.apply(job, Event.CANCEL, step, error="Cancelled by request",
                                   error_kind=FailureKind.CANCELLED)


async def opened(path: Path, **options: Any) -> JobJournal:
    journal = JobJournal(path, **options)
    await journal.open()
    return journal


class WatchedDatabase(JournalDatabase):
    """The real journal database, failing the writes it is told to fail and telling the test
    of each write attempt, with the trio time it ended."""

    def __init__(self, path: Path, failures: Iterable[BaseException] = ()) -> None:
        super().__init__(path)
        self.failures = list(failures)  # raised by the next writes, one each
        self.broken: BaseException | None = None  # raised by every write while set
        self.attempts: list[float] = []
        self._attempted = trio.Event()

    def write(self, batch: Batch) -> list[tuple[Job, int]]:
        # Runs in the journal's worker thread: the count is kept on the trio thread.
        try:
            if self.broken is not None:
                raise self.broken
            if self.failures:
                raise self.failures.pop(0)
            return super().write(batch)
        finally:
            trio.from_thread.run_sync(self._count)

    def _count(self) -> None:
        self.attempts.append(trio.current_time())
        self._attempted.set()
        self._attempted = trio.Event()

    async def attempted(self, count: int) -> None:
        """Return once `count` writes were attempted in all."""
        while len(self.attempts) < count:
            await self._attempted.wait()
