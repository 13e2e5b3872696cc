"""The one error shape of API.md §1, every error code the API answers, and the mapping
from exceptions to them.

Every error response is JSON `{"error", "message", "timestamp", ...extra}`; a traceback
never reaches a client. The codes below are the one home of each code's name and HTTP
status: handlers raise `ApiError(<code>, message)` with one of them, never a bare string.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Final

from quart import Response, jsonify
from werkzeug.exceptions import HTTPException

from colony_actor.api import request_log
from colony_actor.colony.errors import (
    ColonyError,
    InvalidInput,
    PodNotFound,
    StorageFull,
    StorageUnavailable,
)
from colony_actor.jobs.errors import (
    IdempotencyKeyReused,
    JobConflict,
    JobNotCancellable,
    JobNotFound,
    NotRecorded,
    RunnerError,
    ShuttingDown,
)
from colony_actor.runtime import timestamps


@dataclass(frozen=True)
class ErrorCode:
    """A code of API.md §1: its name on the wire, its HTTP status, and when it is answered."""

    name: str
    status: int
    when: str


JOB_CREATION_FAILED: Final = ErrorCode(
    "JOB_CREATION_FAILED", 409,
    "another long-running operation is running, or the queue is full")
JOB_NOT_FOUND: Final = ErrorCode(
    "JOB_NOT_FOUND", 404, "unknown job id, or one evicted by retention")
JOB_NOT_COMPLETED: Final = ErrorCode(
    "JOB_NOT_COMPLETED", 202, "/result asked for a job that is pending or running")
JOB_NOT_CANCELLABLE: Final = ErrorCode(
    "JOB_NOT_CANCELLABLE", 409,
    "cancel of a job already in a terminal state; forget of a job still active")
INVALID_REQUEST: Final = ErrorCode(
    "INVALID_REQUEST", 400,
    "malformed JSON, a missing or ill-typed field, a bad parameter, invalid JSON-LD or IRI")
UNAUTHORIZED: Final = ErrorCode(
    "UNAUTHORIZED", 401, "missing, malformed, expired or forged bearer token; wrong password")
POD_NOT_FOUND: Final = ErrorCode(
    "POD_NOT_FOUND", 404, "a pod name or address that does not resolve")
NOT_FOUND: Final = ErrorCode("NOT_FOUND", 404, "unknown route")
METHOD_NOT_ALLOWED: Final = ErrorCode("METHOD_NOT_ALLOWED", 405, "wrong method")
PAYLOAD_TOO_LARGE: Final = ErrorCode(
    "PAYLOAD_TOO_LARGE", 413, "a body over the configured limit")
IDEMPOTENCY_KEY_REUSED: Final = ErrorCode(
    "IDEMPOTENCY_KEY_REUSED", 422, "an Idempotency-Key reused with a different request")
SHUTTING_DOWN: Final = ErrorCode(
    "SHUTTING_DOWN", 503, "a new job asked for while the daemon is stopping")
UNSUPPORTED_MEDIA_TYPE: Final = ErrorCode(
    "UNSUPPORTED_MEDIA_TYPE", 415,
    "a body sent without Content-Type: application/json where JSON is expected")
FORBIDDEN_HOST: Final = ErrorCode(
    "FORBIDDEN_HOST", 421, "a Host the daemon does not serve (DNS rebinding)")
FORBIDDEN_ORIGIN: Final = ErrorCode(
    "FORBIDDEN_ORIGIN", 403, "a state-changing request from a foreign Origin")
TOO_MANY_REQUESTS: Final = ErrorCode(
    "TOO_MANY_REQUESTS", 429, "repeated failed logins at /auth/token; carries Retry-After")
INSUFFICIENT_STORAGE: Final = ErrorCode(
    "INSUFFICIENT_STORAGE", 507, "the data directory is out of space; nothing half-written")
STORAGE_UNAVAILABLE: Final = ErrorCode(
    "STORAGE_UNAVAILABLE", 503, "storage failing for another reason")
OVERLOADED: Final = ErrorCode(
    "OVERLOADED", 503, "too many connections or streams; carries Retry-After")
INTERNAL_ERROR: Final = ErrorCode(
    "INTERNAL_ERROR", 500, "a bug; the message never carries a traceback")
# Answered by the synchronous routes for a job that failed that way (not yet in §1).
TIMEOUT: Final = ErrorCode("TIMEOUT", 504, "a synchronous operation passed its time limit")
OPERATION_FAILED: Final = ErrorCode(
    "OPERATION_FAILED", 502, "the operation failed (the network, a peer's data)")

CODES: Final = (JOB_CREATION_FAILED, JOB_NOT_FOUND, JOB_NOT_COMPLETED, JOB_NOT_CANCELLABLE,
                INVALID_REQUEST, UNAUTHORIZED, POD_NOT_FOUND, NOT_FOUND, METHOD_NOT_ALLOWED,
                PAYLOAD_TOO_LARGE, IDEMPOTENCY_KEY_REUSED, SHUTTING_DOWN,
                UNSUPPORTED_MEDIA_TYPE, FORBIDDEN_HOST, FORBIDDEN_ORIGIN, TOO_MANY_REQUESTS,
                INSUFFICIENT_STORAGE, STORAGE_UNAVAILABLE, OVERLOADED, INTERNAL_ERROR,
                TIMEOUT, OPERATION_FAILED)


class ApiError(Exception):
    """An error answer: its code, a sentence, extra members, and extra headers."""

    def __init__(self, code: ErrorCode, message: str, *,
                 headers: Mapping[str, str] | None = None, **extra: Any) -> None:
        super().__init__(message)
        self.code = code.name
        self.status = code.status
        self.message = message
        self.headers = dict(headers or {})
        self.extra = extra


def invalid(message: str, **extra: Any) -> ApiError:
    return ApiError(INVALID_REQUEST, message, **extra)


def response_of(error: ApiError) -> Response:
    """The answer of an ApiError, its headers included (its code noted for the access log)."""
    request_log.note_error(error.code)
    body = {"error": error.code, "message": error.message,
            "timestamp": timestamps.now_wire(), **error.extra}
    response = jsonify(body)
    response.status_code = error.status
    response.headers.update(error.headers)
    return response


_RUNNER_ERRORS: dict[type[RunnerError], ErrorCode] = {
    JobNotFound: JOB_NOT_FOUND,
    JobConflict: JOB_CREATION_FAILED,
    JobNotCancellable: JOB_NOT_CANCELLABLE,
    IdempotencyKeyReused: IDEMPOTENCY_KEY_REUSED,
    ShuttingDown: SHUTTING_DOWN,
    NotRecorded: STORAGE_UNAVAILABLE,
}

# Werkzeug's errors (routing, body size, content type), and the sentence each answers.
_HTTP_CODES = {404: (NOT_FOUND, "No such route"),
               405: (METHOD_NOT_ALLOWED, "Method not allowed on this route"),
               413: (PAYLOAD_TOO_LARGE, "The request body is too large"),
               415: (UNSUPPORTED_MEDIA_TYPE, "The body must be application/json"),
               400: (INVALID_REQUEST, ""), 401: (UNAUTHORIZED, "")}


def from_exception(exc: BaseException) -> ApiError | None:
    """The ApiError for a known exception, or None for a bug."""
    if isinstance(exc, ApiError):
        return exc
    if isinstance(exc, RunnerError):
        code = _RUNNER_ERRORS.get(type(exc), INTERNAL_ERROR)
        if isinstance(exc, JobNotFound | JobNotCancellable):
            return ApiError(code, str(exc), job_id=exc.job_id)
        return ApiError(code, str(exc))
    if isinstance(exc, InvalidInput):
        return invalid(str(exc))
    if isinstance(exc, PodNotFound):
        return ApiError(POD_NOT_FOUND, str(exc))
    if isinstance(exc, StorageFull):
        return ApiError(INSUFFICIENT_STORAGE, str(exc))
    if isinstance(exc, StorageUnavailable):
        retry = {} if exc.retry_after is None else {"Retry-After": str(exc.retry_after)}
        return ApiError(STORAGE_UNAVAILABLE, str(exc), headers=retry)
    if isinstance(exc, ColonyError):
        return ApiError(OPERATION_FAILED, str(exc))
    if isinstance(exc, HTTPException) and exc.code is not None:
        fallback = INVALID_REQUEST if exc.code < 500 else INTERNAL_ERROR
        code, message = _HTTP_CODES.get(exc.code, (fallback, ""))
        return ApiError(code, message or exc.description or code.name)
    return None
