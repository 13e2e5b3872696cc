"""The `serve` command: settings (defaults < file < environment < flags), logging, then the
supervisor under `trio.run`, and the exit code.

A failure to start is one sentence on stderr (what is wrong, which file, what to do) and
one log event, `startup_failed`, with its kind; it must never end in a traceback on the
terminal. Exit codes:

    0  stopped gracefully (SIGTERM, SIGINT)
    1  the daemon failed while running (the job runner died), or an unexpected error
    2  configuration: a setting, a flag or the configuration file
    3  identity: the password, the key store, or a key store missing where the store
       holds an identity's pods (start with --new-identity to create one on purpose)
    4  the data directory is in use by another daemon
    5  cannot listen: the port is taken (colonyd's default is 3000 too) or not allowed
    6  the pod store is damaged
    7  the data directory (or a file in it) cannot be created, written or read
"""

from __future__ import annotations

import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import structlog
import trio

from colony_actor.daemon import logs, supervisor
from colony_actor.runtime import memory
from colony_actor.service import config
from colony_actor.service.startup import Failure, StartupError
from colony_actor.service.wiring import RunnerDied

log = structlog.get_logger("colony_actor.daemon.main")

EXIT_CODES: Mapping[Failure, int] = {
    Failure.CONFIG: 2,
    Failure.IDENTITY: 3,
    Failure.DATA_DIR_IN_USE: 4,
    Failure.CANNOT_LISTEN: 5,
    Failure.STORE_DAMAGED: 6,
    Failure.DATA_DIR_UNUSABLE: 7,
}
FAILED = 1


def main(config_file: Path | None, overrides: Mapping[str, Any],
         password_file: Path | None, new_identity: bool = False) -> int:
    """Run the daemon until it stops; `overrides` are the flags' settings
    (`{"server.port": 0}`, None for a flag not given)."""
    try:
        settings = config.load(config_file, overrides=overrides)
    except config.ConfigError as exc:
        logs.configure()  # the configured level is not known: the default one
        return _refused(StartupError(Failure.CONFIG, f"configuration error: {exc}"))
    logs.configure(settings.log.level)
    memory.limit_arenas()  # before any thread starts
    try:
        trio.run(_serve, settings, password_file, new_identity)
    except StartupError as exc:
        return _refused(exc)
    except KeyboardInterrupt:
        return 0
    except (Exception, BaseExceptionGroup) as exc:
        leaves = _leaves(exc) if isinstance(exc, BaseExceptionGroup) else [exc]
        refusals = [e for e in leaves if isinstance(e, StartupError)]
        if refusals:
            return _refused(refusals[0])
        if any(isinstance(e, RunnerDied) for e in leaves):
            log.error("runner_died", error="The job runner stopped unexpectedly")
            print("colony-actor: the job runner stopped unexpectedly", file=sys.stderr)
            return FAILED
        if all(isinstance(e, KeyboardInterrupt) for e in leaves):
            return 0
        # Not a fault of the machine's we know: a bug. Its traceback goes in the log line.
        log.error("daemon_failed", errors=[repr(e) for e in leaves], exc_info=exc)
        print(f"colony-actor: the daemon failed: {'; '.join(map(repr, leaves))} (a bug: "
              f"the daemon_failed log line has the details)", file=sys.stderr)
        return FAILED
    return 0


def _refused(exc: StartupError) -> int:
    code = EXIT_CODES[exc.kind]
    log.error("startup_failed", kind=exc.kind.value, exit_code=code, error=str(exc))
    print(f"colony-actor: {exc}", file=sys.stderr)
    return code


async def _serve(settings: config.Settings, password_file: Path | None,
                 new_identity: bool) -> None:
    await supervisor.serve(settings, password_file=password_file, new_identity=new_identity)


def _leaves(group: BaseExceptionGroup[Any]) -> list[BaseException]:
    found: list[BaseException] = []
    for inner in group.exceptions:
        found.extend(_leaves(inner) if isinstance(inner, BaseExceptionGroup) else [inner])
    return found
