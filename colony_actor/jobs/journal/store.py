"""The job journal: durable job records in SQLite, so jobs survive a restart.

The runner calls `record` (a listener) with every new snapshot and `drop` when it evicts or
forgets a job. Both only touch an in-memory map of pending changes, keyed by job id, so
only the latest snapshot of each job is ever written; the writer task (`run`) writes each
batch of pending changes in one transaction in a worker thread. At start the supervisor
hands `load()` to `JobRunner.restore`, which fails the jobs that were pending or running
when the daemon stopped.

This module must never block the event loop (all SQLite work runs in worker threads, one
at a time, on one connection) and must never raise into the runner: `record` and `drop`
cannot fail, and a failed write (disk full, read-only file, corrupt database) is logged
and retried with a bounded backoff while the daemon keeps serving. It knows nothing of
Colony or HTTP.
"""

from __future__ import annotations

import contextlib
import dataclasses
import functools
import json
import sqlite3
from collections.abc import Callable, Mapping
from datetime import datetime
from pathlib import Path
from typing import Any

import structlog
import trio

from colony_actor.jobs.errors import FailureKind
from colony_actor.jobs.lifecycle import Job, JobStatus
from colony_actor.runtime import json_pieces, threads, timestamps

log = structlog.get_logger("colony_actor.jobs.journal.store")

SCHEMA_VERSION = 1

_SCHEMA = """
CREATE TABLE IF NOT EXISTS jobs (
    id TEXT PRIMARY KEY,
    status TEXT NOT NULL,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    version INTEGER NOT NULL,
    body TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS jobs_by_created_at ON jobs (created_at);
CREATE INDEX IF NOT EXISTS jobs_by_status ON jobs (status);
"""

# An upsert keeps the row's rowid, so (created_at, rowid) orders jobs created in the same
# microsecond by when they were first written.
_UPSERT = """
INSERT INTO jobs (id, status, created_at, updated_at, version, body)
VALUES (?, ?, ?, ?, ?, CAST(? AS TEXT))
ON CONFLICT (id) DO UPDATE SET
    status = excluded.status, updated_at = excluded.updated_at,
    version = excluded.version, body = excluded.body
"""

_DELETE = "DELETE FROM jobs WHERE id = ?"
# With the stored form's size in bytes, as the runner measured it when it was written
# (`len` of the text read back would count characters).
_SELECT = "SELECT id, body, length(CAST(body AS BLOB)) FROM jobs ORDER BY created_at, rowid"
_SELECT_ONE = "SELECT id, body FROM jobs WHERE id = ?"
# SQLite cuts a result's JSON text out of the stored form: no Python object is made of it.
# As bytes: a str of it would be decoded in one call.
_SELECT_RESULT_JSON = "SELECT CAST(body -> '$.result' AS BLOB) FROM jobs WHERE id = ?"

# A change waiting to be written: the latest snapshot, or None for "delete this job".
_Pending = dict[str, Job | None]


class JournalError(Exception):
    """The journal could not open, read or write its database."""


