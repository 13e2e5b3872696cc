"""The job journal on a real SQLite file: round trips, coalescing, failures, bad rows."""

from __future__ import annotations

import dataclasses
import itertools
import json
import sqlite3
from collections.abc import AsyncIterator
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest
import trio
import trio.testing
from structlog.testing import capture_logs

from colony_actor.jobs import lifecycle
from colony_actor.jobs.journal.codec import encode
from colony_actor.jobs.journal.database import JournalDatabase
from colony_actor.jobs.journal.store import JobJournal, JournalDamaged, JournalError
from colony_actor.jobs.lifecycle import Event, Job, JobStatus
from colony_actor.runtime import json_pieces
from tests.jobs.support import SEARCH_RESULT, T0, WatchedDatabase, make_job, opened


@pytest.fixture
async def journal(tmp_path: Path) -> AsyncIterator[JobJournal]:
    journal = await opened(tmp_path / "jobs.sqlite3")
    yield journal
    await journal.close()


def rows(path: Path) -> list[tuple[str, str, int]]:
    with sqlite3.connect(path) as conn:
        return list(conn.execute("SELECT id, status, version FROM jobs ORDER BY rowid"))


def told_of(journal: JobJournal, job_ids: set[str]) -> trio.Event:
    """An event set once `on_stored` was told of every one of `job_ids`."""
    done = trio.Event()
    left = set(job_ids)

    async def on_stored(job: Job, size: int) -> None:
        left.discard(job.id)
        if not left:
            done.set()

    journal.on_stored = on_stored
    return done


# ---------------------------------------------------------------------- round trips


async def test_round_trip_of_every_status(journal: JobJournal) -> None:
    results: list[Any] = [SEARCH_RESULT, ["a", {"b": [1, 2.5, None]}], "Ünïcödé", 42, None,
                          True, {}]
    jobs = [make_job(0, JobStatus.PENDING), make_job(1, JobStatus.RUNNING),
            make_job(2, JobStatus.FAILED), make_job(3, JobStatus.FAILED),
            make_job(4, JobStatus.CANCELLED, params={})]
    jobs += [make_job(10 + n, JobStatus.COMPLETED, result=result)
             for n, result in enumerate(results)]
    assert {job.status for job in jobs} == set(JobStatus)
    for job in reversed(jobs):  # written newest first; load still answers oldest first
        journal.record(job)
    await journal.flush()

    loaded = await journal.load()

    assert loaded == jobs
    for before, after in zip(jobs, loaded, strict=True):
        assert dataclasses.astuple(after) == dataclasses.astuple(before)
        assert after.created_at.tzinfo is not None and after.created_at.utcoffset() == timedelta(0)
        assert type(after.status) is JobStatus
    assert loaded[5].result["results"][999]["name"] == "Ærø 999 ☕"


async def test_non_utc_times_come_back_as_the_same_instant_in_utc(journal: JobJournal) -> None:
    paris = datetime(2025, 3, 1, 13, 0, tzinfo=timezone(timedelta(hours=1)))
    job = dataclasses.replace(make_job(1), created_at=paris, updated_at=paris)
    journal.record(job)
    await journal.flush()
    [loaded] = await journal.load()
    assert loaded == job
    assert loaded.created_at.utcoffset() == timedelta(0)


async def test_load_of_an_empty_journal(journal: JobJournal) -> None:
    assert await journal.load() == []


async def test_coalescing_writes_only_the_latest_snapshot(
        journal: JobJournal, tmp_path: Path) -> None:
    job = make_job(1, JobStatus.RUNNING)
    for n in range(100):
        job = lifecycle.apply(job, Event.PROGRESS, job.updated_at, progress=n / 100,
                              message=f"step {n}")
        journal.record(job)
    assert journal.pending == 1
    await journal.flush()

    assert rows(tmp_path / "jobs.sqlite3") == [("job-1", "running", job.version)]
    assert await journal.load() == [job]


