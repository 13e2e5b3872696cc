"""The wiring: builds the daemon's parts from its settings and its identity, connects them,
and starts the job engine. The daemon's supervisor and the tests both build through here,
so what a test runs is what the daemon runs.

Every value comes from `Settings` (the parts hold no defaults of their own). The identity
(key store, token authority) is opened by the caller: the daemon from its password, a test
from fixed ones. This module opens and closes; it must never serve HTTP or own the
process's nursery.
"""

from __future__ import annotations

import os
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import structlog
import trio

from colony_actor.colony.facade import Colony
from colony_actor.colony.keys.store import KeyStore
from colony_actor.colony.network.local import LocalNetwork
from colony_actor.colony.search.sandbox import Limits
from colony_actor.jobs.journal.store import JobJournal, JournalError
from colony_actor.jobs.runner import JobRunner, RunnerSettings
from colony_actor.runtime import threads
from colony_actor.service.config import Settings
from colony_actor.service.metrics import Metrics
from colony_actor.service.services import Services
from colony_actor.service.tokens import TokenAuthority

log = structlog.get_logger("colony_actor.service.wiring")

JOURNAL_FILE = "jobs.sqlite3"


class RunnerDied(Exception):
    """The job runner stopped without being closed."""


def prepare_dirs(settings: Settings) -> None:
    """Create the data and network directories (sync: call in a thread)."""
    settings.data_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
    settings.network_dir.mkdir(parents=True, exist_ok=True)


def query_limits(settings: Settings) -> Limits:
    search = settings.search
    return Limits(memory_bytes=search.worker_memory_bytes,
                  stack_bytes=search.worker_stack_bytes, cpu_seconds=search.worker_cpu_seconds)


def runner_settings(settings: Settings) -> RunnerSettings:
    jobs = settings.jobs
    return RunnerSettings(queue_size=jobs.queue_size, retention_seconds=jobs.retention_seconds,
                          max_retained=jobs.max_retained, timeouts=dict(jobs.timeout_seconds),
                          results_in_memory=jobs.results_in_memory,
                          result_bytes_in_memory=jobs.result_bytes_in_memory)


@asynccontextmanager
async def opened(settings: Settings, keys: KeyStore, auth: TokenAuthority
                 ) -> AsyncIterator[Services]:
    """The daemon's parts, open; closed (shielded) when the block ends. Nothing runs yet:
    `start` starts the journal's writer and the runner."""
    network = LocalNetwork(settings.network_dir, latency_ms=settings.network.latency_ms)
    colony = await Colony.open(settings.data_dir, network, keys,
                               scratchpad_limit=settings.network.scratchpad_limit,
                               concurrency=settings.network.concurrency,
                               search_timeout=settings.search.timeout_seconds,
                               claim_timeout=settings.network.claim_timeout_seconds,
                               query_limits=query_limits(settings),
                               query_workers=settings.search.workers)
    try:
        journal = await _open_journal(settings.data_dir / JOURNAL_FILE)
        try:
            metrics = Metrics()
            runner = JobRunner(runner_settings(settings),
                               listeners=[metrics.observe_job, journal.record],
                               drop_listeners=[journal.drop], result_store=journal)
            journal.on_stored = runner.result_stored
            yield Services(runner=runner, colony=colony, auth=auth, settings=settings,
                           metrics=metrics, journal=journal)
        finally:
            with trio.CancelScope(shield=True):
                await journal.close()
    finally:
        with trio.CancelScope(shield=True):
            await colony.aclose()


async def start(services: Services, nursery: trio.Nursery) -> None:
    """Start the journal's writer, then the runner with the jobs the journal kept, then
    the runner's housekeeping, all in `nursery`. Returns once the runner takes messages.
    If the runner ever stops without `runner.close()`, its task raises RunnerDied."""
    await nursery.start(services.journal.run)
    await nursery.start(_supervise_runner, services.runner)
    await services.runner.restore(await services.journal.load(
        result_bytes_in_memory=services.settings.jobs.result_bytes_in_memory))
    nursery.start_soon(services.runner.housekeeping)


async def _supervise_runner(runner: JobRunner, *,
                            task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED
                            ) -> None:
    await runner.run(task_status=task_status)
    if not runner.closed:
        # The inbox only closes on a graceful stop; anything else is a dead actor.
        raise RunnerDied("The job runner stopped unexpectedly")


async def _open_journal(path: Path) -> JobJournal:
    journal = JobJournal(path)
    try:
        await journal.open()
    except JournalError as exc:
        # A journal that cannot be read must not keep the daemon down: keep the file for
        # inspection, start a fresh one, and say so.
        aside = path.with_name(f"{path.name}.corrupt-{int(time.time())}")
        await threads.run_sync(os.replace, path, aside)
        log.warning("journal_corrupt", path=str(path), moved_to=str(aside), error=str(exc))
        journal = JobJournal(path)
        await journal.open()
    return journal
