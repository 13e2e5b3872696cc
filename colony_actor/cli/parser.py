"""The command line's grammar: every command, its arguments, their defaults and help, and
the exit codes in the epilog. Parse errors are one line on stderr and exit 2. It must
stay light: it imports nothing of the daemon and never talks to one."""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path
from typing import NoReturn

from rich_argparse import RawDescriptionRichHelpFormatter

from colony_actor import __version__, locations
from colony_actor.cli import exits, session

DESCRIPTION = """\
colony-actor: a daemon for Colony pods of schema.org metadata, and its command line.

`serve` runs the daemon. The other commands talk to a running daemon over HTTP: long
operations run as jobs that `run` starts and follows with a progress bar; `jobs`, `follow`,
`result` and `cancel` manage them (any unique prefix of a job id will do); `pods` edits
pods. Results are tables; `--json` prints JSON for scripts.
"""
STATUSES = ("pending", "running", "completed", "failed", "cancelled")
MAX_LIMIT = 1000


class Help(RawDescriptionRichHelpFormatter):
    """Rich help that keeps the group titles as written (not Title Cased)."""

    group_name_formatter = str.capitalize


class Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:
        """One line, not a usage block: what is wrong and where to look."""
        sys.stderr.write(f"{self.prog}: {message}; see `{self.prog} --help`.\n")
        raise SystemExit(exits.Exit.USAGE)


def _count(low: int, high: int | None) -> type[int]:
    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            value = low - 1
        if value < low or (high is not None and value > high):
            bound = f"from {low} to {high}" if high is not None else f"of at least {low}"
            raise argparse.ArgumentTypeError(f"{text!r} is not an integer {bound}")
        return value

    return parse  # type: ignore[return-value]


def _connection() -> Parser:
    """The options every client command takes."""
    options = Parser(add_help=False)
    group = options.add_argument_group("connection")
    group.add_argument("--url", default=session.default_url(os.environ),
                       help=f"the daemon's URL (default: ${locations.URL_ENV}, else "
                            f"{locations.DEFAULT_URL}; now %(default)s)")
    group.add_argument("--password-file", type=Path, metavar="FILE",
                       help=f"file whose first line is the password (default: "
                            f"${locations.PASSWORD_ENV}, else DATA_DIR/"
                            f"{locations.PASSWORD_FILE}, else a prompt on a terminal)")
    group.add_argument("--data-dir", type=Path, metavar="DIR",
                       help=f"the daemon's data directory, where its password file is "
                            f"(default: ${locations.DATA_DIR_ENV}, else "
                            f"{locations.default_data_dir()})")
    return options


def _json() -> Parser:
    options = Parser(add_help=False)
    options.add_argument("--json", action="store_true",
                         help="print JSON for scripts instead of tables and sentences")
    return options


def _following() -> Parser:
    options = Parser(add_help=False)
    options.add_argument("--cancel-on-interrupt", action="store_true",
                         help="on Ctrl-C, cancel the job (default: leave it running)")
    return options


def _serve(subcommands: argparse._SubParsersAction[Parser]) -> None:
    serve = subcommands.add_parser(
        "serve", help="run the daemon", formatter_class=Help,
        description="Run the daemon in the foreground; logs are JSON lines on stderr. "
                    "Every setting also has a file and an environment form (see the README).")
    serve.add_argument("--config", type=Path, metavar="FILE", help="TOML settings file")
    serve.add_argument("--listen", metavar="ADDRESS",
                       help=f"address to listen on (default: {locations.DEFAULT_LISTEN})")
    serve.add_argument("--port", type=int,
                       help=f"TCP port (default: {locations.DEFAULT_PORT}; 0 picks a free one)")
    serve.add_argument("--data-dir", type=Path, metavar="DIR",
                       help=f"data directory (default: {locations.default_data_dir()})")
    serve.add_argument("--network-dir", type=Path, metavar="DIR",
                       help="local network directory (default: DATA_DIR/network)")
    serve.add_argument("--password-file", type=Path, metavar="FILE",
                       help="file holding the daemon's password, first line (default: "
                            f"${locations.PASSWORD_ENV}, else DATA_DIR/"
                            f"{locations.PASSWORD_FILE}, made on the first run)")
    serve.add_argument("--latency-ms", type=float, metavar="MS",
                       help="simulated delay of every network read and write (default: 0)")
    serve.add_argument("--new-identity", action="store_true",
                       help="create a new key store even though the store holds pods of an "
                            "identity whose key store is missing (also "
                            "COLONY_ACTOR_NEW_IDENTITY=1)")


