"""The supervisor: one nursery that owns the job runner, the HTTP server, housekeeping
and the signal watcher.

Start-up raises the descriptor limit, takes the data directory's lock (one daemon per
data directory), opens the identity, the store and the network, then starts the runner
before the server, so no request can reach a runner that is not there. Whatever stops a
start is raised as StartupError, with the sentence the operator reads.
The connection caps are derived once everything but the server holds its descriptors.
If the runner dies the nursery cancels the server and `serve` raises: never an HTTP
server in front of a dead actor. SIGINT/SIGTERM start a graceful stop: new jobs answer
503, the running job gets its grace period, then the server stops and `serve` returns.
"""

from __future__ import annotations

import errno
import gc
import logging
import os
import signal
import sys
from collections.abc import Mapping
from dataclasses import dataclass
from functools import partial
from pathlib import Path

import hypercorn.config
import structlog
import trio

from colony_actor import __version__
from colony_actor.api.app import asgi
from colony_actor.api.capacity import Capacity, derive
from colony_actor.daemon import descriptors, http_server
from colony_actor.daemon.datalock import DataDirLock
from colony_actor.jobs.runner import JobRunner
from colony_actor.runtime import threads
from colony_actor.service import identity, inventory, wiring
from colony_actor.service.config import Settings
from colony_actor.service.services import Services
from colony_actor.service.startup import Failure, StartupError, unusable
from colony_actor.service.tokens import LoginThrottle, TokenAuthority, load_or_create_secret

log = structlog.get_logger("colony_actor.daemon.supervisor")


GIL_SWITCH_SECONDS = 0.001


@dataclass(frozen=True)
class Started:
    """What `serve` reports once it listens (for tests and embedding)."""

    urls: list[str]
    services: Services


def _hypercorn_config(settings: Settings) -> hypercorn.config.Config:
    config = hypercorn.config.Config()
    config.accesslog = None  # the AccessLog middleware writes one JSON event per request
    config.errorlog = logging.getLogger("hypercorn.error")
    # By the time the server stops, jobs are settled and streams have ended; what is left
    # is idle keep-alive connections, which hypercorn would otherwise wait out.
    config.graceful_timeout = 1.0
    config.keep_alive_timeout = 30.0
    return config


async def serve(settings: Settings, *, password_file: Path | None = None,
                env: Mapping[str, str] | None = None, new_identity: bool = False,
                task_status: trio.TaskStatus[Started] = trio.TASK_STATUS_IGNORED) -> None:
    """Run the daemon until a signal stops it. `new_identity`: create a key store even
    where the store holds an identity's data (so does COLONY_ACTOR_NEW_IDENTITY=1)."""
    environ = os.environ if env is None else env
    # Before the store opens: RocksDB sizes its table cache from the limit it sees.
    limit = descriptors.raise_soft_limit()
    (log.info if limit.raised or limit.soft == limit.hard else log.warning)(
        "descriptor_limit", soft_before=limit.soft_before, soft=limit.soft, hard=limit.hard)
    # Worker threads run Python (parsing, index upkeep) while the loop answers requests;
    # a shorter switch interval bounds how long the loop waits for the GIL behind them.
    sys.setswitchinterval(GIL_SWITCH_SECONDS)
    try:
        await threads.run_sync(wiring.prepare_dirs, settings)
    except OSError as exc:
        raise unusable("the data directory", settings.data_dir, exc) from None
    # Private before anything secret is written, and again once the store, the index and
    # the journal have created their files.
    await threads.run_sync(identity.make_private, settings.data_dir, settings.network_dir)
    lock = await threads.run_sync(DataDirLock.take, settings.data_dir)
    try:
        await _serve_locked(settings, limit.soft, password_file, environ, new_identity,
                            task_status)
    finally:
        lock.release()


