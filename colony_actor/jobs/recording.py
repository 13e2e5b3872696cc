"""Starts that wait for the journal: a job is answered (and run) only once it is on disk.

With durable starts the actor notes each new job here; the start's caller waits on its
`Recording` (bounded), and the actor marks it recorded when the journal says it wrote the
job (the inbox's `Stored` message) and only then lets the job run. So a job answered 202
survives a crash at any instant after, and a restart reports it as interrupted. Only the
actor changes what is here; the journal's task may ask `waiting`. This module never
changes a job and never waits itself.
"""

from __future__ import annotations

import trio

NOT_RECORDED = "Not started: the job journal did not record the job in time"


class Recording:
    """What a start waits on: `done` is set once the journal has the job (`recorded`), or
    once that will not happen (the actor ended, the start gave up)."""

    def __init__(self) -> None:
        self.done = trio.Event()
        self.recorded = False

    async def wait(self, seconds: float) -> bool:
        """Whether it was settled within `seconds`."""
        with trio.move_on_after(seconds):
            await self.done.wait()
        return self.done.is_set()

    def settle(self, recorded: bool) -> None:
        self.recorded = recorded
        self.done.set()


class Recordings:
    """The jobs started but not yet written to the journal, in the actor's hands."""

    def __init__(self, durable: bool) -> None:
        self.durable = durable
        self._waiting: dict[str, Recording] = {}

    def __len__(self) -> int:
        return len(self._waiting)

    def waiting(self, job_id: str) -> bool:
        """Whether the job's start still waits for the journal."""
        return job_id in self._waiting

    def add(self, job_id: str) -> Recording | None:
        """A new job: the Recording its start waits on (None without durable starts)."""
        if not self.durable:
            return None
        recording = self._waiting[job_id] = Recording()
        return recording

    def of(self, job_id: str) -> Recording | None:
        """The Recording of a job still waiting (a repeated start with the same key)."""
        return self._waiting.get(job_id)

    def recorded(self, job_id: str) -> bool:
        """The journal wrote the job: its start is answered. False if it was not waiting."""
        recording = self._waiting.pop(job_id, None)
        if recording is None:
            return False
        recording.settle(True)
        return True

    def abandon(self, job_id: str) -> bool:
        """The start gave up waiting: True if the job was still not recorded."""
        recording = self._waiting.pop(job_id, None)
        if recording is None:
            return False
        recording.settle(False)
        return True

    def end(self) -> None:
        """The actor ends: every start still waiting is told the job was not recorded."""
        waiting, self._waiting = self._waiting, {}
        for recording in waiting.values():
            recording.settle(False)
