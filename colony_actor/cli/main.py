"""The command line: parses `colony-actor serve|run|jobs|cancel` and dispatches. `serve`
runs the daemon (`daemon/main.py`); `run`, `jobs` and `cancel` talk to a running one
through the HTTP client (`cli/commands.py`).

It must start light: it imports the daemon only for `serve`, so the client commands never
load the store, the job engine or pyoxigraph.
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from colony_actor import __version__, locations
from colony_actor.cli import commands
from colony_actor.service import catalogue


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="colony-actor", description=__doc__)
    parser.add_argument("--version", action="version", version=__version__)
    subcommands = parser.add_subparsers(dest="command", required=True)
    serve = subcommands.add_parser("serve", help="run the daemon")
    serve.add_argument("--config", type=Path, help="TOML configuration file")
    serve.add_argument("--listen",
                       help=f"address to listen on (default {locations.DEFAULT_LISTEN})")
    serve.add_argument("--port", type=int, help=f"TCP port (default {locations.DEFAULT_PORT}; "
                                                 "0 picks a free one)")
    serve.add_argument("--data-dir", type=Path, help="data directory")
    serve.add_argument("--network-dir", type=Path,
                       help="local network directory (default <data-dir>/network)")
    serve.add_argument("--password-file", type=Path,
                       help="file holding the daemon's password (first line)")
    serve.add_argument("--latency-ms", type=float,
                       help="simulated delay of every network read and write")
    serve.add_argument("--new-identity", action="store_true",
                       help="create a new key store even though the store holds pods of an "
                            "identity whose key store is missing (also "
                            "COLONY_ACTOR_NEW_IDENTITY=1)")

    def client_options(command: argparse.ArgumentParser) -> None:
        command.add_argument("--url", default=locations.DEFAULT_URL, help="daemon URL")
        command.add_argument("--password-file", type=Path,
                             help=f"password file (default: ${locations.PASSWORD_ENV}, then "
                                  f"<data-dir>/{locations.PASSWORD_FILE})")
        command.add_argument("--data-dir", type=Path, help="the daemon's data directory")

    run = subcommands.add_parser("run", help="start a job and follow it to the end")
    client_options(run)
    run.add_argument("operation", choices=sorted(catalogue.BY_COMMAND), help="what to run")
    run.add_argument("argument", nargs="?", help="depth, query, pod or subject")
    run.add_argument("--queue", action="store_true", help="wait behind a running job")
    run.add_argument("--detach", action="store_true", help="print the job id and return")
    jobs = subcommands.add_parser("jobs", help="list recent jobs")
    client_options(jobs)
    jobs.add_argument("--status", help="only jobs in this status")
    cancel = subcommands.add_parser("cancel", help="cancel a job")
    client_options(cancel)
    cancel.add_argument("job_id")
    return parser


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    if args.command != "serve":
        return commands.main(args)
    from colony_actor.daemon import main as daemon  # only `serve` loads the daemon

    overrides: dict[str, Any] = {
        "server.listen": args.listen, "server.port": args.port,
        "storage.data_dir": str(args.data_dir) if args.data_dir else None,
        "network.dir": str(args.network_dir) if args.network_dir else None,
        "network.latency_ms": args.latency_ms,
    }
    return daemon.main(args.config, overrides, args.password_file, args.new_identity)


if __name__ == "__main__":
    raise SystemExit(main())
