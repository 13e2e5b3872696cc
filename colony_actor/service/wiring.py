"""The wiring: builds the daemon's parts from its settings and its identity, connects them,
and starts the job engine. The daemon's supervisor and the tests both build through here,
so what a test runs is what the daemon runs.

Every value comes from `Settings` (the parts hold no defaults of their own). The identity
(key store, token authority) is opened by the caller: the daemon from its password, a test
from fixed ones. A store or journal that cannot be opened raises StartupError, with the
sentence the operator reads; data the inventory marker counted and that is gone is a
warning. This module opens and closes; it must never serve HTTP or own the process's
nursery.
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import structlog
import trio

from colony_actor.colony.facade import Colony
from colony_actor.colony.keys.store import KeyStore
from colony_actor.colony.network.faults import FaultInjector, parse_operations
from colony_actor.colony.network.local import LocalNetwork
from colony_actor.colony.search.sandbox import Limits
from colony_actor.colony.sync.refresh import PeerLimits
from colony_actor.jobs.journal.store import JobJournal, JournalError
from colony_actor.jobs.runner import JobRunner, RunnerSettings
from colony_actor.runtime import threads
from colony_actor.service import inventory
from colony_actor.service.config import Settings
from colony_actor.service.identity import STORE_DIR
from colony_actor.service.metrics import Metrics
from colony_actor.service.observed_network import ObservedNetwork
from colony_actor.service.services import Services
from colony_actor.service.startup import Failure, StartupError, store_failure
from colony_actor.service.tokens import TokenAuthority

log = structlog.get_logger("colony_actor.service.wiring")

JOURNAL_FILE = "jobs.sqlite3"


class RunnerDied(Exception):
    """The job runner stopped without being closed."""


def prepare_dirs(settings: Settings) -> None:
    """Create the data and network directories (sync: call in a thread)."""
    settings.data_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
    settings.network_dir.mkdir(parents=True, exist_ok=True)


def network_faults(settings: Settings) -> FaultInjector | None:
    """The failures `network.failure_rate` asks to inject; None when it is 0."""
    net = settings.network
    if net.failure_rate <= 0:
        return None
    injector = FaultInjector(net.failure_rate, parse_operations(net.fail_operations),
                             seed=net.failure_seed)
    log.warning("network_faults_injected", failure_rate=net.failure_rate,
                operations=sorted(injector.operations), seed=net.failure_seed)
    return injector


def query_limits(settings: Settings) -> Limits:
    search = settings.search
    return Limits(memory_bytes=search.worker_memory_bytes,
                  stack_bytes=search.worker_stack_bytes, cpu_seconds=search.worker_cpu_seconds)


def runner_settings(settings: Settings) -> RunnerSettings:
    jobs = settings.jobs
    return RunnerSettings(queue_size=jobs.queue_size, retention_seconds=jobs.retention_seconds,
                          max_retained=jobs.max_retained, timeouts=dict(jobs.timeout_seconds),
                          results_in_memory=jobs.results_in_memory,
                          result_bytes_in_memory=jobs.result_bytes_in_memory,
                          record_timeout_seconds=jobs.record_timeout_seconds)


def peer_limits(settings: Settings) -> PeerLimits:
    net = settings.network
    return PeerLimits(max_pod_bytes=net.pod_cap_bytes, max_refs_per_pod=net.max_refs_per_pod,
                      max_refs_per_refresh=net.max_refs_per_refresh)


@asynccontextmanager
async def opened(settings: Settings, keys: KeyStore, auth: TokenAuthority
                 ) -> AsyncIterator[Services]:
    """The daemon's parts, open; closed (shielded) when the block ends. Nothing runs yet:
    `start` starts the journal's writer and the runner."""
    net = settings.network
    metrics = Metrics()
    network = ObservedNetwork(
        LocalNetwork(settings.network_dir, latency_ms=net.latency_ms,
                     max_scratchpad_bytes=net.scratchpad_limit,
                     timeout_seconds=net.timeout_seconds,
                     faults=network_faults(settings)), metrics)
    try:
        colony = await Colony.open(settings.data_dir, network, keys,
                                   scratchpad_limit=net.scratchpad_limit,
                                   concurrency=net.concurrency,
                                   search_timeout=settings.search.timeout_seconds,
                                   claim_timeout=net.claim_timeout_seconds,
                                   peer_limits=peer_limits(settings),
                                   query_limits=query_limits(settings),
                                   query_workers=settings.search.workers)
    except Exception as exc:
        failure = store_failure(exc, settings.data_dir / STORE_DIR)
        if failure is None:
            raise
        raise failure from None
    try:
        journal = await _open_journal(settings.data_dir / JOURNAL_FILE)
        try:
            runner = JobRunner(runner_settings(settings),
                               listeners=[metrics.observe_job, journal.record],
                               drop_listeners=[journal.drop], result_store=journal,
                               durable_starts=True)
            journal.on_stored = runner.result_stored
            metrics.watch_runner(runner)
            services = Services(runner=runner, colony=colony, auth=auth, settings=settings,
                                metrics=metrics, journal=journal)
            yield services
        finally:
            with trio.CancelScope(shield=True):
                if runner.closed:  # a graceful stop: count what is left for the next start
                    await _take_inventory(services)
                await journal.close()
    finally:
        with trio.CancelScope(shield=True):
            await colony.aclose()


