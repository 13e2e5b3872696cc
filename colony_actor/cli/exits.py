"""The command line's exit codes, one per kind of outcome, and the sentence and code each
client error maps to. The `--help` epilog and the README's table are made from `CODES`.
This module must never print or exit: `cli/main.py` does."""

from __future__ import annotations

import enum

from colony_actor.client import errors


class Exit(enum.IntEnum):
    OK = 0
    JOB_FAILED = 1
    USAGE = 2
    UNREACHABLE = 3
    AUTH = 4
    NOT_FOUND = 5
    AMBIGUOUS = 6
    CONFLICT = 7
    REFUSED = 8
    DAEMON_ERROR = 9
    JOB_CANCELLED = 10
    NOT_FINISHED = 11
    BUG = 70
    INTERRUPTED = 130
    BROKEN_PIPE = 141


CODES: dict[Exit, str] = {
    Exit.OK: "done (a job completed)",
    Exit.JOB_FAILED: "the job ran and failed",
    Exit.USAGE: "a bad command line, or a --url that is not http(s)://HOST:PORT",
    Exit.UNREACHABLE: "no daemon answers at the URL, or the connection broke",
    Exit.AUTH: "no password, or the daemon refused it (401, 429)",
    Exit.NOT_FOUND: "no such job or pod (404)",
    Exit.AMBIGUOUS: "a job id prefix that matches several jobs",
    Exit.CONFLICT: "another operation is running, or the job cannot be cancelled (409)",
    Exit.REFUSED: "the daemon refused the request as invalid (400, 413, 415, 422)",
    Exit.DAEMON_ERROR: "the daemon failed or answered strangely (5xx)",
    Exit.JOB_CANCELLED: "the job was cancelled",
    Exit.NOT_FINISHED: "`result` of a job that is still pending or running",
    Exit.BUG: "an unexpected failure of the command itself (a bug: please report it)",
    Exit.INTERRUPTED: "Ctrl-C (a started job keeps running unless --cancel-on-interrupt)",
    Exit.BROKEN_PIPE: "the reader of the output went away (e.g. `| head`); nothing printed",
}


def epilog() -> str:
    lines = ["exit codes (of the commands that talk to a daemon; serve has its own):"]
    lines += [f"  {int(code):>3}  {meaning}" for code, meaning in CODES.items()]
    return "\n".join(lines)


def of(error: errors.ClientError) -> Exit:
    """The exit code of a client error."""
    kinds: list[tuple[type[errors.ClientError], Exit]] = [
        (errors.BadUrl, Exit.USAGE),
        (errors.Unreachable, Exit.UNREACHABLE),
        (errors.Unauthorized, Exit.AUTH),
        (errors.TooManyRequests, Exit.AUTH),
        (errors.NotFound, Exit.NOT_FOUND),
        (errors.AmbiguousJobId, Exit.AMBIGUOUS),
        (errors.Conflict, Exit.CONFLICT),
        (errors.Refused, Exit.REFUSED),
    ]
    for kind, code in kinds:
        if isinstance(error, kind):
            return code
    return Exit.DAEMON_ERROR