async def test_drop_removes_the_job(journal: JobJournal) -> None:
    keep, gone = make_job(1, JobStatus.COMPLETED), make_job(2, JobStatus.COMPLETED)
    journal.record(keep)
    journal.record(gone)
    await journal.flush()
    journal.drop(gone.id)
    await journal.flush()
    assert await journal.load() == [keep]


async def test_drop_before_the_first_write_and_of_an_unknown_job(journal: JobJournal) -> None:
    journal.record(make_job(1))
    journal.drop("job-1")
    journal.drop("never-seen")
    await journal.flush()
    assert await journal.load() == []


async def test_record_after_drop_supersedes_it(journal: JobJournal) -> None:
    job = make_job(1, JobStatus.COMPLETED, result={"n": 1})
    journal.record(job)
    await journal.flush()
    journal.drop(job.id)
    journal.record(job)
    await journal.flush()
    assert await journal.load() == [job]


async def test_jobs_survive_close_and_reopen(tmp_path: Path) -> None:
    path = tmp_path / "data" / "jobs.sqlite3"  # the directory is created on open
    first = await opened(path)
    jobs = [make_job(1, JobStatus.COMPLETED, result=SEARCH_RESULT),
            make_job(2, JobStatus.RUNNING)]
    for job in jobs:
        first.record(job)
    await first.close()  # close writes what is pending

    second = await opened(path)
    try:
        assert await second.load() == jobs
        with sqlite3.connect(path) as conn:
            assert conn.execute("PRAGMA journal_mode").fetchone() == ("wal",)
    finally:
        await second.close()


# ---------------------------------------------------------------------- the writer task


async def test_the_writer_writes_in_the_background(
        journal: JobJournal, nursery: trio.Nursery, tmp_path: Path) -> None:
    await nursery.start(journal.run)
    written = told_of(journal, {"job-1"})
    journal.record(make_job(1, JobStatus.COMPLETED))
    with trio.fail_after(5):
        await written.wait()
    assert journal.pending == 0 and rows(tmp_path / "jobs.sqlite3")
    assert [job.id for job in await journal.load()] == ["job-1"]


async def test_cancelling_the_writer_flushes_what_is_pending(journal: JobJournal) -> None:
    job = make_job(1, JobStatus.FAILED)
    async with trio.open_nursery() as nursery:
        await nursery.start(journal.run)
        journal.record(job)
        nursery.cancel_scope.cancel()
    assert journal.pending == 0
    assert await journal.load() == [job]


async def test_a_failed_write_is_logged_and_retried(
        tmp_path: Path, nursery: trio.Nursery) -> None:
    path = tmp_path / "retry.sqlite3"
    database = WatchedDatabase(path, [sqlite3.OperationalError("database or disk is full")])
    journal = await opened(path, retry_seconds=0.01, database=database)
    written = told_of(journal, {"job-1"})
    job = make_job(1, JobStatus.COMPLETED, result={"ok": "ja"})
    with capture_logs() as logs:
        await nursery.start(journal.run)
        journal.record(job)
        with trio.fail_after(5):
            await written.wait()

    assert len(database.attempts) == 2
    failures = [entry for entry in logs if entry["event"] == "journal_write_failed"]
    assert len(failures) == 1
    assert "disk is full" in failures[0]["error"]
    assert failures[0]["log_level"] == "error"
    assert any(entry["event"] == "journal_write_recovered" for entry in logs)
    assert journal.last_error is None
    assert await journal.load() == [job]
    await journal.close()


