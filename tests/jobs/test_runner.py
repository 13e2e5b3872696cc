"""The runner actor under trio's mock clock: virtual time, deterministic order."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest
import trio
import trio.testing

from colony_actor.jobs.errors import (
    FailureKind,
    IdempotencyKeyReused,
    JobConflict,
    JobNotCancellable,
    JobNotFound,
    OperationError,
    ShuttingDown,
)
from colony_actor.jobs.lifecycle import Job, JobStatus
from colony_actor.jobs.runner import INTERRUPTED, JobRequest, JobRunner, ProgressFn
from colony_actor.runtime import memory
from tests.jobs.support import settings


def sleeper(seconds: float, result: Any = "done", steps: int = 1) -> JobRequest:
    async def operation(progress: ProgressFn) -> Any:
        for step in range(steps):
            await trio.sleep(seconds / steps)
            progress((step + 1) / steps, f"step {step + 1} of {steps}")
        return result

    return JobRequest("test", operation, "Test job started", {"seconds": seconds})


def raising(exc: Exception) -> JobRequest:
    async def operation(progress: ProgressFn) -> Any:
        await trio.sleep(1)
        raise exc

    return JobRequest("test", operation, "Test job started")


async def finished(runner: JobRunner, job: Job) -> Job:
    while not job.terminal:
        latest = await runner.wait_for_change(job.id, job.version, 10_000)
        assert latest is not None
        job = latest
    return job


@pytest.fixture
async def runner(nursery: trio.Nursery) -> AsyncIterator[JobRunner]:
    runner = JobRunner(settings(queue_size=3, retention_seconds=100, max_retained=5,
                                      timeouts={"slow": 30}))
    await nursery.start(runner.run)
    yield runner


async def test_an_hour_of_virtual_time(runner: JobRunner, autojump_clock: Any) -> None:
    start = trio.current_time()
    job = await runner.start(sleeper(3600))
    assert runner.get(job.id) is not None, "the job is in the table before start returns"
    assert job.status is JobStatus.PENDING
    done = await finished(runner, job)
    assert done.status is JobStatus.COMPLETED
    assert done.result == "done" and done.progress == 1.0
    assert trio.current_time() - start == pytest.approx(3600)


async def test_mutual_exclusion_creates_nothing(runner: JobRunner, autojump_clock: Any) -> None:
    first = await runner.start(sleeper(10))
    with pytest.raises(JobConflict, match="Another operation is already running"):
        await runner.start(sleeper(1))
    assert len(runner) == 1
    await finished(runner, first)
    second = await runner.start(sleeper(1))
    assert (await finished(runner, second)).status is JobStatus.COMPLETED


async def test_a_raising_operation_fails_and_frees_the_slot(
        runner: JobRunner, autojump_clock: Any) -> None:
    job = await finished(runner, await runner.start(raising(RuntimeError("disk on fire"))))
    assert job.status is JobStatus.FAILED
    assert job.error == "disk on fire"
    assert job.progress == 1.0
    refusal = OperationError("bad", FailureKind.INVALID_REQUEST)
    job = await finished(runner, await runner.start(raising(refusal)))
    assert (job.error, job.error_kind) == ("bad", FailureKind.INVALID_REQUEST)
    nxt = await finished(runner, await runner.start(sleeper(1)))
    assert nxt.status is JobStatus.COMPLETED


async def test_progress_never_decreases(nursery: trio.Nursery, autojump_clock: Any) -> None:
    seen: list[float] = []
    runner = JobRunner(settings(), listeners=[lambda job: seen.append(job.progress)])
    await nursery.start(runner.run)

    async def wobbly(progress: ProgressFn) -> str:
        for fraction in (0.2, 0.5, 0.3, 0.9, 0.1, 1.0):
            progress(fraction, "working")
            await trio.sleep(1)
        return "ok"

    job = await finished(runner, await runner.start(JobRequest("test", wobbly, "go")))
    assert seen == sorted(seen)
    assert seen[-1] == 1.0 and max(seen[:-1]) < 1.0
    assert job.version == len(seen)


async def test_cancel_running_frees_slot_at_once(runner: JobRunner, autojump_clock: Any) -> None:
    job = await runner.start(sleeper(100))
    await trio.sleep(5)
    assert runner.get(job.id).status is JobStatus.RUNNING  # type: ignore[union-attr]
    await runner.cancel(job.id)
    done = await finished(runner, job)
    assert done.status is JobStatus.CANCELLED
    assert done.error == "Cancelled by request"
    assert not runner.busy
    await runner.start(sleeper(1))
    with pytest.raises(JobNotCancellable):
        await runner.cancel(job.id)


async def test_cancel_pending_and_queue_order(runner: JobRunner, autojump_clock: Any) -> None:
    order: list[str] = []

    def named(name: str) -> JobRequest:
        async def operation(progress: ProgressFn) -> str:
            order.append(name)
            await trio.sleep(10)
            return name

        return JobRequest("test", operation, name, queue=True)

    first = await runner.start(named("a"))
    second = await runner.start(named("b"))
    third = await runner.start(named("c"))
    fourth = await runner.start(named("d"))
    with pytest.raises(JobConflict, match="queue is full"):
        await runner.start(named("e"))
    with pytest.raises(JobConflict, match="Another operation"):
        await runner.start(sleeper(1))
    cancelled = await runner.cancel(third.id)
    assert cancelled.status is JobStatus.CANCELLED
    for job in (first, second, fourth):
        assert (await finished(runner, job)).status is JobStatus.COMPLETED
    assert order == ["a", "b", "d"]


async def test_timeout_fires_at_the_limit(runner: JobRunner, autojump_clock: Any) -> None:
    request = sleeper(3600)
    request = JobRequest("slow", request.operation, "slow job")
    start = trio.current_time()
    job = await finished(runner, await runner.start(request))
    assert job.status is JobStatus.FAILED
    assert job.error == "Timed out after 30 seconds"
    assert trio.current_time() - start == pytest.approx(30)


async def test_retention_evicts_exactly_at_the_deadline(
        runner: JobRunner, nursery: trio.Nursery, autojump_clock: Any) -> None:
    nursery.start_soon(runner.housekeeping)
    job = await finished(runner, await runner.start(sleeper(1)))
    await trio.sleep(99.9)
    assert runner.get(job.id) is not None
    await trio.sleep(0.2)
    assert runner.get(job.id) is None
    with pytest.raises(JobNotFound):
        await runner.cancel(job.id)


async def test_count_bound_keeps_newest(runner: JobRunner, autojump_clock: Any) -> None:
    ids = [(await finished(runner, await runner.start(sleeper(1)))).id for _ in range(8)]
    assert len(runner) == 5
    assert [j.id for j in runner.list(limit=50)[0]] == list(reversed(ids[-5:]))


async def test_ten_thousand_quick_jobs_stay_capped(nursery: trio.Nursery) -> None:
    runner = JobRunner(settings(max_retained=100))
    await nursery.start(runner.run)

    async def quick(progress: ProgressFn) -> int:
        return 1

    for _ in range(10_000):
        await finished(runner, await runner.start(JobRequest("test", quick, "q")))
    assert len(runner) == 100


async def test_list_filters_and_cursor(runner: JobRunner, autojump_clock: Any) -> None:
    ok = [(await finished(runner, await runner.start(sleeper(1)))).id for _ in range(3)]
    bad = (await finished(runner, await runner.start(raising(ValueError("x"))))).id
    page, cursor = runner.list(limit=2)
    assert [j.id for j in page] == [bad, ok[2]] and cursor is not None
    page, cursor = runner.list(limit=2, cursor=cursor)
    assert [j.id for j in page] == [ok[1], ok[0]] and cursor is None
    failed, _ = runner.list(status=JobStatus.FAILED)
    assert [j.id for j in failed] == [bad]


async def test_forget(runner: JobRunner, autojump_clock: Any) -> None:
    job = await runner.start(sleeper(10))
    with pytest.raises(JobNotCancellable):
        await runner.forget(job.id)
    await finished(runner, job)
    await runner.forget(job.id)
    assert runner.get(job.id) is None
    with pytest.raises(JobNotFound):
        await runner.forget(job.id)


async def test_idempotency_key(runner: JobRunner, autojump_clock: Any) -> None:
    base = sleeper(10)
    keyed = JobRequest("test", base.operation, "x", idempotency_key="k1", fingerprint="A")
    first = await runner.start(keyed)
    again = await runner.start(keyed)
    assert again.id == first.id
    other = JobRequest("test", base.operation, "x", idempotency_key="k1", fingerprint="B")
    with pytest.raises(IdempotencyKeyReused):
        await runner.start(other)


async def test_wait_for_change_long_poll(runner: JobRunner, autojump_clock: Any) -> None:
    job = await runner.start(sleeper(100, steps=4))
    t0 = trio.current_time()
    later = await runner.wait_for_change(job.id, job.version, 60)
    assert later is not None and later.version > job.version
    assert trio.current_time() - t0 < 1
    same = await runner.wait_for_change(job.id, 10_000, 5)
    assert same is not None and trio.current_time() - t0 == pytest.approx(5)


async def test_shutdown_interrupts_after_grace(runner: JobRunner, autojump_clock: Any) -> None:
    job = await runner.start(sleeper(1000))
    await trio.sleep(1)
    t0 = trio.current_time()
    await runner.shutdown(grace_seconds=10)
    assert trio.current_time() - t0 == pytest.approx(10)
    done = runner.get(job.id)
    assert done is not None and done.status is JobStatus.FAILED and done.error == INTERRUPTED
    with pytest.raises(ShuttingDown):
        await runner.start(sleeper(1))


async def test_restore_marks_active_jobs_interrupted(nursery: trio.Nursery) -> None:
    old = JobRunner(settings())
    await nursery.start(old.run)
    pending = await old.start(sleeper(1000))
    snapshot = [old.get(pending.id)]
    fresh = JobRunner(settings())
    await nursery.start(fresh.run)
    await fresh.restore([j for j in snapshot if j is not None])
    restored = fresh.get(pending.id)
    assert restored is not None and restored.status is JobStatus.FAILED
    assert restored.error == INTERRUPTED


async def test_dead_runner_refuses_requests(autojump_clock: Any) -> None:
    runner = JobRunner(settings())
    async with trio.open_nursery() as nursery:
        await nursery.start(runner.run)
        runner.close()
    with pytest.raises(ShuttingDown):
        await runner.start(sleeper(1))


async def test_many_waiters_cost_nothing_after_disconnect(
        runner: JobRunner, autojump_clock: Any) -> None:
    job = await runner.start(sleeper(100))
    async with trio.open_nursery() as waiters:
        for _ in range(50):
            waiters.start_soon(runner.wait_for_change, job.id, 10_000, 1)
    await trio.testing.wait_all_tasks_blocked()
    assert runner.statistics().change_signals <= 1


async def test_old_results_move_to_the_result_store(
        nursery: trio.Nursery, autojump_clock: Any) -> None:
    stored: dict[str, Any] = {}

    class Store:
        async def load_result(self, job_id: str) -> tuple[bool, Any]:
            return job_id in stored, stored.get(job_id)

        async def load_result_json(self, job_id: str) -> bytes | None:
            return None  # no text form here: the runner's readers take load_result

    def record(job: Job) -> None:
        assert not job.result_offloaded, "listeners only ever see whole snapshots"
        stored[job.id] = job.result

    runner = JobRunner(settings(results_in_memory=2), listeners=[record],
                       result_store=Store())
    await nursery.start(runner.run)
    jobs = [await finished(runner, await runner.start(sleeper(1, result={"n": n})))
            for n in range(5)]
    snapshots = [runner.get(job.id) for job in jobs]
    assert [s.result_offloaded for s in snapshots if s] == [True, True, True, False, False]
    oldest = snapshots[0]
    assert oldest is not None and oldest.result is None and oldest.version == jobs[0].version
    assert [await runner.result_of(s) for s in snapshots if s] == [{"n": n} for n in range(5)]


async def test_watch_holds_progress_but_not_a_change_of_status(
        runner: JobRunner, autojump_clock: Any) -> None:
    started = trio.current_time()
    job = await runner.start(sleeper(10.33, steps=100))  # progress every 0.1033 s
    seen: list[tuple[float, Job]] = []
    async for snapshot in runner.watch(job.id, 0, min_interval=0.5):
        assert snapshot is not None
        seen.append((trio.current_time(), snapshot))
    statuses = [s.status for _, s in seen]
    assert statuses[-1] is JobStatus.COMPLETED
    # The end is sent when it happens, though a progress change was sent just before.
    assert seen[-1][0] == pytest.approx(started + 10.33)
    # Progress-only changes: at most one per half second, the newest each time.
    progress_only = [(t, s) for (t, s), (_, before) in zip(seen[1:], seen, strict=False)
                     if s.status is before.status]
    assert len(progress_only) >= 15
    times = [t for t, _ in seen]
    for (t, s), previous in zip(seen[1:], times, strict=False):
        if s.status is JobStatus.RUNNING and (t, s) in progress_only:
            assert t - previous >= 0.5 - 1e-9
    values = [s.progress for _, s in seen]
    assert values == sorted(values)
    versions = [s.version for _, s in seen]
    assert versions == sorted(set(versions))
    # Without an interval, every change at a distinct moment is seen (each 0.1 s here).
    again = await runner.start(sleeper(1, steps=10))
    every = [s async for s in runner.watch(again.id, 0) if s is not None]
    assert len({s.progress for s in every if s.status is JobStatus.RUNNING}) >= 10


async def test_memory_freed_by_jobs_is_given_back_once_they_stop(
        runner: JobRunner, nursery: trio.Nursery, monkeypatch: pytest.MonkeyPatch) -> None:
    # Real time: the trim runs in a worker thread, which a mock clock would not wait for.
    send, trims = trio.open_memory_channel[float](10)
    real_trim = memory.trim

    def counted() -> bool:
        trio.from_thread.run_sync(lambda: send.send_nowait(trio.current_time()))
        return real_trim()

    monkeypatch.setattr(memory, "trim", counted)
    nursery.start_soon(runner.freed.run, 0.2)
    with trio.fail_after(30):
        # Not while jobs keep ending...
        for _ in range(4):
            await finished(runner, await runner.start(sleeper(0.1)))
        ended = trio.current_time()
        # ...but once none has for a while.
        assert await trims.receive() - ended >= 0.2
    with trio.move_on_after(0.5):
        await trims.receive()
        raise AssertionError("a trim without a job")
