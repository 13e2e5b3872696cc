"""Progress reports reach the actor as messages: never waiting, never lost, in order with
the operation's end."""

from __future__ import annotations

from typing import Any

import trio
import trio.testing

from colony_actor.jobs.execution import Outcome
from colony_actor.jobs.inbox import Finished, Inbox
from colony_actor.jobs.lifecycle import Job, JobStatus
from colony_actor.jobs.runner import JobRequest, JobRunner, ProgressFn
from tests.jobs.support import settings


async def test_a_last_report_is_applied_before_the_end(nursery: trio.Nursery) -> None:
    seen: list[Job] = []
    runner = JobRunner(settings(), listeners=[seen.append])
    await nursery.start(runner.run)

    async def sprint(progress: ProgressFn) -> str:
        progress(0.4, "almost")  # no checkpoint between the report and the end
        return "done"

    job = await runner.run_to_completion(JobRequest("test", sprint, "go"))
    assert [(s.status, s.message) for s in seen] == [
        (JobStatus.PENDING, "go"), (JobStatus.RUNNING, "go"),
        (JobStatus.RUNNING, "almost"), (JobStatus.COMPLETED, "Completed")]
    assert job.version == 4


async def test_reports_between_two_turns_of_the_actor_make_one_change(
        nursery: trio.Nursery, autojump_clock: Any) -> None:
    seen: list[Job] = []
    runner = JobRunner(settings(), listeners=[seen.append])
    await nursery.start(runner.run)

    async def burst(progress: ProgressFn) -> None:
        for fraction in (0.2, 0.6, 0.3):
            progress(fraction, f"at {fraction}")
        await trio.sleep(1)

    await runner.run_to_completion(JobRequest("test", burst, "go"))
    running = [s for s in seen if s.status is JobStatus.RUNNING]
    # The highest fraction and the newest message, as if applied one by one.
    assert [(s.progress, s.message) for s in running] == [(0.0, "go"), (0.6, "at 0.3")]


async def test_a_full_inbox_keeps_the_reports_for_the_next_message() -> None:
    box = Inbox(1)
    box.report("a", 0.1, "first")  # the nudge takes the one place
    box.report("a", 0.2, "second")  # a nudge is already in: none more
    assert len(box) == 1
    message = box.receive.receive_nowait()
    assert box.take_reports(message) == {"a": (0.2, "second")}

    filler = Finished("other", Outcome())
    await box.tell(filler)  # the inbox is full again
    box.report("a", 0.5, "third")  # no room for a nudge: the report waits all the same
    message = box.receive.receive_nowait()
    assert message is filler
    assert box.take_reports(message) == {"a": (0.5, "third")}


async def test_statistics_show_what_the_runner_holds(
        nursery: trio.Nursery, autojump_clock: Any) -> None:
    runner = JobRunner(settings())
    await nursery.start(runner.run)
    idle = runner.statistics()
    assert (idle.jobs_held, idle.jobs_queued, idle.running, idle.inbox_messages) == (0, 0, None, 0)

    async def wait(progress: ProgressFn) -> None:
        await trio.sleep(10)

    first = await runner.start(JobRequest("test", wait, "go", idempotency_key="k"))
    await runner.start(JobRequest("test", wait, "go", queue=True))
    waiting = runner.changed(first.id)
    await trio.testing.wait_all_tasks_blocked()
    busy = runner.statistics()
    assert (busy.jobs_held, busy.jobs_queued, busy.running) == (2, 1, first.id)
    assert (busy.idempotency_keys, busy.change_signals) == (1, 1)
    await waiting.wait()
    await trio.sleep(30)
    done = runner.statistics()
    assert (done.jobs_queued, done.running, done.results_in_memory) == (0, None, 2)