async def test_a_real_sqlite_failure_keeps_the_batch_until_the_table_is_back(
        tmp_path: Path, nursery: trio.Nursery) -> None:
    path = tmp_path / "jobs.sqlite3"
    database = WatchedDatabase(path)
    journal = await opened(path, retry_seconds=0.01, max_retry_seconds=0.02, database=database)
    with sqlite3.connect(path) as other:
        other.execute("DROP TABLE jobs")
    await nursery.start(journal.run)
    written = told_of(journal, {"job-1", "job-2"})
    with capture_logs() as logs, trio.fail_after(5):
        journal.record(make_job(1, JobStatus.COMPLETED))
        await database.attempted(2)  # the first failure was handled: this is its retry
        newer = make_job(1, JobStatus.COMPLETED, result="newer")
        journal.record(newer)  # recorded while failing: the newer snapshot wins
        await database.attempted(4)  # and failed with the rest of the batch, twice
        journal.record(make_job(2, JobStatus.RUNNING))
    assert "no such table" in (journal.last_error or "")
    assert any(entry["event"] == "journal_write_failed" for entry in logs)

    with sqlite3.connect(path) as other:
        other.execute("CREATE TABLE jobs (id TEXT PRIMARY KEY, status TEXT NOT NULL, "
                      "created_at TEXT NOT NULL, updated_at TEXT NOT NULL, "
                      "version INTEGER NOT NULL, body TEXT NOT NULL)")
    with trio.fail_after(5):
        await written.wait()
    assert journal.pending == 0 and journal.last_error is None
    assert [job.result for job in await journal.load()] == ["newer", None]
    await journal.close()


async def test_retries_back_off_instead_of_spinning(
        tmp_path: Path, autojump_clock: trio.testing.MockClock) -> None:
    # Virtual time: the only deadline is the writer's pause, so each gap is that pause.
    path = tmp_path / "backoff.sqlite3"
    database = WatchedDatabase(path)
    database.broken = OSError(30, "Read-only file system")
    journal = await opened(path, retry_seconds=0.02, max_retry_seconds=0.08, database=database)
    with capture_logs():
        async with trio.open_nursery() as nursery:
            await nursery.start(journal.run)
            journal.record(make_job(1))
            await database.attempted(1)
            for n in range(50):  # a burst of records does not shorten the pause
                journal.record(make_job(n))
            await database.attempted(6)
            nursery.cancel_scope.cancel()  # the writer's last flush fails too
        await journal.close()  # and so does this one, only logged
    gaps = [later - earlier for earlier, later in itertools.pairwise(database.attempts[:6])]
    assert gaps == pytest.approx([0.02, 0.04, 0.08, 0.08, 0.08])
    assert journal.pending == 50


async def test_flush_raises_when_it_cannot_write_and_keeps_the_changes(tmp_path: Path) -> None:
    database = WatchedDatabase(tmp_path / "jobs.sqlite3")
    journal = await opened(database.path, database=database)
    database.broken = sqlite3.DatabaseError("database disk image is malformed")
    job = make_job(1, JobStatus.COMPLETED)
    journal.record(job)
    with pytest.raises(JournalError, match="malformed"):
        await journal.flush()
    assert journal.pending == 1

    database.broken = None
    await journal.flush()
    assert await journal.load() == [job]
    await journal.close()


async def test_an_unencodable_result_does_not_block_the_batch(journal: JobJournal) -> None:
    circular: list[Any] = []
    circular.append(circular)
    odd = make_job(1, JobStatus.COMPLETED, result={"when": T0})  # not JSON: stored as repr
    loop = make_job(2, JobStatus.COMPLETED, result=circular)  # cannot be stored at all
    fine = make_job(3, JobStatus.COMPLETED, result={"ok": True})
    with capture_logs() as logs:
        for job in (odd, loop, fine):
            journal.record(job)
        await journal.flush()
    loaded = await journal.load()
    assert [job.id for job in loaded] == ["job-1", "job-3"]
    assert loaded[0].result == {"when": repr(T0)}
    assert loaded[1] == fine
    assert {entry["event"] for entry in logs} >= {"journal_encode_lossy",
                                                  "journal_encode_failed"}


