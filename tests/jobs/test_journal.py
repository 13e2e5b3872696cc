"""The job journal on a real SQLite file: round trips, coalescing, failures, the runner."""

from __future__ import annotations

import dataclasses
import json
import sqlite3
from collections.abc import AsyncIterator, Callable, Mapping
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest
import trio
from structlog.testing import capture_logs

from colony_actor.jobs import lifecycle
from colony_actor.jobs.journal.store import JobJournal, JournalError, encode
from colony_actor.jobs.lifecycle import Event, Job, JobStatus
from colony_actor.jobs.runner import INTERRUPTED, JobRequest, JobRunner, ProgressFn, RunnerSettings
from colony_actor.runtime import json_pieces

T0 = datetime(2025, 3, 1, 12, 0, 0, 123456, tzinfo=UTC)

SEARCH_RESULT: dict[str, Any] = {
    "message": "Found 1000 results for «café» — 東京",
    "results": [{"subject": f"ant://pod/{n}", "name": f"Ærø {n} ☕",
                 "score": n / 7, "tags": ["ü", None, True, {"depth": [n, [n + 1]]}]}
                for n in range(1000)],
    "lone_surrogate": "\ud800",
}


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
                               error_kind="interrupted")
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
                                   error_kind="operation_failed")
        case _:
            return lifecycle.apply(job, Event.CANCEL, step, error="Cancelled by request",
                                   error_kind="cancelled")


async def opened(path: Path, **options: Any) -> JobJournal:
    journal = JobJournal(path, **options)
    await journal.open()
    return journal


@pytest.fixture
async def journal(tmp_path: Path) -> AsyncIterator[JobJournal]:
    journal = await opened(tmp_path / "jobs.sqlite3")
    yield journal
    await journal.close()


def rows(path: Path) -> list[tuple[str, str, int]]:
    with sqlite3.connect(path) as conn:
        return list(conn.execute("SELECT id, status, version FROM jobs ORDER BY rowid"))


async def wait_until(condition: Callable[[], bool], seconds: float = 5) -> None:
    # Polls on purpose: the conditions are set by worker threads and on disk.
    with trio.fail_after(seconds):
        while not condition():  # noqa: ASYNC110
            await trio.sleep(0.005)


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
    journal.record(make_job(1, JobStatus.COMPLETED))
    await wait_until(lambda: journal.pending == 0 and bool(rows(tmp_path / "jobs.sqlite3")))
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
        journal: JobJournal, nursery: trio.Nursery, monkeypatch: pytest.MonkeyPatch) -> None:
    journal = await opened(journal.path.with_name("retry.sqlite3"), retry_seconds=0.01)
    real_write = journal._write_sync
    calls = 0

    def flaky_write(batch: Any) -> None:
        nonlocal calls
        calls += 1
        if calls == 1:
            raise sqlite3.OperationalError("database or disk is full")
        real_write(batch)

    monkeypatch.setattr(journal, "_write_sync", flaky_write)
    job = make_job(1, JobStatus.COMPLETED, result={"ok": "ja"})
    with capture_logs() as logs:
        await nursery.start(journal.run)
        journal.record(job)
        await wait_until(lambda: calls >= 2 and journal.last_error is None)

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
    journal = await opened(path, retry_seconds=0.01, max_retry_seconds=0.02)
    with sqlite3.connect(path) as other:
        other.execute("DROP TABLE jobs")
    await nursery.start(journal.run)
    with capture_logs() as logs:
        journal.record(make_job(1, JobStatus.COMPLETED))
        await wait_until(lambda: journal.last_error is not None)
        newer = make_job(1, JobStatus.COMPLETED, result="newer")
        journal.record(newer)  # recorded while failing: the newer snapshot wins
        await trio.sleep(0.05)
        journal.record(make_job(2, JobStatus.RUNNING))
    assert "no such table" in (journal.last_error or "")
    assert any(entry["event"] == "journal_write_failed" for entry in logs)

    with sqlite3.connect(path) as other:
        other.execute("CREATE TABLE jobs (id TEXT PRIMARY KEY, status TEXT NOT NULL, "
                      "created_at TEXT NOT NULL, updated_at TEXT NOT NULL, "
                      "version INTEGER NOT NULL, body TEXT NOT NULL)")
    await wait_until(lambda: journal.pending == 0 and journal.last_error is None)
    assert [job.result for job in await journal.load()] == ["newer", None]
    await journal.close()


