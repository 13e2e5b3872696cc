"""Where a finished job's result lives: in memory, or moved out to the result store.

Results of the newest `results_in_memory` finished jobs stay in memory; older ones leave
it, and so does any result whose stored form is larger than `result_bytes_in_memory` once
the store has it. Readers get a moved result back from the store (the job journal). Without
a store every result stays in memory. This module decides and reads; it never replaces a
snapshot itself (the actor does, with `moved_out`).
"""

from __future__ import annotations

import dataclasses
from collections import OrderedDict
from typing import Any, Protocol

from colony_actor.jobs.lifecycle import Job


class ResultStore(Protocol):
    async def load_result(self, job_id: str) -> tuple[bool, Any]: ...

    async def load_result_json(self, job_id: str) -> bytes | None: ...


def moved_out(job: Job) -> Job | None:
    """The snapshot without its result, left to the store; None if there is nothing to
    move. Not a change of the job: same version, and no listener hears of it."""
    if job.result is None or job.result_offloaded:
        return None
    return dataclasses.replace(job, result=None, result_offloaded=True)


class ResultMemory:
    def __init__(self, store: ResultStore | None, *, results_in_memory: int,
                 result_bytes_in_memory: int) -> None:
        self._store = store
        self._count = results_in_memory
        self._bytes = result_bytes_in_memory
        # Finished jobs whose result is still in memory, oldest first.
        self._held: OrderedDict[str, None] = OrderedDict()

    def __len__(self) -> int:
        return len(self._held)

    def keep(self, job_id: str) -> list[str]:
        """`job_id` finished with its result in memory: the jobs whose results must now
        leave it, oldest first."""
        self._held[job_id] = None
        leaving: list[str] = []
        while self._store is not None and len(self._held) > self._count:
            oldest, _ = self._held.popitem(last=False)
            leaving.append(oldest)
        return leaving

    def too_large(self, size: int) -> bool:
        """Whether a result stored in `size` bytes leaves memory once it is stored."""
        return self._store is not None and size > self._bytes

    def forget(self, job_id: str) -> None:
        self._held.pop(job_id, None)

    async def result_of(self, job: Job) -> Any:
        """The job's result, read back from the store if it was moved there."""
        if not job.result_offloaded or self._store is None:
            return job.result
        _, result = await self._store.load_result(job.id)
        return result

    async def result_json_of(self, job: Job) -> bytes | None:
        """The JSON text of a result moved out of memory, where the store can give it
        without building it (None otherwise: use `result_of`)."""
        if not job.result_offloaded or self._store is None:
            return None
        return await self._store.load_result_json(job.id)