async def test_a_journal_that_is_not_open(tmp_path: Path) -> None:
    journal = JobJournal(tmp_path / "jobs.sqlite3")
    journal.record(make_job(1))
    with pytest.raises(JournalError, match="not open"):
        await journal.flush()
    with pytest.raises(JournalError):
        await journal.load()
    await journal.close()  # nothing to close: no error


async def test_a_file_that_is_not_a_database_is_set_aside(tmp_path: Path) -> None:
    path = tmp_path / "jobs.sqlite3"
    text = b"this is not a database, just some text " * 200
    path.write_bytes(text)
    with pytest.raises(JournalDamaged, match="Cannot open"):
        JournalDatabase(path).open()
    journal = JobJournal(path)
    await journal.open()
    try:
        assert journal.set_aside_to is not None
        assert journal.set_aside_to.read_bytes() == text
        assert await journal.load() == []
    finally:
        await journal.close()


# ---------------------------------------------------------------------- loading bad rows


async def test_rows_that_cannot_be_decoded_are_skipped(journal: JobJournal) -> None:
    good = make_job(5, JobStatus.COMPLETED, result=["ok"])
    journal.record(good)
    await journal.flush()
    valid = json.loads(encode(make_job(1)))
    bad_bodies: dict[str, Any] = {
        "not-json": "{this is not json",
        "not-an-object": "[1, 2, 3]",
        "bad-status": {**valid, "status": "exploded"},
        "missing-field": {key: value for key, value in valid.items() if key != "version"},
        "naive-time": {**valid, "created_at": "2025-03-01T12:00:00"},
        "bad-time": {**valid, "updated_at": "yesterday"},
        "wrong-type": {**valid, "progress": "half"},
        "params-list": {**valid, "params": [1]},
        "other-id": valid,  # body of job-1 under another key
        "blob": 12345,
    }
    with sqlite3.connect(journal.path) as conn:
        for row_id, body in bad_bodies.items():
            if isinstance(body, dict) and row_id != "other-id":
                body = {**body, "id": row_id}
            text = json.dumps(body) if isinstance(body, dict) else body
            conn.execute("INSERT INTO jobs VALUES (?, 'pending', ?, ?, 1, ?)",
                         (row_id, T0.isoformat(), T0.isoformat(), text))

    with capture_logs() as logs:
        loaded = await journal.load()

    assert loaded == [good]
    skipped = {entry["job_id"] for entry in logs if entry["event"] == "journal_row_skipped"}
    assert skipped == set(bad_bodies)
    assert all(entry["log_level"] == "warning" for entry in logs)


async def test_result_json_is_read_only_from_what_is_written(journal: JobJournal) -> None:
    done = make_job(1, JobStatus.COMPLETED, result=SEARCH_RESULT)
    journal.record(done)
    assert await journal.load_result_json(done.id) is None  # not written yet
    await journal.flush()
    text = await journal.load_result_json(done.id)
    assert text is not None and json.loads(text) == json.loads(encode(done))["result"]
    assert await journal.load_result_json("unknown") is None
    failed = make_job(2, JobStatus.FAILED)
    journal.record(failed)
    await journal.flush()
    assert await journal.load_result_json(failed.id) == b"null"


async def test_the_restart_rule_measures_bytes_as_the_write_did(tmp_path: Path) -> None:
    # 4,000 characters of 3 bytes each: over 10,000 bytes, under 10,000 characters.
    path = tmp_path / "jobs.sqlite3"
    journal = await opened(path)
    wide = make_job(1, JobStatus.COMPLETED, result=json_pieces.Raw(
        json.dumps({"text": "\u20ac" * 4000}, ensure_ascii=False).encode()))
    journal.record(wide)
    await journal.flush()
    await journal.close()
    reopened = await opened(path)
    try:
        (loaded,) = await reopened.load(result_bytes_in_memory=10_000)
        assert loaded.result is None and loaded.result_offloaded
        assert await reopened.load_result(wide.id) == (True, {"text": "\u20ac" * 4000})
    finally:
        await reopened.close()
