"""The job runner: the actor that owns the job table and runs one operation at a time.

Callers talk to it through its inbox (inbox.py): `start`, `cancel`, `forget`, `restore`,
`shutdown` and `result_stored` send a small frozen message with a one-shot reply and await
the answer, so a job is in the table before its id is returned. With durable starts, a
start also waits until the journal has written the job, and the job runs only then
(recording.py). The actor's own workers write to the inbox too: an operation's end, and
its progress reports. Callers read immutable snapshots with `get` and `list`, and wait for
changes with `wait_for_change` and `watch` (follow.py); they never mutate anything.

Only the actor's task changes a job (ARCHITECTURE.md, Rule 2), through changes.py, whose
table refuses a write from any other task. An operation runs in a child task in its own
cancel scope (execution.py); one that raises an Exception fails its job, and the runner
never dies of it. The actor never awaits anything but its inbox: a reply that must wait
for something is held and sent later.

This module must never import Colony or HTTP code: an operation is any async callable
taking a progress reporter.
"""

from __future__ import annotations

import math
import uuid
from collections import deque
from collections.abc import AsyncIterator, Callable, Iterable, Mapping
from datetime import datetime
from typing import Any

import trio

from colony_actor.jobs import errors, execution, inbox, lifecycle
from colony_actor.jobs.changes import Changes, DropListener, Listener
from colony_actor.jobs.errors import FailureKind, ShuttingDown
from colony_actor.jobs.execution import CANCELLED, INTERRUPTED, ProgressFn, StopReason
from colony_actor.jobs.inbox import JobRequest
from colony_actor.jobs.lifecycle import Event, Job, JobStatus
from colony_actor.jobs.recording import NOT_RECORDED, Recording, Recordings
from colony_actor.jobs.results import ResultMemory, ResultStore
from colony_actor.jobs.settings import RunnerSettings, RunnerStatistics
from colony_actor.runtime import memory
from colony_actor.runtime.timestamps import utc_now

__all__ = ["CONFLICT", "INTERRUPTED", "JobRequest", "JobRunner", "ProgressFn",
           "RunnerSettings", "RunnerStatistics"]

CONFLICT = "Another operation is already running"
# Every request awaits its answer, so this bounds callers waiting for the actor's turn.
INBOX_SIZE = 64