class JobJournal:
    def __init__(self, path: Path, *, retry_seconds: float = 0.5,
                 max_retry_seconds: float = 30.0, final_flush_seconds: float = 5.0) -> None:
        self.path = path
        self._retry_seconds = retry_seconds
        self._max_retry_seconds = max_retry_seconds
        self._final_flush_seconds = final_flush_seconds
        self._conn: sqlite3.Connection | None = None
        # One thread at a time uses the connection; the lock also keeps one batch in
        # flight, so a failed batch is back in `_pending` before the next one is taken.
        self._limiter = trio.CapacityLimiter(1)
        self._lock = trio.Lock()
        self._pending: _Pending = {}
        # Told of each job snapshot once it is on disk, with the size of its stored form
        # (the runner moves large results out of memory then).
        self.on_stored: Callable[[Job, int], None] | None = None
        # Every record/drop gets a number; `_written` is the highest one known on disk.
        self._recorded = 0
        self._written = 0
        self._wake = trio.Event()
        self.last_error: str | None = None

    # ------------------------------------------------------------------ life

    async def open(self) -> None:
        """Open (or create) the database: WAL mode, synchronous=NORMAL, the schema."""
        if self._conn is not None:
            return
        try:
            self._conn = await threads.run_sync(self._open_sync, limiter=self._limiter)
        except (sqlite3.Error, OSError) as exc:
            raise JournalError(f"Cannot open the job journal {self.path}: {exc}") from exc

    async def close(self) -> None:
        """Write what is still pending (best effort) and close the database."""
        if self._conn is None:
            return
        try:
            await self.flush()
        except JournalError as exc:
            log.error("journal_write_failed", path=str(self.path), error=str(exc),
                      pending=len(self._pending))
        conn, self._conn = self._conn, None
        await threads.run_sync(_close_quietly, conn, limiter=self._limiter)

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
        """Return once everything recorded so far is written; JournalError if a write
        fails (the changes stay pending and the writer retries them)."""
        target = self._recorded
        while self._written < target:
            async with self._lock:
                if self._written >= target:
                    return
                try:
                    await self._write_pending()
                except (sqlite3.Error, OSError, JournalError) as exc:
                    self.last_error = _describe(exc)
                    raise JournalError(
                        f"Cannot write the job journal {self.path}: {self.last_error}") from exc

    async def _write_logged(self) -> bool:
        """One attempt to write everything pending; False (and logged) if it failed."""
        async with self._lock:
            try:
                await self._write_pending()
            except Exception as exc:
                self.last_error = _describe(exc)
                expected = isinstance(exc, sqlite3.Error | OSError | JournalError)
                log.error("journal_write_failed", path=str(self.path), error=self.last_error,
                          pending=len(self._pending), exc_info=not expected)
                return False
        if self.last_error is not None:
            log.info("journal_write_recovered", path=str(self.path))
            self.last_error = None
        return True

    async def _write_pending(self) -> None:
        """Write the pending batch in one transaction. Call with `_lock` held."""
        batch, upto = self._pending, self._recorded
        self._pending = {}
        stored: list[tuple[Job, int]] = []
        if batch:
            try:
                stored = await threads.run_sync(self._write_sync, batch, limiter=self._limiter)
            except BaseException:
                # Keep the batch, but never over a newer change recorded meanwhile.
                for job_id, job in batch.items():
                    self._pending.setdefault(job_id, job)
                raise
        self._written = max(self._written, upto)
        if self.on_stored is not None:
            for job, size in stored:
                self.on_stored(job, size)

    # ------------------------------------------------------------------ reading

    async def load(self, *, result_bytes_in_memory: int | None = None) -> list[Job]:
        """Every stored job, oldest created first. Rows that cannot be decoded are skipped
        (and logged); only an unreadable database raises JournalError. A finished job
        stored in more than `result_bytes_in_memory` bytes comes without its result, as
        moved out of memory (`load_result` reads it back), as the runner does after a
        write."""
        try:
            return await threads.run_sync(self._load_sync, result_bytes_in_memory,
                                          limiter=self._limiter)
        except (sqlite3.Error, OSError, JournalError) as exc:
            raise JournalError(f"Cannot read the job journal {self.path}: {exc}") from exc

    async def load_result(self, job_id: str) -> tuple[bool, Any]:
        """(found, result) of a job as last recorded, written or still pending."""
        async with self._lock:  # a batch being written is out of `_pending` but not on disk yet
            if job_id in self._pending:
                job = self._pending[job_id]
                return (job is not None, job.result if job is not None else None)
            try:
                return await threads.run_sync(self._load_result_sync, job_id,
                                              limiter=self._limiter)
            except (sqlite3.Error, OSError, ValueError, TypeError, KeyError) as exc:
                raise JournalError(f"Cannot read job {job_id} from {self.path}: "
                                   f"{_describe(exc)}") from exc

    async def load_result_json(self, job_id: str) -> bytes | None:
        """The JSON text of a written job's result, as stored; None when it is not to be
        had that way (a change not written yet, an unknown job, a row SQLite cannot
        read): `load_result` answers then. A 21 MB result read back by `load_result`
        holds the GIL for about 150 ms while `json.loads` builds it; this does not."""
        async with self._lock:
            if job_id in self._pending:
                return None
            try:
                return await threads.run_sync(self._load_result_json_sync, job_id,
                                              limiter=self._limiter)
            except (sqlite3.Error, OSError):
                return None

    # ------------------------------------------------------------------ worker threads

    def _load_result_json_sync(self, job_id: str) -> bytes | None:
        row = self._connection().execute(_SELECT_RESULT_JSON, (job_id,)).fetchone()
        return row[0] if row is not None and isinstance(row[0], bytes) else None

    def _load_result_sync(self, job_id: str) -> tuple[bool, Any]:
        row = self._connection().execute(_SELECT_ONE, (job_id,)).fetchone()
        if row is None:
            return False, None
        return True, decode(row[0], row[1]).result

    def _open_sync(self) -> sqlite3.Connection:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        # Autocommit mode: transactions are the explicit BEGIN/COMMIT in _write_sync.
        conn = sqlite3.connect(self.path, check_same_thread=False, isolation_level=None)
        try:
            conn.execute("PRAGMA busy_timeout = 5000")
            mode = conn.execute("PRAGMA journal_mode = WAL").fetchone()
            if mode is None or str(mode[0]).lower() != "wal":
                raise JournalError(f"SQLite refused WAL mode (got {mode!r})")
            conn.execute("PRAGMA synchronous = NORMAL")
            conn.executescript(_SCHEMA)
            conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")
        except BaseException:
            conn.close()
            raise
        return conn

    def _connection(self) -> sqlite3.Connection:
        if self._conn is None:
            raise JournalError("The job journal is not open")
        return self._conn

    def _write_sync(self, batch: Mapping[str, Job | None]) -> list[tuple[Job, int]]:
        """Write the batch; the snapshots written, with the length of each stored form."""
        conn = self._connection()
        deletes: list[tuple[str]] = []
        upserts: list[tuple[str, str, str, str, int, bytes]] = []
        stored: list[tuple[Job, int]] = []
        for job_id, job in batch.items():
            if job is None:
                deletes.append((job_id,))
                continue
            body = _encode_or_log(job)
            if body is not None:
                upserts.append((job.id, job.status.value, timestamps.stored(job.created_at),
                                timestamps.stored(job.updated_at), job.version, body))
                stored.append((job, len(body)))
        conn.execute("BEGIN IMMEDIATE")
        try:
            conn.executemany(_DELETE, deletes)
            conn.executemany(_UPSERT, upserts)
            conn.execute("COMMIT")
        except BaseException:
            if conn.in_transaction:
                with contextlib.suppress(sqlite3.Error):
                    conn.execute("ROLLBACK")
            raise
        return stored

    def _load_sync(self, result_bytes_in_memory: int | None) -> list[Job]:
        # Decoding runs here too: ten thousand jobs with large results take a while.
        jobs: list[Job] = []
        for row_id, body, size in self._connection().execute(_SELECT).fetchall():
            try:
                job = decode(row_id, body)
                if (result_bytes_in_memory is not None and size > result_bytes_in_memory
                        and job.terminal and job.result is not None):
                    job = dataclasses.replace(job, result=None, result_offloaded=True)
                jobs.append(job)
            except (ValueError, TypeError, KeyError, RecursionError) as exc:
                log.warning("journal_row_skipped", path=str(self.path), job_id=str(row_id),
                            error=_describe(exc))
        return jobs


