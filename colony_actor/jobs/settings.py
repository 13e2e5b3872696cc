"""The runner's plain data: the limits it is given (`RunnerSettings`: the daemon fills
them from its configuration, where every default lives, and tests from their own) and
what it reports of itself (`RunnerStatistics`). Data only: no behaviour, no trio."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass


@dataclass(frozen=True)
class RunnerSettings:
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
    # With durable starts, how long a start waits for the journal to write its job
    # before it gives up: the job then fails without running, and the start is refused.
    record_timeout_seconds: float


@dataclass(frozen=True)
class RunnerStatistics:
    """What the runner holds (`JobRunner.statistics`), for tests and operators."""

    jobs_held: int
    jobs_queued: int
    running: str | None  # the id of the job whose operation runs now
    results_in_memory: int
    idempotency_keys: int
    change_signals: int  # signals that waiters (long polls, streams) hold
    inbox_messages: int  # messages waiting for the actor
    unrecorded: int  # new jobs the journal has not written yet (durable starts)