async def start(services: Services, nursery: trio.Nursery) -> None:
    """Start the journal's writer, then the runner with the jobs the journal kept, then
    the runner's housekeeping and giving back of memory, and the store's probe (which
    heals a storage fault by itself), all in `nursery`. Returns once the runner takes
    messages. If the runner ever stops without `runner.close()`, its task raises
    RunnerDied."""
    await nursery.start(services.journal.run)
    await nursery.start(_supervise_runner, services.runner)
    jobs = await services.journal.load(
        result_bytes_in_memory=services.settings.jobs.result_bytes_in_memory)
    await services.runner.restore(jobs)
    nursery.start_soon(services.runner.housekeeping)
    nursery.start_soon(services.runner.freed.run)
    await nursery.start(services.colony.watch_storage)


async def _check_inventory(services: Services) -> None:
    """Warn of data the last start or stop counted that is gone, and count anew. It runs
    once the daemon listens."""
    before = await threads.run_sync(inventory.read, services.settings.data_dir)
    now = await _take_inventory(services)  # the jobs restored, as the runner holds them
    if now is None:
        return
    for found in inventory.missing(
            before, now, store=services.settings.data_dir / STORE_DIR,
            journal=services.journal.path,
            retention_seconds=services.settings.jobs.retention_seconds):
        if found.event == "journal_empty" and services.journal.set_aside_to is not None:
            continue  # the journal said why: it was damaged
        log.warning(found.event, **found.fields)
    log.info("inventory_checked", pods=now.pods, jobs=now.jobs)


def listening(services: Services, nursery: trio.Nursery) -> None:
    """What starts once the daemon listens (its requests are answered meanwhile), as its
    cost grows with the data: the inventory's count and warnings, and the full-text
    index's catch-up, when a crash or a lost file left it behind the store."""
    nursery.start_soon(_check_inventory, services)
    nursery.start_soon(services.colony.catch_up_index)


async def _take_inventory(services: Services, jobs: int | None = None
                          ) -> inventory.Inventory | None:
    """Count what the data directory holds now, and write it down. Best effort: the
    count only serves the next start's warnings, so a failure is logged, never raised."""
    try:
        pods = await services.colony.count_pods()
        now = inventory.Inventory(pods=pods, written_at=time.time(),
                                  jobs=len(services.runner) if jobs is None else jobs)
        await threads.run_sync(inventory.write, services.settings.data_dir, now)
    except Exception as exc:
        log.warning("inventory_not_written", path=str(services.settings.data_dir),
                    error=str(exc) or type(exc).__name__)
        return None
    return now


async def _supervise_runner(runner: JobRunner, *,
                            task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED
                            ) -> None:
    await runner.run(task_status=task_status)
    if not runner.closed:
        # The inbox only closes on a graceful stop; anything else is a dead actor.
        raise RunnerDied("The job runner stopped unexpectedly")


async def _open_journal(path: Path) -> JobJournal:
    """The journal, open; a damaged one is set aside by the journal itself, so what is
    left is a file that cannot be used at all."""
    journal = JobJournal(path)
    try:
        await journal.open()
    except JournalError as exc:
        raise StartupError(Failure.DATA_DIR_UNUSABLE,
                           f"{exc}; check that the data directory is writable by this user "
                           f"and its disk has space, or choose another with --data-dir"
                           ) from None
    return journal