async def _serve_locked(settings: Settings, soft_limit: int, password_file: Path | None,
                        environ: Mapping[str, str], new_identity: bool,
                        task_status: trio.TaskStatus[Started]) -> None:
    before = await threads.run_sync(inventory.read, settings.data_dir)
    await threads.run_sync(identity.guard_identity, settings.data_dir,
                           identity.new_identity_asked(new_identity, environ),
                           before.pods if before is not None else None)
    password = identity.resolve_password(settings.data_dir, password_file, environ)
    keys = await threads.run_sync(
        identity.open_key_store, settings.data_dir, password, environ)
    try:
        secret = await threads.run_sync(load_or_create_secret, settings.data_dir)
    except OSError as exc:
        raise unusable("the token secret in", settings.data_dir, exc) from None
    auth = TokenAuthority(secret, password, settings.auth.token_ttl_seconds,
                          throttle=LoginThrottle.of(settings.auth))
    del password
    stop_server = trio.Event()
    async with wiring.opened(settings, keys, auth) as services, \
            trio.open_nursery() as nursery:
        await threads.run_sync(identity.make_private, settings.data_dir, settings.network_dir)
        await wiring.start(services, nursery)
        urls: list[str] = await nursery.start(partial(
            _serve_http, services, soft_limit, stop_server, nursery.cancel_scope))
        log.info("daemon_started", version=__version__, urls=urls,
                 data_dir=str(settings.data_dir), network_dir=str(settings.network_dir),
                 latency_ms=settings.network.latency_ms)
        nursery.start_soon(_stop_on_signal, services.runner, settings, stop_server)
        wiring.listening(services, nursery)
        # Everything built so far (modules, the app, restored jobs) lives as long as the
        # daemon: out of the cyclic collector's sight, a full collection scans only what
        # comes later, which keeps its pauses on the loop short.
        gc.freeze()
        task_status.started(Started(urls, services))
    log.info("daemon_stopped")


async def _serve_http(services: Services, soft_limit: int, stop_server: trio.Event,
                      everything: trio.CancelScope, *,
                      task_status: trio.TaskStatus[list[str]] = trio.TASK_STATUS_IGNORED
                      ) -> None:
    server = services.settings.server
    try:
        listeners = await trio.open_tcp_listeners(server.port, host=server.listen)
    except OSError as exc:
        raise cannot_listen(server.listen, server.port, exc) from None
    limits = derive(soft_limit, descriptors.open_count(), server.max_connections,
                    server.max_streams)
    (log.warning if limits.lowered else log.info)(
        "connection_cap", max_connections=limits.connections, max_streams=limits.streams,
        descriptors_reserved=limits.reserve, configured_max_connections=server.max_connections)
    capacity = Capacity(limits, services.metrics)
    await http_server.serve(asgi(services, capacity), _hypercorn_config(services.settings),
                            listeners, capacity, shutdown_trigger=stop_server.wait,
                            task_status=task_status)
    # The server has drained: end the runner's loop and housekeeping with it.
    services.runner.close()
    everything.cancel()


def cannot_listen(host: str, port: int, exc: OSError) -> StartupError:
    where = f"{host}:{port}"
    if exc.errno == errno.EADDRINUSE:
        why = (f"port {port} is already in use (colonyd listens on 3000 by default, as this "
               f"daemon does): stop what holds it, or choose another port with --port or "
               f"server.port")
    elif exc.errno == errno.EACCES:
        why = "this user may not use that port (below 1024): choose another with --port"
    else:
        why = f"{exc.strerror or exc}: check --listen and --port"
    return StartupError(Failure.CANNOT_LISTEN, f"Cannot listen on {where}: {why}")


async def _stop_on_signal(runner: JobRunner, settings: Settings,
                          stop_server: trio.Event) -> None:
    with trio.open_signal_receiver(signal.SIGINT, signal.SIGTERM) as signals:
        async for signum in signals:
            log.info("shutdown_started", signal=signal.Signals(signum).name,
                     grace_seconds=settings.jobs.shutdown_grace_seconds)
            break
    await runner.shutdown(settings.jobs.shutdown_grace_seconds)
    stop_server.set()
