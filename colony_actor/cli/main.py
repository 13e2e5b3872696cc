"""The command line: `colony-actor serve` starts the daemon; `run`, `jobs` and `cancel`
talk to a running one through `client.py`.

Exit codes of `serve`: 0 after a graceful stop, 1 when start-up fails (wrong password,
unusable data directory) or the job runner dies, 2 for a bad configuration or bad flags.
`run` exits 0 when the job completed and 1 when it failed or was cancelled.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

import structlog
import trio

from colony_actor import __version__
from colony_actor.cli import commands as client_commands
from colony_actor.colony.errors import ColonyError
from colony_actor.daemon import logs, supervisor
from colony_actor.service import config
from colony_actor.service.identity import IdentityError

log = structlog.get_logger("colony_actor.cli.main")


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="colony-actor", description=__doc__)
    parser.add_argument("--version", action="version", version=__version__)
    commands = parser.add_subparsers(dest="command", required=True)
    serve = commands.add_parser("serve", help="run the daemon")
    serve.add_argument("--config", type=Path, help="TOML configuration file")
    serve.add_argument("--listen", help="address to listen on (default 127.0.0.1)")
    serve.add_argument("--port", type=int, help="TCP port (default 3000; 0 picks a free one)")
    serve.add_argument("--data-dir", type=Path, help="data directory")
    serve.add_argument("--network-dir", type=Path,
                       help="local network directory (default <data-dir>/network)")
    serve.add_argument("--password-file", type=Path,
                       help="file holding the daemon's password (first line)")
    serve.add_argument("--latency-ms", type=float,
                       help="simulated delay of every network read and write")

    def client_options(command: argparse.ArgumentParser) -> None:
        command.add_argument("--url", default="http://127.0.0.1:3000", help="daemon URL")
        command.add_argument("--password-file", type=Path,
                             help="password file (default: $COLONY_ACTOR_PASSWORD, then "
                                  "<data-dir>/password)")
        command.add_argument("--data-dir", type=Path, help="the daemon's data directory")

    run = commands.add_parser("run", help="start a job and follow it to the end")
    client_options(run)
    run.add_argument("operation", choices=sorted(client_commands.OPERATIONS),
                     help="what to run")
    run.add_argument("argument", nargs="?", help="depth, query, pod or subject")
    run.add_argument("--queue", action="store_true", help="wait behind a running job")
    run.add_argument("--detach", action="store_true", help="print the job id and return")
    jobs = commands.add_parser("jobs", help="list recent jobs")
    client_options(jobs)
    jobs.add_argument("--status", help="only jobs in this status")
    cancel = commands.add_parser("cancel", help="cancel a job")
    client_options(cancel)
    cancel.add_argument("job_id")
    return parser


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    if args.command != "serve":
        return client_commands.main(args)
    overrides: dict[str, Any] = {
        "server.listen": args.listen, "server.port": args.port,
        "storage.data_dir": str(args.data_dir) if args.data_dir else None,
        "network.dir": str(args.network_dir) if args.network_dir else None,
        "network.latency_ms": args.latency_ms,
    }
    try:
        settings = config.load(args.config, overrides=overrides)
    except config.ConfigError as exc:
        print(f"colony-actor: configuration error: {exc}", file=sys.stderr)
        return 2
    logs.configure(settings.log.level)
    try:
        trio.run(_daemon(settings, args.password_file))
    except (IdentityError, ColonyError, OSError) as exc:
        log.error("startup_failed", error=str(exc))
        print(f"colony-actor: {exc}", file=sys.stderr)
        return 1
    except supervisor.RunnerDied as exc:
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


def _leaves(group: BaseExceptionGroup[Any]) -> list[BaseException]:
    found: list[BaseException] = []
    for inner in group.exceptions:
        found.extend(_leaves(inner) if isinstance(inner, BaseExceptionGroup) else [inner])
    return found


def _daemon(settings: config.Settings, password_file: Path | None) -> Any:
    """The async main of `serve`, for `trio.run`."""
    async def run() -> None:
        await supervisor.serve(settings, password_file=password_file)

    return run


if __name__ == "__main__":
    raise SystemExit(main())
