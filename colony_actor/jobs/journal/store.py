"""The job journal: durable job records, so jobs survive a restart.

The runner calls `record` (a listener) with every new snapshot and `drop` when it evicts or
forgets a job. Both only touch an in-memory map of pending changes, keyed by job id, so
only the latest snapshot of each job is ever written; the writer task (`run`) writes each
batch of pending changes in one transaction in a worker thread, and tells `on_stored` of
each snapshot once it is on disk. At start the supervisor hands `load()` to
`JobRunner.restore`, which fails the jobs that were pending or running when the daemon
stopped. A journal found damaged, anywhere in it, when it is opened or loaded is moved
aside (`set_aside_to` says where; the file is kept for inspection) and an empty one
started in its place, with a warning: it must never keep the daemon down.

This module must never block the event loop (all SQLite work runs in worker threads, one
at a time, through database.py) and must never raise into the runner: `record` and `drop`
cannot fail, and a failed write (disk full, read-only file, corrupt database) is logged
and retried with a bounded backoff while the daemon keeps serving.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import structlog
import trio

from colony_actor.jobs.journal.database import (
    JournalDamaged,
    JournalDatabase,
    JournalError,
    describe,
)
from colony_actor.jobs.lifecycle import Job
from colony_actor.runtime import threads

__all__ = ["JobJournal", "JournalDamaged", "JournalError", "OnStored"]

log = structlog.get_logger("colony_actor.jobs.journal.store")

# Told of a snapshot once it is on disk, with the size of its stored form in bytes.
OnStored = Callable[[Job, int], Awaitable[None]]


class JobJournal:
    def __init__(self, path: Path, *, retry_seconds: float = 0.5,
                 max_retry_seconds: float = 30.0, final_flush_seconds: float = 5.0,
                 database: JournalDatabase | None = None) -> None:
        self.path = path
        self._database = database if database is not None else JournalDatabase(path)
        self._retry_seconds = retry_seconds
        self._max_retry_seconds = max_retry_seconds
        self._final_flush_seconds = final_flush_seconds
        # One thread at a time uses the connection; the lock also keeps one batch in
        # flight, so a failed batch is back in `_pending` before the next one is taken.
        self._limiter = trio.CapacityLimiter(1)
        self._lock = trio.Lock()
        # A change waiting to be written: the latest snapshot, or None for "delete it".
        self._pending: dict[str, Job | None] = {}
        # The runner moves large results out of memory once they are stored.
        self.on_stored: OnStored | None = None
        # Every record/drop gets a number; `_written` is the highest one known on disk.
        self._recorded = 0
        self._written = 0
        self._wake = trio.Event()
        self.last_error: str | None = None
        # Where a damaged journal file was moved, if one was.
        self.set_aside_to: Path | None = None

    # ------------------------------------------------------------------ life

    async def open(self) -> None:
        """Open (or create) the database (WAL mode, synchronous=NORMAL, the schema) and
        check every page of it; a damaged one is set aside for an empty one. JournalError
        if the file cannot be used at all (permissions, I/O)."""
        if self._database.is_open:
            return
        try:
            await threads.run_sync(self._open_checked, limiter=self._limiter)
        except JournalDamaged as exc:
            await self._set_aside(exc)

    def _open_checked(self) -> None:
        self._database.open()
        self._database.check()

    async def _set_aside(self, damage: JournalDamaged) -> None:
        aside = await threads.run_sync(self._database.set_aside, limiter=self._limiter)
        self.set_aside_to = aside
        log.warning("journal_set_aside", path=str(self.path), moved_to=str(aside),
                    error=str(damage), hint="the job journal was damaged: it was moved "
                    "aside for inspection, and the daemon starts with an empty one")
        await threads.run_sync(self._database.open, limiter=self._limiter)

    async def close(self) -> None:
        """Write what is still pending (best effort) and close the database."""
        if not self._database.is_open:
            return
        try:
            await self.flush()
        except JournalError as exc:
            log.error("journal_write_failed", path=str(self.path), error=str(exc),
                      pending=len(self._pending))
        await threads.run_sync(self._database.close, limiter=self._limiter)

    # ------------------------------------------------------------------ listeners (sync)

    def record(self, job: Job) -> None:
        """Queue the job's latest snapshot for writing. Never blocks, never raises."""
        if job.result_offloaded:
            return  # a snapshot without its result must never replace the stored one
        self._pending[job.id] = job
        self._recorded += 1
        self._wake.set()

    def drop(self, job_id: str) -> None:
        """Queue the removal of a job; a later `record` of the same id supersedes it."""
        self._pending[job_id] = None
        self._recorded += 1
        self._wake.set()

    @property
    def pending(self) -> int:
        """How many jobs have changes not yet written."""
        return len(self._pending)

    # ------------------------------------------------------------------ the writer

    async def run(self, *, task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED
                  ) -> None:
        """Write pending changes until cancelled, then flush one last time (shielded,
        bounded). A failed write is logged and retried after a growing pause; it never
        ends this task."""
        task_status.started()
        delay = self._retry_seconds
        try:
            while True:
                await self._wake.wait()
                self._wake = trio.Event()
                if await self._write_logged():
                    delay = self._retry_seconds
                else:
                    await trio.sleep(delay)
                    delay = min(delay * 2, self._max_retry_seconds)
                    self._wake.set()
        finally:
            with trio.CancelScope(shield=True), trio.move_on_after(self._final_flush_seconds):
                await self._write_logged()

    async def flush(self) -> None:
        """Return once everything recorded so far is written (and `on_stored` told of
        it); JournalError if a write fails (the changes stay pending and the writer
        retries them)."""
        target = self._recorded
        while self._written < target:
            async with self._lock:
                if self._written >= target:
                    return
                try:
                    stored, upto = await self._write_pending()
                except (sqlite3.Error, OSError, JournalError) as exc:
                    self.last_error = describe(exc)
                    raise JournalError(
                        f"Cannot write the job journal {self.path}: {self.last_error}") from exc
                await self._tell_stored(stored, upto)

    async def _write_logged(self) -> bool:
        """One attempt to write everything pending; False (and logged) if it failed."""
        async with self._lock:
            try:
                stored, upto = await self._write_pending()
            except Exception as exc:
                self.last_error = describe(exc)
                expected = isinstance(exc, sqlite3.Error | OSError | JournalError)
                log.error("journal_write_failed", path=str(self.path), error=self.last_error,
                          pending=len(self._pending), exc_info=not expected)
                return False
            if self.last_error is not None:
                log.info("journal_write_recovered", path=str(self.path))
                self.last_error = None
            await self._tell_stored(stored, upto)
        return True

    async def _write_pending(self) -> tuple[list[tuple[Job, int]], int]:
        """Write the pending batch in one transaction: the snapshots written with their
        sizes, and the number of the last change the batch holds. Call with `_lock` held."""
        batch, upto = self._pending, self._recorded
        self._pending = {}
        if not batch:
            return [], upto
        try:
            stored = await threads.run_sync(self._database.write, batch, limiter=self._limiter)
        except BaseException:
            # Keep the batch, but never over a newer change recorded meanwhile.
            for job_id, job in batch.items():
                self._pending.setdefault(job_id, job)
            raise
        return stored, upto

    async def _tell_stored(self, stored: list[tuple[Job, int]], upto: int) -> None:
        """Tell `on_stored` of what a batch wrote, then count it written: `flush` returns
        once the listener heard of what it waited for. Call with `_lock` held."""
        try:
            if self.on_stored is not None:
                for job, size in stored:
                    try:
                        await self.on_stored(job, size)
                    except Exception:
                        log.exception("journal_listener_failed", job_id=job.id)
        finally:
            self._written = max(self._written, upto)

    # ------------------------------------------------------------------ reading

    async def load(self, *, result_bytes_in_memory: int | None = None) -> list[Job]:
        """Every stored job, oldest created first. Rows that cannot be decoded are skipped
        (and logged); a damaged database is set aside (as in `open`) and nothing loaded;
        only an unreadable one raises JournalError. A finished job
        stored in more than `result_bytes_in_memory` bytes comes without its result, as
        moved out of memory (`load_result` reads it back), as the runner does after a
        write."""
        try:
            return await threads.run_sync(self._database.load, result_bytes_in_memory,
                                          limiter=self._limiter)
        except JournalDamaged as exc:
            await self._set_aside(exc)
            return []

    async def load_result(self, job_id: str) -> tuple[bool, Any]:
        """(found, result) of a job as last recorded, written or still pending."""
        async with self._lock:  # a batch being written is out of `_pending` but not on disk yet
            if job_id in self._pending:
                job = self._pending[job_id]
                return (job is not None, job.result if job is not None else None)
            return await threads.run_sync(self._database.load_result, job_id,
                                          limiter=self._limiter)

    async def load_result_json(self, job_id: str) -> bytes | None:
        """The JSON text of a written job's result, as stored; None when it is not to be
        had that way (a change not written yet, an unknown job, a row SQLite cannot
        read): `load_result` answers then. A 21 MB result read back by `load_result`
        holds the GIL for about 150 ms while `json.loads` builds it; this does not."""
        async with self._lock:
            if job_id in self._pending:
                return None
            return await threads.run_sync(self._database.load_result_json, job_id,
                                          limiter=self._limiter)
