"""The journal's SQLite file: open and check it, write a batch of changes, load the jobs,
load a result, set a damaged file aside.

One connection in WAL mode with synchronous=NORMAL; a batch is one transaction. Every
method here blocks: the journal calls them in a worker thread, one at a time, and this
module must never be called on the event loop. It must never let one job that cannot be
encoded block a whole batch (it would be retried forever), and never fail a load over a
row that cannot be decoded (it is logged and skipped). A file SQLite finds damaged raises
JournalDamaged, told apart from a file it cannot use (JournalError: permissions, I/O).
"""

from __future__ import annotations

import contextlib
import dataclasses
import os
import sqlite3
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import structlog

from colony_actor.jobs.journal.codec import decode, encode
from colony_actor.jobs.lifecycle import Job
from colony_actor.runtime import timestamps

log = structlog.get_logger("colony_actor.jobs.journal.database")

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
# With the stored form's size in bytes, as measured when it was written (`len` of the
# text read back would count characters).
_SELECT = "SELECT id, body, length(CAST(body AS BLOB)) FROM jobs ORDER BY created_at, rowid"
_SELECT_ONE = "SELECT id, body FROM jobs WHERE id = ?"
# SQLite cuts a result's JSON text out of the stored form: no Python object is made of it.
# As bytes: a str of it would be decoded in one call.
_SELECT_RESULT_JSON = "SELECT CAST(body -> '$.result' AS BLOB) FROM jobs WHERE id = ?"

# A batch of changes: each job's latest snapshot, or None for "delete this job".
Batch = Mapping[str, Job | None]

# SQLite's primary result codes for a file that is not a sound database.
_SQLITE_CORRUPT = 11
_SQLITE_NOTADB = 26
# The files of a database in WAL mode: the main file, its log and its shared index.
_COMPANIONS = ("", "-wal", "-shm")


class JournalError(Exception):
    """The journal could not open, read or write its database."""


class JournalDamaged(JournalError):
    """SQLite finds the journal's file damaged (a corrupt page, not a database at all)."""


def damaged(exc: BaseException) -> bool:
    """Whether an sqlite3 error says the file is damaged (rather than unusable)."""
    code = getattr(exc, "sqlite_errorcode", None)
    return isinstance(code, int) and (code & 0xFF) in (_SQLITE_CORRUPT, _SQLITE_NOTADB)


class JournalDatabase:
    """The job journal's SQLite database. Blocking: call from a worker thread."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._conn: sqlite3.Connection | None = None

    @property
    def is_open(self) -> bool:
        return self._conn is not None

    def open(self) -> None:
        """Open (or create) the database and its directory; JournalDamaged if the file is
        damaged, JournalError if SQLite cannot use it."""
        if self._conn is not None:
            return
        try:
            self._conn = self._connect()
        except (sqlite3.Error, OSError) as exc:
            kind = JournalDamaged if damaged(exc) else JournalError
            raise kind(f"Cannot open the job journal {self.path}: {exc}") from exc

    def check(self) -> None:
        """Read every page (`PRAGMA quick_check`): JournalDamaged if one is damaged."""
        try:
            rows = self._connection().execute("PRAGMA quick_check").fetchall()
        except sqlite3.Error as exc:
            kind = JournalDamaged if damaged(exc) else JournalError
            raise kind(f"Cannot check the job journal {self.path}: {exc}") from exc
        problems = [str(row[0]) for row in rows if row and row[0] != "ok"]
        if problems:
            raise JournalDamaged(f"The job journal {self.path} is damaged: "
                                 f"{'; '.join(problems[:3])}")

    def set_aside(self) -> Path:
        """Close the database and move its files aside (beside it, named for the time);
        where the main file went. The next `open` starts an empty journal."""
        self.close()
        stamp = time.strftime("%Y%m%dT%H%M%SZ", time.gmtime())
        aside = self.path.with_name(f"{self.path.name}.damaged-{stamp}")
        serial = 1
        while any(Path(f"{aside}{suffix}").exists() for suffix in _COMPANIONS):
            serial += 1
            aside = self.path.with_name(f"{self.path.name}.damaged-{stamp}-{serial}")
        for suffix in _COMPANIONS:
            with contextlib.suppress(FileNotFoundError):
                os.replace(f"{self.path}{suffix}", f"{aside}{suffix}")
        return aside

    def close(self) -> None:
        conn, self._conn = self._conn, None
        if conn is not None:
            with contextlib.suppress(sqlite3.Error):
                conn.close()

    def write(self, batch: Batch) -> list[tuple[Job, int]]:
        """Write the batch in one transaction; the snapshots written, with the size of
        each stored form in bytes. Raises sqlite3.Error, OSError or JournalError, with
        nothing written."""
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

    def load(self, result_bytes_in_memory: int | None) -> list[Job]:
        """Every stored job, oldest created first; a finished job stored in more than
        `result_bytes_in_memory` bytes comes without its result (moved out of memory)."""
        # Decoding runs here too: ten thousand jobs with large results take a while.
        jobs: list[Job] = []
        try:
            rows = self._connection().execute(_SELECT).fetchall()
        except (sqlite3.Error, OSError, JournalError) as exc:
            kind = JournalDamaged if damaged(exc) else JournalError
            raise kind(f"Cannot read the job journal {self.path}: {exc}") from exc
        for row_id, body, size in rows:
            try:
                job = decode(row_id, body)
            except (ValueError, TypeError, KeyError, RecursionError) as exc:
                log.warning("journal_row_skipped", path=str(self.path), job_id=str(row_id),
                            error=describe(exc))
                continue
            if (result_bytes_in_memory is not None and size > result_bytes_in_memory
                    and job.terminal and job.result is not None):
                job = dataclasses.replace(job, result=None, result_offloaded=True)
            jobs.append(job)
        return jobs

    def load_result(self, job_id: str) -> tuple[bool, Any]:
        """(found, result) of a written job."""
        try:
            row = self._connection().execute(_SELECT_ONE, (job_id,)).fetchone()
            return (False, None) if row is None else (True, decode(row[0], row[1]).result)
        except (sqlite3.Error, OSError, ValueError, TypeError, KeyError) as exc:
            raise JournalError(f"Cannot read job {job_id} from {self.path}: "
                               f"{describe(exc)}") from exc

    def load_result_json(self, job_id: str) -> bytes | None:
        """The JSON text of a written job's result as stored; None when SQLite cannot give
        it that way (an unknown job, a row it cannot read)."""
        try:
            row = self._connection().execute(_SELECT_RESULT_JSON, (job_id,)).fetchone()
        except (sqlite3.Error, OSError):
            return None
        return row[0] if row is not None and isinstance(row[0], bytes) else None

    def _connect(self) -> sqlite3.Connection:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        # Autocommit mode: transactions are the explicit BEGIN/COMMIT in `write`.
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


def describe(exc: BaseException) -> str:
    """An error as a log line reads it: its type, and its text when it has one."""
    text = str(exc)
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


def _encode_or_log(job: Job) -> bytes | None:
    """The stored form, falling back to repr() for objects JSON does not know; None (and
    logged) for a job that cannot be stored at all."""
    try:
        return encode(job)
    except TypeError as exc:
        log.warning("journal_encode_lossy", job_id=job.id, error=describe(exc))
    except (ValueError, RecursionError) as exc:
        log.error("journal_encode_failed", job_id=job.id, error=describe(exc))
        return None
    try:
        return encode(job, default=repr)
    except (TypeError, ValueError, RecursionError) as exc:
        log.error("journal_encode_failed", job_id=job.id, error=describe(exc))
        return None