def _run(subcommands: argparse._SubParsersAction[Parser],
         parents: list[Parser]) -> None:
    run = subcommands.add_parser(
        "run", help="start a job and follow it to the end",
        formatter_class=Help,
        description="Start a job and follow it with a progress bar, then print its result. "
                    "Ctrl-C stops following and leaves the job running.")
    operations = run.add_subparsers(dest="operation", required=True, metavar="OPERATION",
                                    parser_class=Parser)
    job_options = Parser(add_help=False)
    job_options.add_argument("--queue", action="store_true",
                             help="wait behind a running job instead of being refused")
    job_options.add_argument("--detach", action="store_true",
                             help="print the job id and return at once")
    leaf = [*parents, job_options]

    def add(name: str, help_text: str) -> Parser:
        return operations.add_parser(name, parents=leaf, help=help_text, description=help_text,
                                     formatter_class=Help)

    add("refresh", "refresh the pods of the cache from the network")
    add("refresh-ref", "refresh the pods and the pods they reference, to a depth").add_argument(
        "depth", type=_count(0, None), help="how many levels of references to follow")
    add("upload", "upload every changed pod to the network")
    add("upload-pod", "upload one pod to the network").add_argument(
        "pod", help="the pod's address or name")
    add("subject", "show every statement about a subject, from every pod").add_argument(
        "subject", help="the subject (its hex address)")
    search = add("search", "search the local pods: words, or one of the other forms")
    search.add_argument("text", nargs="*", metavar="WORDS",
                        help='words to find; "quoted phrases" stay whole')
    forms = search.add_argument_group("other search forms (one at a time, instead of WORDS)")
    forms.add_argument("--type", dest="type_uri", metavar="URI",
                       help="subjects of this type, e.g. http://schema.org/MusicAlbum")
    forms.add_argument("--predicate", dest="predicate_uri", metavar="URI",
                       help="subjects with this property, e.g. http://schema.org/name")
    forms.add_argument("--sparql", metavar="QUERY", help="a read-only SPARQL query")
    forms.add_argument("--browse", action="store_true",
                       help="list subjects with their name, type and size")
    search.add_argument("--limit", type=_count(1, MAX_LIMIT),
                        help=f"at most this many results, 1 to {MAX_LIMIT} (default: the "
                             "daemon's, 50 as shipped)")


def _pods(subcommands: argparse._SubParsersAction[Parser],
          parents: list[Parser]) -> None:
    pods = subcommands.add_parser("pods", help="list and edit pods",
                                  formatter_class=Help,
                                  description="List and edit pods. POD is an address or a name.")
    actions = pods.add_subparsers(dest="pod_command", required=True, metavar="ACTION",
                                  parser_class=Parser)

    def add(name: str, help_text: str) -> Parser:
        return actions.add_parser(name, parents=parents, help=help_text, description=help_text,
                                  formatter_class=Help)

    add("list", "list the pods")
    add("add", "create a pod").add_argument("name", help="the new pod's name")
    add("remove", "remove a pod").add_argument("pod")
    rename = add("rename", "rename a pod")
    rename.add_argument("pod")
    rename.add_argument("name", help="the new name")
    put = add("put", "store a JSON-LD object as a subject's data in a pod")
    put.add_argument("pod")
    put.add_argument("subject", help="the subject (its hex address)")
    put.add_argument("file", metavar="FILE", help="the JSON-LD file, or - for standard input")
    for name, help_text in (("add-ref", "make a pod reference another pod"),
                            ("remove-ref", "drop a pod's reference to another pod")):
        ref = add(name, help_text)
        ref.add_argument("pod")
        ref.add_argument("pod_ref", metavar="POD_REF", help="the referenced pod's address")


def build() -> Parser:
    parser = Parser(prog="colony-actor", description=DESCRIPTION, epilog=exits.epilog(),
                    formatter_class=Help)
    parser.add_argument("--version", action="version", version=__version__)
    subcommands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND",
                                        parser_class=Parser)
    _serve(subcommands)
    connection, as_json, following = _connection(), _json(), _following()
    _run(subcommands, [connection, as_json, following])

    def add(name: str, help_text: str, parents: list[Parser]
            ) -> Parser:
        return subcommands.add_parser(name, parents=parents, help=help_text,
                                      description=help_text, epilog=exits.epilog(),
                                      formatter_class=Help)

    add("follow", "follow a job with a progress bar, then print its result",
        [connection, as_json, following]).add_argument("job_id", metavar="JOB_ID")
    jobs = add("jobs", "list jobs, newest first", [connection, as_json])
    jobs.add_argument("--status", choices=STATUSES, help="only jobs in this status")
    jobs.add_argument("--type", metavar="JOB_TYPE",
                      help="only jobs of this type (refreshcache, refreshref, uploadall, "
                           "uploadpod, search, getsubjectdata)")
    jobs.add_argument("--limit", type=_count(1, None), default=20,
                      help="at most this many jobs (default: %(default)s)")
    add("result", "print a finished job's result", [connection, as_json]).add_argument(
        "job_id", metavar="JOB_ID")
    add("cancel", "cancel a pending or running job", [connection, as_json]).add_argument(
        "job_id", metavar="JOB_ID")
    _pods(subcommands, [connection, as_json])
    return parser


def parse(argv: list[str] | None) -> argparse.Namespace:
    parser = build()
    args = parser.parse_args(argv)
    if args.command == "run" and args.operation == "search":
        from colony_actor.cli.jobs import search_query

        if search_query(args) is None:
            Parser(prog="colony-actor run search").error(
                "give exactly one of WORDS, --type, --predicate, --sparql or --browse")
    return args
