"""What one HTTP request's access log line tells besides method, path and status: its
request id, the job it created, the error code it answered.

The access log middleware opens `notes()` for each request; code anywhere inside the
request (the handler runs in a child task, which sees the same notes) adds to them with
`note_job` and `note_error`. A request id comes from the client's `X-Request-ID` when it
is sane, else a new one: a hostile header is replaced, never echoed nor logged. This module
must never log, and never keep anything past its request."""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Final

HEADER: Final = "X-Request-ID"
MAX_LENGTH: Final = 128
# Visible ASCII only: no spaces, no control characters, nothing a log or header could split on.
_SANE: Final = re.compile(rb"[\x21-\x7e]{1,%d}" % MAX_LENGTH)


@dataclass
class Notes:
    request_id: str
    job_id: str | None = None
    error_code: str | None = None


_current: ContextVar[Notes | None] = ContextVar("colony_actor_request_notes", default=None)


def request_id_from(value: bytes | None) -> str:
    """The client's id if it is 1 to MAX_LENGTH visible ASCII characters, else a new one."""
    if value is not None and _SANE.fullmatch(value):
        return value.decode("ascii")
    return uuid.uuid4().hex


@contextmanager
def notes(request_id: str) -> Iterator[Notes]:
    """The notes of one request, current for the block."""
    mine = Notes(request_id)
    token = _current.set(mine)
    try:
        yield mine
    finally:
        _current.reset(token)


def note_job(job_id: str) -> None:
    """The request created this job (a no-op outside a request)."""
    current = _current.get()
    if current is not None:
        current.job_id = job_id


def note_error(code: str) -> None:
    """The request answered this error code (a no-op outside a request)."""
    current = _current.get()
    if current is not None:
        current.error_code = code
