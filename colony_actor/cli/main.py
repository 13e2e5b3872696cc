"""The command line's entry point: parses (`cli/parser.py`), runs the command and turns
every failure into one sentence on stderr and a distinct exit code (`cli/exits.py`), never
a traceback. `serve` runs the daemon; the other commands talk to one through `client/`.

It must start light: it imports the daemon only for `serve`, so the client commands never
load the store, the job engine or pyoxigraph.
"""

from __future__ import annotations

import argparse
import os
import sys
from typing import Any

from colony_actor.cli import exits, jobs, parser, pods, session
from colony_actor.cli.exits import Exit
from colony_actor.client.errors import ClientError
from colony_actor.client.http import ColonyClient

COMMANDS = {"run": jobs.run, "follow": jobs.follow, "jobs": jobs.jobs,
            "result": jobs.result, "cancel": jobs.cancel, "pods": pods.command}


def _serve(args: argparse.Namespace) -> int:
    from colony_actor.daemon import main as daemon  # only `serve` loads the daemon

    overrides: dict[str, Any] = {
        "server.listen": args.listen, "server.port": args.port,
        "storage.data_dir": str(args.data_dir) if args.data_dir else None,
        "network.dir": str(args.network_dir) if args.network_dir else None,
        "network.latency_ms": args.latency_ms,
    }
    return daemon.main(args.config, overrides, args.password_file, args.new_identity)


def _client_command(args: argparse.Namespace) -> Exit:
    client: ColonyClient | None = None
    try:
        client = session.open_client(args)
        return COMMANDS[args.command](client, args)
    finally:
        if client is not None:
            client.close()


def _quiet_stdout() -> None:
    """After a broken pipe, point stdout at /dev/null so that the interpreter's last
    flush cannot fail again."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError):
        pass


def main(argv: list[str] | None = None) -> int:
    args = parser.parse(argv)
    if args.command == "serve":
        return _serve(args)
    try:
        return int(_client_command(args))
    except BrokenPipeError:
        _quiet_stdout()
        return int(Exit.BROKEN_PIPE)
    except ClientError as exc:
        jobs.say(exc.message)
        return int(exits.of(exc))
    except session.NoPassword as exc:
        jobs.say(str(exc))
        return int(Exit.AUTH)
    except pods.BadDocument as exc:
        jobs.say(str(exc))
        return int(Exit.USAGE)
    except KeyboardInterrupt:
        jobs.say("Interrupted.")
        return int(Exit.INTERRUPTED)
    except Exception as exc:  # a bug of ours: still one sentence, with what to report
        jobs.say(f"colony-actor failed unexpectedly ({type(exc).__name__}: {exc}); "
                 "this is a bug, please report it with the command you ran.")
        return int(Exit.BUG)


if __name__ == "__main__":
    raise SystemExit(main())