async def test_retries_back_off_instead_of_spinning(
        journal: JobJournal, nursery: trio.Nursery, monkeypatch: pytest.MonkeyPatch) -> None:
    journal = await opened(journal.path.with_name("backoff.sqlite3"), retry_seconds=0.02,
                           max_retry_seconds=0.08)
    attempts = 0

    def broken_write(batch: Any) -> None:
        nonlocal attempts
        attempts += 1
        raise OSError(30, "Read-only file system")

    monkeypatch.setattr(journal, "_write_sync", broken_write)
    with capture_logs():
        await nursery.start(journal.run)
        journal.record(make_job(1))
        await trio.sleep(0.4)
        for n in range(50):  # a burst of records does not shorten the pause
            journal.record(make_job(n))
        await trio.sleep(0.1)
        await journal.close()  # its last flush fails too, and is only logged
    # 0.02 + 0.04 + 0.08 + 0.08 + ... over 0.5 s: a handful of attempts, not thousands.
    assert 3 <= attempts <= 12
    assert journal.pending == 50


async def test_flush_raises_when_it_cannot_write_and_keeps_the_changes(
        journal: JobJournal, monkeypatch: pytest.MonkeyPatch) -> None:
    real_write = journal._write_sync

    def broken_write(batch: Any) -> None:
        raise sqlite3.DatabaseError("database disk image is malformed")

    monkeypatch.setattr(journal, "_write_sync", broken_write)
    job = make_job(1, JobStatus.COMPLETED)
    journal.record(job)
    with pytest.raises(JournalError, match="malformed"):
        await journal.flush()
    assert journal.pending == 1

    monkeypatch.setattr(journal, "_write_sync", real_write)
    await journal.flush()
    assert await journal.load() == [job]


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


async def test_open_refuses_a_file_that_is_not_a_database(tmp_path: Path) -> None:
    path = tmp_path / "jobs.sqlite3"
    path.write_bytes(b"this is not a database, just some text " * 200)
    with pytest.raises(JournalError, match="Cannot open"):
        await JobJournal(path).open()


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


# ---------------------------------------------------------------------- with the runner


async def test_the_runner_restores_finished_jobs_and_fails_interrupted_ones(
        tmp_path: Path) -> None:
    path = tmp_path / "jobs.sqlite3"
    journal = await opened(path)
    long_started = trio.Event()

    async def quick(progress: ProgressFn) -> Any:
        progress(0.5, "Half way")
        return SEARCH_RESULT

    async def long(progress: ProgressFn) -> Any:
        long_started.set()
        await trio.sleep(1000)

    async with trio.open_nursery() as nursery:
        await nursery.start(journal.run)
        runner = JobRunner(listeners=[journal.record])
        await nursery.start(runner.run)
        done = await runner.run_to_completion(
            JobRequest("search", quick, "Searching", {"q": "café"}))
        running = await runner.start(JobRequest("refreshcache", long, "Refreshing"))
        queued = await runner.start(JobRequest("uploadall", long, "Uploading", queue=True))
        await long_started.wait()
        await journal.flush()
        # A crash: nothing more reaches the journal, whatever the tasks do as they die.
        await journal.close()
        nursery.cancel_scope.cancel()

    reopened = await opened(path)
    try:
        stored = await reopened.load()
        assert [job.id for job in stored] == [done.id, running.id, queued.id]
        assert stored[0] == done and done.status is JobStatus.COMPLETED
        assert [job.status for job in stored[1:]] == [JobStatus.RUNNING, JobStatus.PENDING]

        async with trio.open_nursery() as nursery:
            fresh = JobRunner(listeners=[reopened.record])
            await nursery.start(fresh.run)
            await fresh.restore(stored)

            first = fresh.get(done.id)
            assert first is not None and first.status is JobStatus.COMPLETED
            assert first.result == SEARCH_RESULT
            for job_id in (running.id, queued.id):
                job = fresh.get(job_id)
                assert job is not None and job.status is JobStatus.FAILED
                assert job.error == INTERRUPTED and job.error_kind == "interrupted"
                assert job.progress == 1.0 and job.finished_at is not None
            fresh.close()

        # The restore's "interrupted" snapshots were journaled in turn.
        await reopened.flush()
        again = {job.id: job for job in await reopened.load()}
        assert again[running.id].status is JobStatus.FAILED
        assert again[queued.id].error == INTERRUPTED
        assert again[done.id] == done
    finally:
        await reopened.close()


