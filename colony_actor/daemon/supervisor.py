"""The supervisor: one nursery that owns the job runner, the HTTP server, housekeeping
and the signal watcher.

Start-up opens the identity, the store and the network, then starts the runner before
the server, so no request can reach a runner that is not there. If the runner dies the
nursery cancels the server and `serve` raises: never an HTTP server in front of a dead
actor. SIGINT/SIGTERM start a graceful stop: new jobs answer 503, the running job gets
its grace period, then the server stops and `serve` returns.
"""

from __future__ import annotations

import gc
import logging
import os
import signal
import sys
import time
from collections.abc import Mapping
from dataclasses import dataclass
from functools import partial
from pathlib import Path

import hypercorn.config
import hypercorn.trio
import structlog
import trio

from colony_actor import __version__
from colony_actor.api.app import asgi
from colony_actor.colony.facade import Colony
from colony_actor.colony.network.local import LocalNetwork
from colony_actor.jobs.journal.store import JobJournal, JournalError
from colony_actor.jobs.runner import JobRunner, RunnerSettings
from colony_actor.runtime import threads
from colony_actor.service import identity
from colony_actor.service.config import Settings
from colony_actor.service.metrics import Metrics
from colony_actor.service.services import Services
from colony_actor.service.tokens import TokenAuthority, load_or_create_secret

log = structlog.get_logger("colony_actor.daemon.supervisor")


JOURNAL_FILE = "jobs.sqlite3"
GIL_SWITCH_SECONDS = 0.001


class RunnerDied(Exception):
    """The job runner stopped while the daemon was serving."""


@dataclass(frozen=True)
class Started:
    """What `serve` reports once it listens (for tests and embedding)."""

    urls: list[str]
    services: Services


def _prepare_dirs(settings: Settings) -> None:
    settings.data_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
    settings.network_dir.mkdir(parents=True, exist_ok=True)


def _hypercorn_config(settings: Settings) -> hypercorn.config.Config:
    config = hypercorn.config.Config()
    config.bind = [f"{settings.server.listen}:{settings.server.port}"]
    config.accesslog = None  # the AccessLog middleware writes one JSON event per request
    config.errorlog = logging.getLogger("hypercorn.error")
    # By the time the server stops, jobs are settled and streams have ended; what is left
    # is idle keep-alive connections, which hypercorn would otherwise wait out.
    config.graceful_timeout = 1.0
    config.keep_alive_timeout = 30.0
    return config


async def serve(settings: Settings, *, password_file: Path | None = None,
                env: Mapping[str, str] | None = None,
                task_status: trio.TaskStatus[Started] = trio.TASK_STATUS_IGNORED) -> None:
    environ = os.environ if env is None else env
    # Worker threads run Python (parsing, index upkeep) while the loop answers requests;
    # a shorter switch interval bounds how long the loop waits for the GIL behind them.
    sys.setswitchinterval(GIL_SWITCH_SECONDS)
    await threads.run_sync(_prepare_dirs, settings)
    password = identity.resolve_password(settings.data_dir, password_file, environ)
    keys = await threads.run_sync(
        identity.open_key_store, settings.data_dir, password, environ)
    secret = await threads.run_sync(load_or_create_secret, settings.data_dir)
    auth = TokenAuthority(secret, password, settings.auth.token_ttl_seconds)
    del password
    network = LocalNetwork(settings.network_dir, latency_ms=settings.network.latency_ms)
    colony = await Colony.open(settings.data_dir, network, keys,
                               scratchpad_limit=settings.network.scratchpad_limit,
                               concurrency=settings.network.concurrency,
                               search_timeout=settings.search.timeout_seconds,
                               claim_timeout=settings.network.claim_timeout_seconds)
    metrics = Metrics()
    journal = await _open_journal(settings.data_dir / JOURNAL_FILE)
    runner = JobRunner(
        RunnerSettings(queue_size=settings.jobs.queue_size,
                       retention_seconds=settings.jobs.retention_seconds,
                       max_retained=settings.jobs.max_retained,
                       results_in_memory=settings.jobs.results_in_memory,
                       result_bytes_in_memory=settings.jobs.result_bytes_in_memory,
                       timeouts=dict(settings.jobs.timeout_seconds)),
        listeners=[metrics.observe_job, journal.record], drop_listeners=[journal.drop],
        result_store=journal)
    journal.on_stored = runner.result_stored
    services = Services(runner=runner, colony=colony, auth=auth, settings=settings,
                        metrics=metrics)
    stop_server = trio.Event()
    try:
        async with trio.open_nursery() as nursery:
            await nursery.start(journal.run)
            await nursery.start(_supervise_runner, runner)
            await runner.restore(await journal.load(
                result_bytes_in_memory=settings.jobs.result_bytes_in_memory))
            nursery.start_soon(runner.housekeeping)
            urls: list[str] = await nursery.start(partial(
                _serve_http, services, stop_server, nursery.cancel_scope))
            log.info("daemon_started", version=__version__, urls=urls,
                     data_dir=str(settings.data_dir), network_dir=str(settings.network_dir),
                     latency_ms=settings.network.latency_ms)
            nursery.start_soon(_stop_on_signal, runner, settings, stop_server)
            # Everything built so far (modules, the app, restored jobs) lives as long as the
            # daemon: out of the cyclic collector's sight, a full collection scans only
            # what came later. It took 14 to 42 ms on the loop during searches, the
            # slowest /health answers of bench/loop.py.
            gc.freeze()
            task_status.started(Started(urls, services))
    finally:
        with trio.CancelScope(shield=True):
            await journal.close()
            await colony.aclose()
    log.info("daemon_stopped")


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


async def _supervise_runner(runner: JobRunner, *,
                            task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED
                            ) -> None:
    await runner.run(task_status=task_status)
    if not runner.closed:
        # The inbox only closes on a graceful stop; anything else is a dead actor.
        raise RunnerDied("The job runner stopped unexpectedly")


async def _serve_http(services: Services, stop_server: trio.Event,
                      everything: trio.CancelScope, *,
                      task_status: trio.TaskStatus[list[str]] = trio.TASK_STATUS_IGNORED
                      ) -> None:
    await hypercorn.trio.serve(asgi(services), _hypercorn_config(services.settings),
                               shutdown_trigger=stop_server.wait, task_status=task_status)
    # The server has drained: end the runner's loop and housekeeping with it.
    services.runner.close()
    everything.cancel()


async def _stop_on_signal(runner: JobRunner, settings: Settings,
                          stop_server: trio.Event) -> None:
    with trio.open_signal_receiver(signal.SIGINT, signal.SIGTERM) as signals:
        async for signum in signals:
            log.info("shutdown_started", signal=signal.Signals(signum).name,
                     grace_seconds=settings.jobs.shutdown_grace_seconds)
            break
    await runner.shutdown(settings.jobs.shutdown_grace_seconds)
    stop_server.set()
