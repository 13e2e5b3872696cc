"""The client's typed errors: what went wrong talking to a daemon, one class per kind a
caller may act on differently (no daemon, a bad URL, a refused login, an unknown job...).

Each carries a one-sentence `message` fit to show a person. This module only names
failures; it must never print, exit or import the daemon.
"""

from __future__ import annotations

from typing import Any


class ClientError(Exception):
    """Any failure of a request to the daemon; `message` is one sentence."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class BadUrl(ClientError):
    """The URL is not one the client can use (no http:// or https://, no host)."""


class Unreachable(ClientError):
    """No daemon answered at the URL, or the connection broke before it answered."""


class UnexpectedAnswer(ClientError):
    """Something answered, but not as the daemon's contract says (not JSON, wrong shape)."""


class AmbiguousJobId(ClientError):
    """A job id prefix that more than one job starts with."""

    def __init__(self, prefix: str, matches: list[str]) -> None:
        shown = ", ".join(matches[:5]) + (", ..." if len(matches) > 5 else "")
        super().__init__(f"The job id prefix {prefix!r} matches {len(matches)} jobs ({shown}); "
                         "give more characters.")
        self.prefix = prefix
        self.matches = matches


class ApiError(ClientError):
    """The daemon answered with an error body (API.md §1): its HTTP status, its `error`
    code and its `message`."""

    def __init__(self, status: int, body: dict[str, Any]) -> None:
        message = str(body.get("message") or f"The daemon answered HTTP {status}")
        super().__init__(message if message.endswith(".") else message + ".")
        self.status = status
        self.code = str(body.get("error", ""))
        self.body = body


class Unauthorized(ApiError):
    """401: a wrong password or a missing, expired or forged token."""


class TooManyRequests(ApiError):
    """429: too many failed logins; `retry_after` seconds, if the daemon said."""

    def __init__(self, status: int, body: dict[str, Any], retry_after: str | None) -> None:
        super().__init__(status, body)
        self.retry_after = retry_after


class NotFound(ApiError):
    """404: an unknown job, pod or route."""


class Conflict(ApiError):
    """409: another operation is running, the queue is full, or the job cannot be
    cancelled in its state."""


class Refused(ApiError):
    """Another 4xx: the request itself was refused (bad input, too large...)."""


class DaemonFailed(ApiError):
    """5xx: the daemon could not do it (storage, overload, shutting down, a bug)."""


def for_status(status: int, body: dict[str, Any], retry_after: str | None = None) -> ApiError:
    """The typed error of an error answer."""
    if status == 401:
        return Unauthorized(status, body)
    if status == 429:
        return TooManyRequests(status, body, retry_after)
    if status == 404:
        return NotFound(status, body)
    if status == 409:
        return Conflict(status, body)
    if status >= 500:
        return DaemonFailed(status, body)
    return Refused(status, body)