async def test_a_large_result_leaves_memory_once_the_journal_has_it(tmp_path: Path) -> None:
    journal = await opened(tmp_path / "jobs.sqlite3")
    small_result = {"n": 1}
    stored: list[tuple[str, int, int]] = []

    async def answer(result: Any) -> Any:
        return result

    async with trio.open_nursery() as nursery:
        await nursery.start(journal.run)
        runner = JobRunner(RunnerSettings(result_bytes_in_memory=10_000),
                           listeners=[journal.record], result_store=journal)

        def on_stored(job: Job, size: int) -> None:
            stored.append((job.id, job.version, size))
            runner.result_stored(job, size)

        journal.on_stored = on_stored
        await nursery.start(runner.run)
        big = await runner.run_to_completion(JobRequest(
            "search", lambda progress: answer(SEARCH_RESULT), "Searching"))
        small = await runner.run_to_completion(JobRequest(
            "search", lambda progress: answer(small_result), "Searching"))
        await journal.flush()
        sizes = {(job_id, version): size for job_id, version, size in stored}
        assert sizes[(big.id, big.version)] > 10_000 > sizes[(small.id, small.version)]
        moved, kept = runner.get(big.id), runner.get(small.id)
        assert moved is not None and moved.result is None and moved.result_offloaded
        assert moved.version == big.version
        assert kept is not None and kept.result == small_result and not kept.result_offloaded
        assert await runner.result_of(moved) == json.loads(json.dumps(SEARCH_RESULT))
        # As text, cut out of the stored form by SQLite: the same JSON.
        text = await runner.result_json_of(moved)
        assert text is not None and json.loads(text) == json.loads(json.dumps(SEARCH_RESULT))
        assert await runner.result_json_of(kept) is None  # in memory: no text form
        runner.result_stored(big, 1 << 30)  # told twice: nothing changes
        assert runner.get(big.id) == moved
        nursery.cancel_scope.cancel()
    await journal.close()


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


async def test_a_large_result_comes_back_from_a_restart_out_of_memory(tmp_path: Path) -> None:
    path = tmp_path / "jobs.sqlite3"
    journal = await opened(path)
    big = make_job(1, JobStatus.COMPLETED, result=SEARCH_RESULT)
    small = make_job(2, JobStatus.COMPLETED, result={"n": 1})
    journal.record(big)
    journal.record(small)
    await journal.flush()
    await journal.close()
    reopened = await opened(path)
    try:
        loaded = {job.id: job for job in await reopened.load(result_bytes_in_memory=10_000)}
        assert loaded[big.id].result is None and loaded[big.id].result_offloaded
        assert loaded[small.id] == small
        async with trio.open_nursery() as nursery:
            runner = JobRunner(result_store=reopened)
            await nursery.start(runner.run)
            await runner.restore(loaded.values())
            restored = runner.get(big.id)
            assert restored is not None and restored.result_offloaded
            assert await runner.result_of(restored) == json.loads(json.dumps(SEARCH_RESULT))
            assert await runner.result_json_of(restored) is not None
            nursery.cancel_scope.cancel()
    finally:
        await reopened.close()
