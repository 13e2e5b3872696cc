"""The `serve` command: settings (defaults < file < environment < flags), logging, then the
supervisor under `trio.run`, and the exit code.

Exit codes: 0 after a graceful stop, 1 when start-up fails (wrong password, unusable data
directory) or the job runner dies, 2 for a bad configuration. A failure is one sentence on
stderr and one log event; it must never end in a traceback on the terminal.
"""

from __future__ import annotations

import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import structlog
import trio

from colony_actor.colony.errors import ColonyError
from colony_actor.daemon import logs, supervisor
from colony_actor.service import config
from colony_actor.service.identity import IdentityError
from colony_actor.service.wiring import RunnerDied

log = structlog.get_logger("colony_actor.daemon.main")


def main(config_file: Path | None, overrides: Mapping[str, Any],
         password_file: Path | None) -> int:
    """Run the daemon until it stops; `overrides` are the flags' settings
    (`{"server.port": 0}`, None for a flag not given)."""
    try:
        settings = config.load(config_file, overrides=overrides)
    except config.ConfigError as exc:
        print(f"colony-actor: configuration error: {exc}", file=sys.stderr)
        return 2
    logs.configure(settings.log.level)
    try:
        trio.run(_serve, settings, password_file)
    except (IdentityError, ColonyError, OSError) as exc:
        log.error("startup_failed", error=str(exc))
        print(f"colony-actor: {exc}", file=sys.stderr)
        return 1
    except RunnerDied as exc:
        log.error("runner_died", error=str(exc))
        return 1
    except ExceptionGroup as group:
        # A task of the supervisor's nursery died (the runner, the server): stop, non-zero.
        log.error("daemon_failed", errors=[repr(e) for e in _leaves(group)],
                  exc_info=group)
        return 1
    except KeyboardInterrupt:
        return 0
    return 0


async def _serve(settings: config.Settings, password_file: Path | None) -> None:
    await supervisor.serve(settings, password_file=password_file)


def _leaves(group: BaseExceptionGroup[Any]) -> list[BaseException]:
    found: list[BaseException] = []
    for inner in group.exceptions:
        found.extend(_leaves(inner) if isinstance(inner, BaseExceptionGroup) else [inner])
    return found
