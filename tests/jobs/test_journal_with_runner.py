"""The job journal beside the runner: restoring after a restart, results moved out of
memory once the journal has them, and read back."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import trio

from colony_actor.jobs.lifecycle import Job, JobStatus
from colony_actor.jobs.runner import INTERRUPTED, JobRequest, JobRunner, ProgressFn
from tests.jobs.support import SEARCH_RESULT, make_job, opened, settings


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
        runner = JobRunner(settings(), listeners=[journal.record])
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
            fresh = JobRunner(settings(), listeners=[reopened.record])
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
        runner = JobRunner(settings(result_bytes_in_memory=10_000),
                           listeners=[journal.record], result_store=journal)

        async def on_stored(job: Job, size: int) -> None:
            stored.append((job.id, job.version, size))
            await runner.result_stored(job, size)

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
        await runner.result_stored(big, 1 << 30)  # told twice: nothing changes
        assert runner.get(big.id) == moved
        nursery.cancel_scope.cancel()
    await journal.close()


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
            runner = JobRunner(settings(), result_store=reopened)
            await nursery.start(runner.run)
            await runner.restore(loaded.values())
            restored = runner.get(big.id)
            assert restored is not None and restored.result_offloaded
            assert await runner.result_of(restored) == json.loads(json.dumps(SEARCH_RESULT))
            assert await runner.result_json_of(restored) is not None
            nursery.cancel_scope.cancel()
    finally:
        await reopened.close()


async def test_a_journal_that_outlives_its_runner_still_closes(tmp_path: Path) -> None:
    journal = await opened(tmp_path / "jobs.sqlite3")
    runner = JobRunner(settings(result_bytes_in_memory=10), result_store=journal)
    journal.on_stored = runner.result_stored
    async with trio.open_nursery() as nursery:
        await nursery.start(runner.run)
        runner.close()
    journal.record(make_job(1, JobStatus.COMPLETED, result=SEARCH_RESULT))
    with trio.fail_after(5):
        await journal.close()  # on_stored reaches a runner that has ended, and returns
    assert journal.pending == 0
