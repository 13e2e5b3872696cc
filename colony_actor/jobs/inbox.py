"""The runner's inbox: what callers ask of the actor, and what its own workers tell it.

Each message is a small frozen dataclass on one memory channel. A request that needs an
answer carries a Reply, the send side of a one-shot channel its caller waits on; a Reply
is a value, so the actor may answer at once or hold it and answer when a later message
arrives, never waiting itself. Progress is reported synchronously by an operation, so it
may not wait for room in the channel: the newest report of each job is kept here, beside
the channel, with at most one `Progress` nudge in it, and the actor takes the reports
before each message it handles (so they keep their order with the operation's end).

Messages carry data, never behaviour: what each one does is the actor's to decide, in
runner.py. Nothing here changes a job.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import trio

from colony_actor.jobs.errors import RunnerError, ShuttingDown
from colony_actor.jobs.execution import Operation, Outcome
from colony_actor.jobs.lifecycle import Job


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
class Reply:
    """Where the answer to one request goes, once."""

    channel: trio.MemorySendChannel[Any]

    def send(self, answer: Any) -> None:
        # The caller may have gone away (a client disconnected); the change stands.
        with contextlib.suppress(trio.BrokenResourceError, trio.ClosedResourceError):
            self.channel.send_nowait(answer)


# From callers, each answered through its reply.


@dataclass(frozen=True)
class Start:
    """Answered with the job, and the Recording its caller waits on (durable starts)."""

    request: JobRequest
    reply: Reply


@dataclass(frozen=True)
class Cancel:
    job_id: str
    reply: Reply


@dataclass(frozen=True)
class Forget:
    job_id: str
    reply: Reply


@dataclass(frozen=True)
class Evict:
    """Drop the jobs whose retention has ended."""

    reply: Reply


@dataclass(frozen=True)
class Restore:
    jobs: tuple[Job, ...]
    reply: Reply


@dataclass(frozen=True)
class StopTaking:
    """Shutdown begins: take no new jobs, fail the queued ones. Answered with the event
    set once nothing runs."""

    reply: Reply


@dataclass(frozen=True)
class Interrupt:
    """Shutdown's grace is over: cancel the running operation as interrupted. Answered
    with None."""

    reply: Reply


@dataclass(frozen=True)
class Stored:
    """The journal wrote this snapshot in `size` bytes. Answered with None once a start
    waiting for the job was answered (the job may run now) and its result left memory
    (if it still was the job's newest snapshot and a large one)."""

    job: Job
    size: int
    reply: Reply


@dataclass(frozen=True)
class Abandon:
    """A start waited too long for the journal to write its job. Answered with True if
    the journal did write it meanwhile; otherwise the job fails without running."""

    job_id: str
    reply: Reply


Request = (Start | Cancel | Forget | Evict | Restore | StopTaking | Interrupt | Stored
           | Abandon)


# From the actor's own workers: no answer.


@dataclass(frozen=True)
class Progress:
    """An operation reported progress: the reports wait in the runner, newest per job."""


@dataclass(frozen=True)
class Finished:
    """An operation ended."""

    job_id: str
    outcome: Outcome


Message = Request | Progress | Finished


class Inbox:
    """The actor's memory channel, and the progress reports waiting beside it."""

    def __init__(self, size: int) -> None:
        self._send, self.receive = trio.open_memory_channel[Message](size)
        self._reports: dict[str, tuple[float, str]] = {}  # job id -> (fraction, message)
        self._nudged = False  # a Progress nudge is in the channel

    def __len__(self) -> int:
        """How many messages wait for the actor."""
        return self._send.statistics().current_buffer_used

    async def ask(self, make: Callable[[Reply], Request]) -> Any:
        """Send a request and return its answer; a refusal is raised, and so is
        ShuttingDown once the actor has ended."""
        reply_send, reply_recv = trio.open_memory_channel[Any](1)
        try:
            await self._send.send(make(Reply(reply_send)))
            async with reply_recv:
                answer = await reply_recv.receive()
        except (trio.BrokenResourceError, trio.ClosedResourceError, trio.EndOfChannel):
            raise ShuttingDown("The daemon is shutting down") from None
        if isinstance(answer, RunnerError):
            raise answer
        return answer

    async def tell(self, message: Finished) -> None:
        """Send a message that needs no answer (dropped once the actor has ended)."""
        with contextlib.suppress(trio.BrokenResourceError, trio.ClosedResourceError):
            await self._send.send(message)

    def report(self, job_id: str, fraction: float, message: str) -> None:
        """Keep a job's progress report and nudge the actor, never waiting. Of the reports
        not taken yet the highest fraction counts (progress never decreases) and the
        last message."""
        held = self._reports.get(job_id)
        self._reports[job_id] = (fraction if held is None else max(held[0], fraction), message)
        if self._nudged:
            return
        try:
            self._send.send_nowait(Progress())
        except trio.WouldBlock:
            return  # a full channel: the actor takes the reports before its next message
        except (trio.BrokenResourceError, trio.ClosedResourceError):
            self._reports.clear()  # the actor has ended
            return
        self._nudged = True

    def take_reports(self, message: Message) -> dict[str, tuple[float, str]]:
        """The reports kept so far, for the actor as it receives `message`."""
        if isinstance(message, Progress):
            self._nudged = False
        reports, self._reports = self._reports, {}
        return reports

    def close(self) -> None:
        self._send.close()
