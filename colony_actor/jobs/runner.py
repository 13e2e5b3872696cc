"""The job runner: the one actor that owns the job table and runs one operation at a time.

Callers (HTTP handlers) talk to it through its inbox: `start`, `cancel`, `forget` send a
small frozen message carrying a one-shot reply channel and await the answer, so a job is
in the table before its id is returned. They read immutable snapshots with `get` and
`list` and wait for changes with `wait_for_change`; they never mutate anything.

Only the runner's own task and its children (the operation's progress reporter and the
task that runs it) replace snapshots, always through `lifecycle.apply`. An operation that
raises fails its job; the runner itself never dies of an operation's exception.

This module must never import Colony or HTTP code: an operation is any async callable
taking a progress reporter.
"""

from __future__ import annotations

import contextlib
import dataclasses
import math
import uuid
from collections import OrderedDict, deque
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Protocol

import structlog
import trio

from colony_actor.jobs import lifecycle
from colony_actor.jobs.errors import (
    FailureKind,
    IdempotencyKeyReused,
    JobConflict,
    JobNotCancellable,
    JobNotFound,
    OperationError,
    RunnerError,
    ShuttingDown,
)
from colony_actor.jobs.lifecycle import Event, Job, JobStatus

log = structlog.get_logger("colony_actor.jobs")

ProgressFn = Callable[[float, str], None]
Operation = Callable[[ProgressFn], Awaitable[Any]]
Listener = Callable[[Job], None]

INTERRUPTED = "Interrupted: the daemon stopped before the job finished"
CONFLICT = "Another operation is already running"


@dataclass(frozen=True)
class JobRequest:
    """What a caller asks the runner to run."""

    job_type: str
    operation: Operation
    start_message: str
    params: Mapping[str, Any] = field(default_factory=dict)
    queue: bool = False
    idempotency_key: str | None = None
    # Identifies "the same request" for Idempotency-Key (method, path, query, body...).
    fingerprint: str = ""


@dataclass(frozen=True)
class RunnerSettings:
    """The runner's limits; the daemon fills them from its configuration."""

    queue_size: int
    retention_seconds: float
    max_retained: int
    # Per job type; a type that is absent has no time limit.
    timeouts: Mapping[str, float]
    # Results of the newest finished jobs stay in memory; older ones are read back from
    # the result store on demand, so memory does not grow with results of retained jobs.
    results_in_memory: int
    # A result whose stored form is larger leaves memory as soon as the store has it: as
    # Python objects, 100,000 rows take about 100 MB, and every full pass of the cyclic
    # GC walks them all, holding the GIL (a pass took 120 ms with five such results).
    result_bytes_in_memory: int


class ResultStore(Protocol):
    async def load_result(self, job_id: str) -> tuple[bool, Any]: ...

    async def load_result_json(self, job_id: str) -> bytes | None: ...


# Inbox messages. Each request carries the send side of a one-shot reply channel.
@dataclass(frozen=True)
class _Start:
    request: JobRequest
    reply: trio.MemorySendChannel[Any]


@dataclass(frozen=True)
class _Cancel:
    job_id: str
    reply: trio.MemorySendChannel[Any]


@dataclass(frozen=True)
class _Forget:
    job_id: str
    reply: trio.MemorySendChannel[Any]


@dataclass(frozen=True)
class _Evict:
    reply: trio.MemorySendChannel[Any]


@dataclass(frozen=True)
class _Restore:
    jobs: tuple[Job, ...]
    reply: trio.MemorySendChannel[Any]


_Message = _Start | _Cancel | _Forget | _Evict | _Restore


@dataclass
class _Active:
    """The running job's handles: its cancel scope and why it was cancelled, if it was."""

    job_id: str
    scope: trio.CancelScope
    reason: str | None = None  # "cancel" | "interrupt"


def _utcnow() -> datetime:
    return datetime.now(UTC)