# ---------------------------------------------------------------------- the stored form


def encode(job: Job, *, default: Callable[[Any], Any] | None = None) -> bytes:
    """The job as stored (UTF-8): every field, times in UTC to the microsecond. Non-ASCII
    text is escaped, so a lone surrogate in a result cannot make a row unwritable; a
    result's SPARQL JSON text (json_pieces.Raw, valid UTF-8) goes in as it is. Written in
    pieces and kept as bytes: a result can be tens of megabytes, and this runs beside the
    event loop (a str of it would be decoded, and then encoded for SQLite, in one call each)."""
    return json_pieces.encode_bytes({
        "id": job.id,
        "job_type": job.job_type,
        "status": job.status.value,
        "progress": job.progress,
        "message": job.message,
        "created_at": timestamps.stored(job.created_at),
        "updated_at": timestamps.stored(job.updated_at),
        "params": job.params,
        "result": job.result,
        "error": job.error,
        "error_kind": job.error_kind,
        "started_at": timestamps.stored(job.started_at) if job.started_at else None,
        "finished_at": timestamps.stored(job.finished_at) if job.finished_at else None,
        "version": job.version,
    }, functools.partial(json.dumps, separators=(",", ":"), default=default))


def decode(row_id: object, body: object) -> Job:
    """A stored row back into a Job; ValueError/TypeError/KeyError if it is not one."""
    if not isinstance(body, str | bytes):
        raise TypeError(f"body is {type(body).__name__}, not text")
    doc = json.loads(body)
    if not isinstance(doc, dict):
        raise TypeError(f"body is a JSON {type(doc).__name__}, not an object")
    job_id = _text(doc, "id")
    if job_id != row_id:
        raise ValueError(f"body holds job {job_id!r}")
    params = doc["params"]
    if not isinstance(params, dict):
        raise TypeError("params is not an object")
    return Job(
        id=job_id,
        job_type=_text(doc, "job_type"),
        status=JobStatus(doc["status"]),
        progress=_number(doc, "progress"),
        message=_text(doc, "message"),
        created_at=timestamps.parse(doc["created_at"]),
        updated_at=timestamps.parse(doc["updated_at"]),
        params=params,
        result=doc["result"],
        error=_optional_text(doc, "error"),
        error_kind=_failure_kind(_optional_text(doc, "error_kind")),
        started_at=_optional_moment(doc["started_at"]),
        finished_at=_optional_moment(doc["finished_at"]),
        version=_integer(doc, "version"),
    )


