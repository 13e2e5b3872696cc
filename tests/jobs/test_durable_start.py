"""Durable starts: a start is answered only once the journal has written the job, the job
runs only then, and a job the journal cannot write is refused and never runs."""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import Any

import pytest
import trio
import trio.testing

from colony_actor.jobs.errors import NotRecorded, ShuttingDown
from colony_actor.jobs.journal.database import Batch, JournalDatabase
from colony_actor.jobs.journal.store import JobJournal
from colony_actor.jobs.lifecycle import Job, JobStatus
from colony_actor.jobs.recording import NOT_RECORDED
from colony_actor.jobs.runner import INTERRUPTED, JobRequest, JobRunner, ProgressFn
from tests.jobs.support import WatchedDatabase, settings


class GatedDatabase(JournalDatabase):
    """The real journal database, whose writes wait at a gate while it is closed."""

    def __init__(self, path: Path) -> None:
        super().__init__(path)
        self.gate = trio.Event()
        self.held = trio.Event()  # set once a write waits at the closed gate

    def write(self, batch: Batch) -> list[tuple[Job, int]]:
        trio.from_thread.run_sync(self.held.set)
        trio.from_thread.run(self.gate.wait)
        return super().write(batch)


def on_disk(path: Path) -> dict[str, str]:
    """Job id -> status, as a fresh connection reads the journal file."""
    with sqlite3.connect(path) as conn:
        return dict(conn.execute("SELECT id, status FROM jobs").fetchall())


async def durable(nursery: trio.Nursery, journal: JobJournal, **changes: Any) -> JobRunner:
    """A runner whose starts wait for `journal`, both running in `nursery`."""
    await journal.open()
    await nursery.start(journal.run)
    runner = JobRunner(settings(**changes), listeners=[journal.record],
                       drop_listeners=[journal.drop], result_store=journal,
                       durable_starts=True)
    journal.on_stored = runner.result_stored
    await nursery.start(runner.run)
    return runner


async def test_a_start_is_answered_once_the_journal_has_the_job(tmp_path: Path) -> None:
    path = tmp_path / "jobs.sqlite3"
    database = GatedDatabase(path)
    ran = trio.Event()

    async def operation(progress: ProgressFn) -> Any:
        ran.set()
        return {"message": "done"}

    answered: list[Job] = []
    async with trio.open_nursery() as nursery:
        runner = await durable(nursery, JobJournal(path, database=database))

        async def start() -> None:
            answered.append(await runner.start(JobRequest("search", operation, "Searching")))

        nursery.start_soon(start)
        await database.held.wait()  # the job's first write waits at the gate
        await trio.testing.wait_all_tasks_blocked()
        assert answered == [] and not ran.is_set()
        (held,) = runner.list()[0]
        assert held.status is JobStatus.PENDING  # in the table: a GET would find it
        assert runner.statistics().unrecorded == 1
        assert on_disk(path) == {}
        database.gate.set()
        await ran.wait()
        assert [job.id for job in answered] == [held.id]
        assert held.id in on_disk(path)
        assert runner.statistics().unrecorded == 0
        nursery.cancel_scope.cancel()


async def test_a_job_the_journal_cannot_write_is_refused_and_never_runs(
        tmp_path: Path) -> None:
    path = tmp_path / "jobs.sqlite3"
    database = WatchedDatabase(path)
    database.broken = sqlite3.OperationalError("disk I/O error")
    ran = trio.Event()

    async def operation(progress: ProgressFn) -> Any:
        ran.set()
        return None

    async with trio.open_nursery() as nursery:
        journal = JobJournal(path, database=database, retry_seconds=0.01,
                             max_retry_seconds=0.05)
        runner = await durable(nursery, journal, record_timeout_seconds=0.3)
        with pytest.raises(NotRecorded, match=r"did not record the job within 0\.3 seconds"):
            await runner.start(JobRequest("search", operation, "Searching"))
        (failed,) = runner.list()[0]
        assert failed.status is JobStatus.FAILED and failed.error == NOT_RECORDED
        assert not runner.busy and runner.statistics().unrecorded == 0
        assert not ran.is_set()
        # Once the disk heals, jobs start again, and the failed one is written too.
        database.broken = None
        job = await runner.start(JobRequest("search", operation, "Searching"))
        await ran.wait()
        await journal.flush()
        assert on_disk(path)[failed.id] == "failed" and job.id in on_disk(path)
        nursery.cancel_scope.cancel()


async def test_a_repeated_start_waits_for_the_same_job(tmp_path: Path) -> None:
    path = tmp_path / "jobs.sqlite3"
    database = GatedDatabase(path)

    async def operation(progress: ProgressFn) -> Any:
        return None

    answered: list[str] = []
    async with trio.open_nursery() as nursery:
        runner = await durable(nursery, JobJournal(path, database=database))
        request = JobRequest("search", operation, "Searching", idempotency_key="k",
                             fingerprint="same")

        async def start() -> None:
            answered.append((await runner.start(request)).id)

        async with trio.open_nursery() as starts:
            starts.start_soon(start)
            await database.held.wait()
            starts.start_soon(start)
            await trio.testing.wait_all_tasks_blocked()
            assert answered == []
            database.gate.set()
        assert answered[0] == answered[1] and len(runner) == 1
        nursery.cancel_scope.cancel()


async def test_a_start_waiting_when_the_actor_ends_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "jobs.sqlite3"
    database = GatedDatabase(path)

    async def operation(progress: ProgressFn) -> Any:
        return None

    async with trio.open_nursery() as nursery:
        runner = await durable(nursery, JobJournal(path, database=database))
        outcome: list[BaseException] = []

        async def start() -> None:
            try:
                await runner.start(JobRequest("search", operation, "Searching"))
            except ShuttingDown as exc:
                outcome.append(exc)

        async with trio.open_nursery() as starts:
            starts.start_soon(start)
            await database.held.wait()
            await runner.shutdown(0)
            runner.close()
        assert isinstance(outcome[0], ShuttingDown)
        (job,) = runner.list()[0]
        assert job.status is JobStatus.FAILED and job.error == INTERRUPTED
        database.gate.set()
        nursery.cancel_scope.cancel()