class JobRunner:
    def __init__(self, settings: RunnerSettings, *,
                 now: Callable[[], datetime] = _utcnow,
                 listeners: Iterable[Listener] = (),
                 drop_listeners: Iterable[Callable[[str], None]] = (),
                 result_store: ResultStore | None = None) -> None:
        self.settings = settings
        self._now = now
        self._listeners = list(listeners)
        self._drop_listeners = list(drop_listeners)
        self._result_store = result_store
        # Finished jobs whose result is still in memory, oldest first.
        self._hot: OrderedDict[str, None] = OrderedDict()
        self._inbox_send, self._inbox_recv = trio.open_memory_channel[_Message](64)
        # Insertion order is creation order, so reversed() lists newest first.
        self._jobs: dict[str, Job] = {}
        self._seq: dict[str, int] = {}
        self._next_seq = 0
        self._requests: dict[str, JobRequest] = {}
        self._queue: deque[str] = deque()
        self._active: _Active | None = None
        # Terminal jobs in finishing order, with the trio time each finished (retention).
        self._finished: OrderedDict[str, float] = OrderedDict()
        self._idempotency: dict[str, tuple[str, str]] = {}  # key -> (fingerprint, job_id)
        self._key_of: dict[str, str] = {}  # job_id -> its idempotency key
        self._signals: dict[str, trio.Event] = {}
        self._status_signals: dict[str, trio.Event] = {}  # fired at a change of status only
        self._housekeeping_wake = trio.Event()
        self._idle = trio.Event()
        self._idle.set()
        self._accepting = True
        self.closed = False
        self.stopping = trio.Event()
        self._nursery: trio.Nursery | None = None

    # ------------------------------------------------------------------ reads (snapshots)

    def get(self, job_id: str) -> Job | None:
        return self._jobs.get(job_id)

    @property
    def busy(self) -> bool:
        return self._active is not None or bool(self._queue)

    def __len__(self) -> int:
        return len(self._jobs)

    def list(self, *, status: JobStatus | None = None, job_type: str | None = None,
             limit: int = 50, cursor: int | None = None) -> tuple[list[Job], int | None]:
        """Newest first; `cursor` is the sequence number below which to continue."""
        page: list[Job] = []
        for job in reversed(self._jobs.values()):
            seq = self._seq[job.id]
            if cursor is not None and seq >= cursor:
                continue
            if status is not None and job.status is not status:
                continue
            if job_type is not None and job.job_type != job_type:
                continue
            if len(page) == limit:
                return page, self._seq[page[-1].id]
            page.append(job)
        return page, None

    def changed(self, job_id: str) -> trio.Event:
        """An event set at the job's next change (or when the runner stops)."""
        return self._signal(self._signals, job_id)

    def _signal(self, signals: dict[str, trio.Event], job_id: str) -> trio.Event:
        event = signals.get(job_id)
        if event is None:
            event = signals[job_id] = trio.Event()
            if self.stopping.is_set():
                event.set()
        return event

    async def wait_for_change(self, job_id: str, since: int, wait_seconds: float) -> Job | None:
        """The job once its version is above `since`, or as it is after `wait_seconds`."""
        with trio.move_on_after(wait_seconds):
            while True:
                job = self._jobs.get(job_id)
                # A terminal job never changes again: no point waiting for it.
                if (job is None or job.version > since or job.terminal
                        or self.stopping.is_set()):
                    return job
                await self.changed(job_id).wait()
        return self._jobs.get(job_id)

    async def watch(self, job_id: str, since: int = 0, *, keepalive: float = math.inf,
                    min_interval: float = 0.0) -> AsyncIterator[Job | None]:
        """Each new snapshot of a job (versions above `since`) until it is terminal;
        None after `keepalive` seconds without a change, so a stream can prove it lives.

        With `min_interval`, a change that only moves the progress is held until that
        long after the previous snapshot yielded, and then the newest one is yielded (a
        job reporting progress a hundred times a second costs a follower a few sends a
        second); a change of status (started, finished) is yielded at once."""
        status: JobStatus | None = None
        hold_until = -math.inf
        while True:
            job = await self.wait_for_change(job_id, since, keepalive)
            if job is None:
                return
            if job.version > since:
                if job.status is status and not job.terminal:
                    job = await self._until_status_changes(job_id, job, hold_until)
                yield job
                since, status = job.version, job.status
                hold_until = trio.current_time() + min_interval
            elif not job.terminal and not self.stopping.is_set():
                yield None
            if job.terminal or self.stopping.is_set():
                return

    async def _until_status_changes(self, job_id: str, held: Job, deadline: float) -> Job:
        """The job's newest snapshot at `deadline`, or as soon as its status is no longer
        `held`'s (or the runner stops)."""
        # Woken by a change of status only: progress may move hundreds of times meanwhile.
        with trio.move_on_at(deadline):
            while True:
                job = self._jobs.get(job_id)
                if (job is None or job.status is not held.status or job.terminal
                        or self.stopping.is_set()):
                    break
                await self._signal(self._status_signals, job_id).wait()
        return self._jobs.get(job_id) or held

    async def result_json_of(self, job: Job) -> bytes | None:
        """The JSON text of a result moved out of memory, where the result store can give
        it without building it (None otherwise: use `result_of`)."""
        if not job.result_offloaded or self._result_store is None:
            return None
        return await self._result_store.load_result_json(job.id)

    async def result_of(self, job: Job) -> Any:
        """The job's result, read back from the result store if it was moved there."""
        if not job.result_offloaded or self._result_store is None:
            return job.result
        _, result = await self._result_store.load_result(job.id)
        return result

    # ------------------------------------------------------------------ requests (inbox)

    async def start(self, request: JobRequest) -> Job:
        job: Job = await self._ask(lambda reply: _Start(request, reply))
        return job

    async def cancel(self, job_id: str) -> Job:
        job: Job = await self._ask(lambda reply: _Cancel(job_id, reply))
        return job

    async def forget(self, job_id: str) -> None:
        await self._ask(lambda reply: _Forget(job_id, reply))

    async def evict_expired(self) -> int:
        evicted: int = await self._ask(lambda reply: _Evict(reply))
        return evicted

    async def restore(self, jobs: Iterable[Job]) -> None:
        """Load jobs from a journal (terminal ones; active ones become interrupted)."""
        await self._ask(lambda reply: _Restore(tuple(jobs), reply))

    async def run_to_completion(self, request: JobRequest) -> Job:
        """Start a job and wait until it is terminal (the legacy synchronous routes)."""
        job = await self.start(request)
        while not job.terminal:
            latest = await self.wait_for_change(job.id, job.version, math.inf)
            if latest is None:
                raise JobNotFound(job.id)
            job = latest
            if self.stopping.is_set() and not job.terminal:
                raise ShuttingDown("The daemon is shutting down")
        return job

    async def _ask(self, make: Callable[[trio.MemorySendChannel[Any]], _Message]) -> Any:
        reply_send, reply_recv = trio.open_memory_channel[Any](1)
        try:
            await self._inbox_send.send(make(reply_send))
            async with reply_recv:
                answer = await reply_recv.receive()
        except (trio.BrokenResourceError, trio.ClosedResourceError, trio.EndOfChannel):
            raise ShuttingDown("The daemon is shutting down") from None
        if isinstance(answer, RunnerError):
            raise answer
        return answer

    # ------------------------------------------------------------------ the actor

    async def run(self, *, task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED
                  ) -> None:
        try:
            async with trio.open_nursery() as nursery:
                self._nursery = nursery
                task_status.started()
                async with self._inbox_recv:
                    async for message in self._inbox_recv:
                        self._handle(message)
        finally:
            self._nursery = None
            self._accepting = False
            self.stopping.set()
            self._wake_all()

    async def shutdown(self, grace_seconds: float) -> None:
        """Take no new jobs, let the running one finish within the grace period, then
        interrupt it; pending jobs are failed as interrupted. Returns when idle."""
        self._accepting = False
        for job_id in list(self._queue):
            self._queue.remove(job_id)
            self._transition(job_id, Event.FAIL, error=INTERRUPTED,
                             error_kind=FailureKind.INTERRUPTED)
        with trio.move_on_after(grace_seconds):
            await self._idle.wait()
        if self._active is not None:
            self._active.reason = "interrupt"
            self._active.scope.cancel()
            await self._idle.wait()
        self.stopping.set()
        self._wake_all()
        self._signals.clear()
        self._status_signals.clear()

    def _wake_all(self) -> None:
        for signals in (self._signals, self._status_signals):
            for event in list(signals.values()):
                event.set()

    def close(self) -> None:
        """End the actor loop (after `shutdown`): the inbox closes, `run` returns."""
        self.closed = True
        self._inbox_send.close()

    async def housekeeping(self) -> None:
        """Evict terminal jobs exactly when their retention ends; runs until cancelled."""
        while True:
            self._housekeeping_wake = trio.Event()
            deadline = self._next_expiry()
            with trio.move_on_at(deadline):
                await self._housekeeping_wake.wait()
            if trio.current_time() >= deadline:
                await self.evict_expired()

    def _next_expiry(self) -> float:
        for finished in self._finished.values():
            return finished + self.settings.retention_seconds
        return math.inf

    def _handle(self, message: _Message) -> None:
        try:
            answer: Any = self._dispatch(message)
        except RunnerError as exc:
            answer = exc
        # The caller may have gone away (client disconnected); the change stands.
        with contextlib.suppress(trio.BrokenResourceError, trio.ClosedResourceError):
            message.reply.send_nowait(answer)

    def _dispatch(self, message: _Message) -> Any:
        match message:
            case _Start(request=request):
                return self._start(request)
            case _Cancel(job_id=job_id):
                return self._cancel(job_id)
            case _Forget(job_id=job_id):
                return self._forget(job_id)
            case _Evict():
                return self._evict()
            case _Restore(jobs=jobs):
                return self._restore(jobs)

    def _start(self, request: JobRequest) -> Job:
        if not self._accepting:
            raise ShuttingDown("The daemon is shutting down and takes no new jobs")
        key = request.idempotency_key
        if key is not None and key in self._idempotency:
            fingerprint, job_id = self._idempotency[key]
            if fingerprint != request.fingerprint:
                raise IdempotencyKeyReused(
                    f"Idempotency-Key {key!r} was already used with a different request")
            if job_id in self._jobs:
                return self._jobs[job_id]
            del self._idempotency[key]
        if self.busy:
            if not request.queue:
                raise JobConflict(CONFLICT)
            if len(self._queue) >= self.settings.queue_size:
                raise JobConflict(
                    f"The job queue is full ({self.settings.queue_size} jobs waiting)")
        job = lifecycle.new_job(str(uuid.uuid4()), request.job_type, dict(request.params),
                                request.start_message, self._now())
        self._seq[job.id] = self._next_seq
        self._next_seq += 1
        self._requests[job.id] = request
        if key is not None:
            self._idempotency[key] = (request.fingerprint, job.id)
            self._key_of[job.id] = key
        self._publish(job, previous=None)
        self._queue.append(job.id)
        self._launch_next()
        return job

    def _launch_next(self) -> None:
        if self._active is not None or not self._queue or self._nursery is None:
            if self._active is None and not self._queue:
                self._idle.set()
            return
        job_id = self._queue.popleft()
        self._active = _Active(job_id, trio.CancelScope())
        self._idle = trio.Event()
        timeout = self.settings.timeouts.get(self._jobs[job_id].job_type)
        if timeout is not None:
            self._active.scope.deadline = trio.current_time() + timeout
        self._nursery.start_soon(self._execute, self._active, timeout)

    async def _execute(self, active: _Active, limit: float | None) -> None:
        job_id = active.job_id
        request = self._requests.pop(job_id)
        self._transition(job_id, Event.START)

        def report(fraction: float, message: str) -> None:
            # Called from the operation's task (the trio thread), so applying it here
            # directly keeps order and never waits.
            job = self._jobs.get(job_id)
            if job is not None and job.status is JobStatus.RUNNING:
                self._transition(job_id, Event.PROGRESS, progress=fraction, message=message)

        result: Any = None
        error: str | None = None
        error_kind: FailureKind | None = None
        try:
            with active.scope:
                result = await request.operation(report)
        except OperationError as exc:
            error, error_kind = str(exc), exc.kind
        except Exception as exc:
            error, error_kind = _readable(exc), FailureKind.OPERATION_FAILED
            log.exception("job_operation_crashed", job_id=job_id, job_type=request.job_type)
        finally:
            self._active = None

        if active.scope.cancelled_caught:
            if active.reason == "cancel":
                self._transition(job_id, Event.CANCEL, error="Cancelled by request",
                                 error_kind=FailureKind.CANCELLED)
            elif active.reason == "interrupt":
                self._transition(job_id, Event.FAIL, error=INTERRUPTED,
                                 error_kind=FailureKind.INTERRUPTED)
            else:
                self._transition(job_id, Event.FAIL, error=f"Timed out after {limit:g} seconds",
                                 error_kind=FailureKind.TIMEOUT)
        elif error is not None:
            self._transition(job_id, Event.FAIL, error=error, error_kind=error_kind)
        else:
            self._transition(job_id, Event.COMPLETE, result=result,
                             message=_completion_message(result))
        self._launch_next()

    def _cancel(self, job_id: str) -> Job:
        job = self._jobs.get(job_id)
        if job is None:
            raise JobNotFound(job_id)
        if job.terminal:
            raise JobNotCancellable(job_id, f"Job {job_id} is already {job.status.value}")
        if job.status is JobStatus.PENDING and job_id in self._queue:
            self._queue.remove(job_id)
            self._requests.pop(job_id, None)
            self._transition(job_id, Event.CANCEL, error="Cancelled by request",
                             error_kind=FailureKind.CANCELLED)
            self._launch_next()
        elif self._active is not None and self._active.job_id == job_id:
            self._active.reason = "cancel"
            self._active.scope.cancel()
        return self._jobs[job_id]

    def _forget(self, job_id: str) -> None:
        job = self._jobs.get(job_id)
        if job is None:
            raise JobNotFound(job_id)
        if not job.terminal:
            raise JobNotCancellable(
                job_id, f"Job {job_id} is still {job.status.value}; cancel it first")
        self._drop(job_id)

    def _evict(self) -> int:
        horizon = trio.current_time() - self.settings.retention_seconds
        expired = [jid for jid, finished in self._finished.items() if finished <= horizon]
        for job_id in expired:
            self._drop(job_id)
        return len(expired)

    def _restore(self, jobs: Iterable[Job]) -> int:
        now_wall, now_trio = self._now(), trio.current_time()
        for job in sorted(jobs, key=lambda j: j.created_at):
            if job.id in self._jobs:
                continue
            if not job.terminal:
                job = lifecycle.apply(job, Event.FAIL, now_wall, error=INTERRUPTED,
                                      error_kind=FailureKind.INTERRUPTED)
                self._notify(job)
            self._jobs[job.id] = job
            self._seq[job.id] = self._next_seq
            self._next_seq += 1
            age = (now_wall - (job.finished_at or job.updated_at)).total_seconds()
            self._finished[job.id] = now_trio - max(age, 0.0)
            if not job.result_offloaded:
                self._keep_hot(job.id)
        self._enforce_count_bound()
        self._housekeeping_wake.set()
        return len(self._jobs)

    # ------------------------------------------------------------------ state changes

    def _transition(self, job_id: str, event: Event, **changes: Any) -> Job:
        previous = self._jobs[job_id]
        job = lifecycle.apply(previous, event, self._now(), **changes)
        self._publish(job, previous)
        return job

    def _publish(self, job: Job, previous: Job | None) -> None:
        self._jobs[job.id] = job
        if job.terminal:
            self._finished[job.id] = trio.current_time()
            self._enforce_count_bound()
            self._keep_hot(job.id)
            self._housekeeping_wake.set()
        event = self._signals.pop(job.id, None)
        if event is not None:
            event.set()
        if previous is None or previous.status is not job.status:
            _log_transition(job)
            status_event = self._status_signals.pop(job.id, None)
            if status_event is not None:
                status_event.set()
        self._notify(job)

    def _notify(self, job: Job) -> None:
        for listener in self._listeners:
            try:
                listener(job)
            except Exception:
                log.exception("job_listener_failed", job_id=job.id)

    def _enforce_count_bound(self) -> None:
        while len(self._finished) > self.settings.max_retained:
            oldest = next(iter(self._finished))
            self._drop(oldest)

    async def result_stored(self, job: Job, size: int) -> None:
        """The result store wrote `job` in `size` bytes: move a large result out of memory."""
        if size <= self.settings.result_bytes_in_memory or self._result_store is None:
            return
        current = self._jobs.get(job.id)
        if current is not None and current.version == job.version and current.terminal:
            self._hot.pop(job.id, None)
            self._move_out(job.id)

    def _keep_hot(self, job_id: str) -> None:
        self._hot[job_id] = None
        if self._result_store is None:
            return
        while len(self._hot) > self.settings.results_in_memory:
            oldest, _ = self._hot.popitem(last=False)
            self._move_out(oldest)

    def _move_out(self, job_id: str) -> None:
        """Leave a job's result to the result store. Not a change of the job (same version,
        no listener): only where its result lives."""
        job = self._jobs.get(job_id)
        if job is not None and job.result is not None and not job.result_offloaded:
            self._jobs[job_id] = dataclasses.replace(job, result=None, result_offloaded=True)

    def _drop(self, job_id: str) -> None:
        self._hot.pop(job_id, None)
        self._jobs.pop(job_id, None)
        self._seq.pop(job_id, None)
        self._finished.pop(job_id, None)
        for signals in (self._signals, self._status_signals):
            event = signals.pop(job_id, None)
            if event is not None:
                event.set()
        key = self._key_of.pop(job_id, None)
        if key is not None:
            self._idempotency.pop(key, None)
        for listener in self._drop_listeners:
            try:
                listener(job_id)
            except Exception:
                log.exception("job_listener_failed", job_id=job_id)


def _completion_message(result: Any) -> str | None:
    if isinstance(result, Mapping) and isinstance(result.get("message"), str):
        return str(result["message"])
    return "Completed"


def _readable(exc: BaseException) -> str:
    if isinstance(exc, BaseExceptionGroup):
        return "; ".join(_readable(inner) for inner in exc.exceptions)
    text = str(exc)
    return text if text else f"{type(exc).__name__} in the operation"


def _log_transition(job: Job) -> None:
    fields: dict[str, Any] = {"job_id": job.id, "job_type": job.job_type,
                              "status": job.status.value, "progress": job.progress}
    if job.terminal and job.started_at is not None and job.finished_at is not None:
        fields["duration_ms"] = round(
            (job.finished_at - job.started_at).total_seconds() * 1000, 3)
    if job.error is not None:
        fields["error"] = job.error
    log.info("job_" + job.status.value, **fields)