class JobRunner:
    def __init__(self, settings: RunnerSettings, *,
                 now: Callable[[], datetime] = utc_now,
                 listeners: Iterable[Listener] = (),
                 drop_listeners: Iterable[DropListener] = (),
                 result_store: ResultStore | None = None,
                 durable_starts: bool = False) -> None:
        """`durable_starts`: a start waits until the journal wrote the job (it must then
        tell `result_stored` of every snapshot it writes)."""
        self.settings = settings
        self._results = ResultMemory(result_store,
                                     results_in_memory=settings.results_in_memory,
                                     result_bytes_in_memory=settings.result_bytes_in_memory)
        self._changes = Changes(max_retained=settings.max_retained, results=self._results,
                                now=now, listeners=listeners, drop_listeners=drop_listeners)
        self._table = self._changes.table
        self._follow = self._changes.follow
        self._inbox = inbox.Inbox(INBOX_SIZE)
        # The actor's own state: only its task changes it.
        self._requests: dict[str, JobRequest] = {}
        self._queue: deque[str] = deque()
        self._recordings = Recordings(durable_starts)
        self._active: execution.Running | None = None
        self._idle = trio.Event()
        self._idle.set()
        self._accepting = True
        self._nursery: trio.Nursery | None = None
        self._housekeeping_wake = trio.Event()
        # Gives back the memory jobs freed once they stop (its `run` is a task of its own).
        self.freed = memory.GiveBack(busy=lambda: self._active is not None)
        self.closed = False

    # ------------------------------------------------------------------ reads

    def get(self, job_id: str) -> Job | None:
        return self._table.get(job_id)

    def list(self, *, status: JobStatus | None = None, job_type: str | None = None,
             limit: int = 50, cursor: int | None = None) -> tuple[list[Job], int | None]:
        """Newest first; `cursor` is the sequence number below which to continue."""
        return self._table.list(status=status, job_type=job_type, limit=limit, cursor=cursor)

    def __len__(self) -> int:
        return len(self._table)

    @property
    def busy(self) -> bool:
        return self._active is not None or bool(self._queue)

    @property
    def stopping(self) -> trio.Event:
        """Set once the runner has stopped: shut down, or its actor ended."""
        return self._follow.stopping

    def statistics(self) -> RunnerStatistics:
        return RunnerStatistics(
            jobs_held=len(self._table), jobs_queued=len(self._queue),
            running=self._active.job_id if self._active is not None else None,
            results_in_memory=len(self._results), idempotency_keys=len(self._changes.keys),
            change_signals=len(self._follow), inbox_messages=len(self._inbox),
            unrecorded=len(self._recordings))

    def changed(self, job_id: str) -> trio.Event:
        """An event set at the job's next change (or when the runner stops)."""
        return self._follow.changed(job_id)

    async def wait_for_change(self, job_id: str, since: int, wait_seconds: float) -> Job | None:
        """The job once its version is above `since`, or as it is after `wait_seconds`."""
        return await self._follow.wait_for_change(job_id, since, wait_seconds)

    def watch(self, job_id: str, since: int = 0, *, keepalive: float = math.inf,
              min_interval: float = 0.0) -> AsyncIterator[Job | None]:
        """Each new snapshot of a job until it is terminal (see `Followers.watch`)."""
        return self._follow.watch(job_id, since, keepalive=keepalive,
                                  min_interval=min_interval)

    async def result_of(self, job: Job) -> Any:
        """The job's result, read back from the result store if it was moved there."""
        return await self._results.result_of(job)

    async def result_json_of(self, job: Job) -> bytes | None:
        """The JSON text of a result moved out of memory (None otherwise: `result_of`)."""
        return await self._results.result_json_of(job)

    # ------------------------------------------------------------------ requests

    async def start(self, request: JobRequest) -> Job:
        """The new job (or the one its idempotency key names), once the journal has it;
        NotRecorded if it could not write it in time (the job then failed unrun)."""
        answer: tuple[Job, Recording | None] = await self._inbox.ask(
            lambda reply: inbox.Start(request, reply))
        job, recording = answer
        if recording is not None:
            seconds = self.settings.record_timeout_seconds
            if not await recording.wait(seconds) and not await self._inbox.ask(
                    lambda reply: inbox.Abandon(job.id, reply)):
                raise errors.NotRecorded(seconds)
            if not recording.recorded:
                raise ShuttingDown("The daemon is shutting down")
        return job

    async def cancel(self, job_id: str) -> Job:
        job: Job = await self._inbox.ask(lambda reply: inbox.Cancel(job_id, reply))
        return job

    async def forget(self, job_id: str) -> None:
        await self._inbox.ask(lambda reply: inbox.Forget(job_id, reply))

    async def evict_expired(self) -> int:
        evicted: int = await self._inbox.ask(inbox.Evict)
        return evicted

    async def restore(self, jobs: Iterable[Job]) -> None:
        """Load jobs from a journal (terminal ones; active ones become interrupted)."""
        await self._inbox.ask(lambda reply: inbox.Restore(tuple(jobs), reply))

    async def run_to_completion(self, request: JobRequest) -> Job:
        """Start a job and wait until it is terminal (the legacy synchronous routes)."""
        job = await self.start(request)
        while not job.terminal:
            latest = await self.wait_for_change(job.id, job.version, math.inf)
            if latest is None:
                raise errors.JobNotFound(job.id)
            job = latest
            if self.stopping.is_set() and not job.terminal:
                raise ShuttingDown("The daemon is shutting down")
        return job

    async def shutdown(self, grace_seconds: float) -> None:
        """Take no new jobs, let the running one finish within the grace period, then
        interrupt it; pending jobs are failed as interrupted. Returns when idle."""
        try:
            idle: trio.Event = await self._inbox.ask(inbox.StopTaking)
            with trio.move_on_after(grace_seconds):
                await idle.wait()
            if not idle.is_set():
                await self._inbox.ask(inbox.Interrupt)
                await idle.wait()
        except ShuttingDown:
            return  # the actor has ended: nothing runs, and its end woke every waiter

    async def result_stored(self, job: Job, size: int) -> None:
        """The journal wrote `job` in `size` bytes: a start waiting for it is answered
        (and the job may run), a large result leaves memory."""
        if not self._results.too_large(size) and not self._recordings.waiting(job.id):
            return
        try:
            await self._inbox.ask(lambda reply: inbox.Stored(job, size, reply))
        except ShuttingDown:
            return  # the actor has ended: it holds no result any more

    def close(self) -> None:
        """End the actor loop (after `shutdown`): the inbox closes, `run` returns."""
        self.closed = True
        self._inbox.close()

    async def housekeeping(self) -> None:
        """Evict terminal jobs exactly when their retention ends; runs until cancelled."""
        while True:
            self._housekeeping_wake = trio.Event()
            deadline = self._table.first_finish() + self.settings.retention_seconds
            with trio.move_on_at(deadline):
                await self._housekeeping_wake.wait()
            if trio.current_time() >= deadline:
                await self.evict_expired()

    # ------------------------------------------------------------------ the actor

    async def run(self, *, task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED
                  ) -> None:
        self._table.claim()
        try:
            async with trio.open_nursery() as nursery:
                self._nursery = nursery
                task_status.started()
                async with self._inbox.receive:
                    async for message in self._inbox.receive:
                        self._apply_reports(self._inbox.take_reports(message))
                        self._handle(message)
        finally:
            self._nursery = None
            self._accepting = False
            self._recordings.end()
            self._follow.stop()

    def _handle(self, message: inbox.Message) -> None:
        match message:
            case inbox.Progress():
                pass  # its reports were applied as it arrived
            case inbox.Finished(job_id=job_id, outcome=outcome):
                self._finish(job_id, outcome)
            case _:
                try:
                    answer = self._answer(message)
                except errors.RunnerError as exc:
                    answer = exc
                message.reply.send(answer)

    def _answer(self, request: inbox.Request) -> Any:
        match request:
            case inbox.Start(request=job_request):
                return self._start(job_request)
            case inbox.Cancel(job_id=job_id):
                return self._cancel(job_id)
            case inbox.Forget(job_id=job_id):
                return self._forget(job_id)
            case inbox.Evict():
                expired = self._table.finished_by(
                    trio.current_time() - self.settings.retention_seconds)
                for job_id in expired:
                    self._changes.drop(job_id)
                return len(expired)
            case inbox.Restore(jobs=jobs):
                self._changes.restore(jobs, trio.current_time())
                self._housekeeping_wake.set()
                return len(self._table)
            case inbox.StopTaking():
                return self._stop_taking()
            case inbox.Interrupt():
                if self._active is not None:
                    self._active.reason = StopReason.INTERRUPT
                    self._active.scope.cancel()
                return None
            case inbox.Stored(job=job):
                if self._recordings.recorded(job.id):
                    self._launch_next()
                return self._changes.result_stored(job)
            case inbox.Abandon(job_id=job_id):
                return self._abandon(job_id)

    def _start(self, request: JobRequest) -> tuple[Job, Recording | None]:
        if not self._accepting:
            raise ShuttingDown("The daemon is shutting down and takes no new jobs")
        keys = self._changes.keys
        known = keys.job_for(request.idempotency_key, request.fingerprint)
        if known is not None and (same := self._table.get(known)) is not None:
            return same, self._recordings.of(same.id)
        if self.busy:
            if not request.queue:
                raise errors.JobConflict(CONFLICT)
            if len(self._queue) >= self.settings.queue_size:
                raise errors.JobConflict(
                    f"The job queue is full ({self.settings.queue_size} jobs waiting)")
        job = lifecycle.new_job(str(uuid.uuid4()), request.job_type, dict(request.params),
                                request.start_message, self._changes.now())
        self._requests[job.id] = request
        keys.remember(request.idempotency_key, request.fingerprint, job.id)
        recording = self._recordings.add(job.id)  # before the journal hears of the job
        self._changes.add(job)
        self._queue.append(job.id)
        self._launch_next()
        return job, recording

    def _launch_next(self) -> None:
        if self._active is not None or self._nursery is None:
            return
        if not self._queue:
            self._idle.set()
            if not self._accepting:
                self._follow.stop()  # shut down and idle: the waiters' last answer is in
            return
        if self._recordings.waiting(self._queue[0]):
            return  # it runs once the journal has it
        job_id = self._queue.popleft()
        request = self._requests.pop(job_id)
        self._active = execution.Running.start(job_id, self.settings.timeouts.get(request.job_type))
        self._idle = trio.Event()
        self._transition(job_id, Event.START)
        self._nursery.start_soon(self._execute, job_id, request, self._active.scope)

    async def _execute(self, job_id: str, request: JobRequest, scope: trio.CancelScope
                       ) -> None:
        def report(fraction: float, message: str) -> None:
            self._inbox.report(job_id, fraction, message)

        outcome = await execution.perform(request.operation, report, scope,
                                          job_id=job_id, job_type=request.job_type)
        await self._inbox.tell(inbox.Finished(job_id, outcome))
        self.freed.ended()

    def _apply_reports(self, reports: Mapping[str, tuple[float, str]]) -> None:
        for job_id, (fraction, message) in reports.items():
            job = self._table.get(job_id)
            if job is not None and job.status is JobStatus.RUNNING:
                self._transition(job_id, Event.PROGRESS, progress=fraction, message=message)

    def _finish(self, job_id: str, outcome: execution.Outcome) -> None:
        running, self._active = self._active, None
        if running is None or running.job_id != job_id:
            raise RuntimeError(f"Job {job_id} ended, but it was not the one running")
        event, changes = execution.conclusion(running, outcome)
        self._transition(job_id, event, **changes)
        self._launch_next()

    def _cancel(self, job_id: str) -> Job:
        job = self._table.get(job_id)
        if job is None:
            raise errors.JobNotFound(job_id)
        if job.terminal:
            raise errors.JobNotCancellable(job_id, f"Job {job_id} is already {job.status.value}")
        if job.status is JobStatus.PENDING and job_id in self._queue:
            self._queue.remove(job_id)
            self._requests.pop(job_id, None)
            job = self._transition(job_id, Event.CANCEL, error=CANCELLED,
                                   error_kind=FailureKind.CANCELLED)
            self._launch_next()
        elif self._active is not None and self._active.job_id == job_id:
            self._active.reason = StopReason.CANCEL
            self._active.scope.cancel()
        return job

    def _abandon(self, job_id: str) -> bool:
        """A start gave up waiting for the journal: fail its job, unrun, unless it was
        recorded meanwhile (True then)."""
        if not self._recordings.abandon(job_id):
            return True
        if job_id in self._queue:
            self._queue.remove(job_id)
            self._requests.pop(job_id, None)
            self._transition(job_id, Event.FAIL, error=NOT_RECORDED,
                             error_kind=FailureKind.INTERRUPTED)
            self._launch_next()
        return False

    def _forget(self, job_id: str) -> None:
        job = self._table.get(job_id)
        if job is None:
            raise errors.JobNotFound(job_id)
        if not job.terminal:
            raise errors.JobNotCancellable(
                job_id, f"Job {job_id} is still {job.status.value}; cancel it first")
        self._changes.drop(job_id)

    def _stop_taking(self) -> trio.Event:
        self._accepting = False
        while self._queue:
            job_id = self._queue.popleft()
            self._requests.pop(job_id, None)
            self._transition(job_id, Event.FAIL, error=INTERRUPTED,
                             error_kind=FailureKind.INTERRUPTED)
        self._launch_next()
        return self._idle

    def _transition(self, job_id: str, event: Event, **changes: Any) -> Job:
        job = self._changes.apply(job_id, event, **changes)
        if job.terminal:
            self._housekeeping_wake.set()
        return job
