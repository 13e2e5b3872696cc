"""Waiting for a job's change: per-job change signals, the long poll, and the follow of an
event stream with its keepalive and its throttle.

The actor fires a job's signals each time it publishes a snapshot of it (`published`), when
it drops the job, and once for all when the runner stops; waiters read the snapshot
through `get` once woken. A signal is made when the first waiter asks for it and let go
when it fires, so waiters that left cost nothing. This module never changes a job and
never holds a snapshot beyond one wait.
"""

from __future__ import annotations

import math
from collections.abc import AsyncIterator, Callable

import trio

from colony_actor.jobs.lifecycle import Job, JobStatus


class Followers:
    def __init__(self, get: Callable[[str], Job | None]) -> None:
        self._get = get
        self._changes: dict[str, trio.Event] = {}
        self._status_changes: dict[str, trio.Event] = {}  # fired at a change of status only
        self.stopping = trio.Event()

    def __len__(self) -> int:
        """How many signals waiters hold."""
        return len(self._changes) + len(self._status_changes)

    def changed(self, job_id: str) -> trio.Event:
        """An event set at the job's next change (or when the runner stops)."""
        return self._signal(self._changes, job_id)

    # ------------------------------------------------------------------ the actor's side

    def published(self, job: Job, previous: Job | None) -> None:
        _fire(self._changes, job.id)
        if previous is None or previous.status is not job.status:
            _fire(self._status_changes, job.id)

    def dropped(self, job_id: str) -> None:
        _fire(self._changes, job_id)
        _fire(self._status_changes, job_id)

    def stop(self) -> None:
        """The runner stops: wake every waiter, now and from now on."""
        self.stopping.set()
        for signals in (self._changes, self._status_changes):
            for event in signals.values():
                event.set()
            signals.clear()

    # ------------------------------------------------------------------ waiters

    async def wait_for_change(self, job_id: str, since: int, wait_seconds: float) -> Job | None:
        """The job once its version is above `since`, or as it is after `wait_seconds`."""
        with trio.move_on_after(wait_seconds):
            while True:
                job = self._get(job_id)
                # A terminal job never changes again: no point waiting for it.
                if (job is None or job.version > since or job.terminal
                        or self.stopping.is_set()):
                    return job
                await self.changed(job_id).wait()
        return self._get(job_id)

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
                job = self._get(job_id)
                if (job is None or job.status is not held.status or job.terminal
                        or self.stopping.is_set()):
                    break
                await self._signal(self._status_changes, job_id).wait()
        return self._get(job_id) or held

    def _signal(self, signals: dict[str, trio.Event], job_id: str) -> trio.Event:
        event = signals.get(job_id)
        if event is None:
            event = trio.Event()
            if self.stopping.is_set():
                event.set()  # the runner stopped: nothing will ever fire it
            else:
                signals[job_id] = event
        return event


def _fire(signals: dict[str, trio.Event], job_id: str) -> None:
    event = signals.pop(job_id, None)
    if event is not None:
        event.set()