def _encode_or_log(job: Job) -> bytes | None:
    """Never let one unencodable result block the whole batch (it would be retried
    forever): fall back to repr() for unknown objects, or skip the job."""
    try:
        return encode(job)
    except TypeError as exc:
        log.warning("journal_encode_lossy", job_id=job.id, error=_describe(exc))
    except (ValueError, RecursionError) as exc:
        log.error("journal_encode_failed", job_id=job.id, error=_describe(exc))
        return None
    try:
        return encode(job, default=repr)
    except (TypeError, ValueError, RecursionError) as exc:
        log.error("journal_encode_failed", job_id=job.id, error=_describe(exc))
        return None


def _failure_kind(value: str | None) -> FailureKind | None:
    # A kind this version does not know (written by a newer one) still reads as a failure.
    if value is None:
        return None
    try:
        return FailureKind(value)
    except ValueError:
        return FailureKind.OPERATION_FAILED


def _optional_moment(value: Any) -> datetime | None:
    return None if value is None else timestamps.parse(value)


def _text(doc: Mapping[str, Any], key: str) -> str:
    value = doc[key]
    if not isinstance(value, str):
        raise TypeError(f"{key} is not text")
    return value


def _optional_text(doc: Mapping[str, Any], key: str) -> str | None:
    return None if doc[key] is None else _text(doc, key)


def _number(doc: Mapping[str, Any], key: str) -> float:
    value = doc[key]
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise TypeError(f"{key} is not a number")
    return float(value)


def _integer(doc: Mapping[str, Any], key: str) -> int:
    value = doc[key]
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError(f"{key} is not an integer")
    return value


def _describe(exc: BaseException) -> str:
    text = str(exc)
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


def _close_quietly(conn: sqlite3.Connection) -> None:
    with contextlib.suppress(sqlite3.Error):
        conn.close()
