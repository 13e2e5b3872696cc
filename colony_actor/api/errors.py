"""The one error shape of API.md §1, and the mapping from exceptions to it.

Every error response is JSON `{"error", "message", "timestamp", ...extra}`; a traceback
never reaches a client.
"""

from __future__ import annotations

from typing import Any

from quart import Response, jsonify
from werkzeug.exceptions import HTTPException

from colony_actor.colony.errors import ColonyError, InvalidInput, PodNotFound
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


class ApiError(Exception):
    """An error answer: code, HTTP status, sentence, and extra members."""

    def __init__(self, code: str, http_status: int, message: str, **extra: Any) -> None:
        super().__init__(message)
        self.code = code
        self.status = http_status
        self.message = message
        self.extra = extra


def invalid(message: str, **extra: Any) -> ApiError:
    return ApiError("INVALID_REQUEST", 400, message, **extra)


def error_response(code: str, http_status: int, message: str, **extra: Any) -> Response:
    body = {"error": code, "message": message, "timestamp": timestamps.now_wire(), **extra}
    response = jsonify(body)
    response.status_code = http_status
    return response


_RUNNER_ERRORS: dict[type[RunnerError], tuple[str, int]] = {
    JobNotFound: ("JOB_NOT_FOUND", 404),
    JobConflict: ("JOB_CREATION_FAILED", 409),
    JobNotCancellable: ("JOB_NOT_CANCELLABLE", 409),
    IdempotencyKeyReused: ("IDEMPOTENCY_KEY_REUSED", 422),
    ShuttingDown: ("SHUTTING_DOWN", 503),
    NotRecorded: ("STORAGE_UNAVAILABLE", 503),
}

_HTTP_CODES = {404: "NOT_FOUND", 405: "METHOD_NOT_ALLOWED", 413: "PAYLOAD_TOO_LARGE",
               400: "INVALID_REQUEST", 401: "UNAUTHORIZED"}


def from_exception(exc: BaseException) -> ApiError | None:
    """The ApiError for a known exception, or None for a bug."""
    if isinstance(exc, ApiError):
        return exc
    if isinstance(exc, RunnerError):
        code, status = _RUNNER_ERRORS.get(type(exc), ("INTERNAL_ERROR", 500))
        extra = {"job_id": exc.job_id} if isinstance(exc, JobNotFound | JobNotCancellable) else {}
        return ApiError(code, status, str(exc), **extra)
    if isinstance(exc, InvalidInput):
        return invalid(str(exc))
    if isinstance(exc, PodNotFound):
        return ApiError("POD_NOT_FOUND", 404, str(exc))
    if isinstance(exc, ColonyError):
        return ApiError("OPERATION_FAILED", 502, str(exc))
    if isinstance(exc, HTTPException) and exc.code is not None:
        code = _HTTP_CODES.get(exc.code, "INVALID_REQUEST" if exc.code < 500 else "INTERNAL_ERROR")
        message = {404: "No such route", 405: "Method not allowed on this route",
                   413: "The request body is too large"}.get(exc.code, exc.description or code)
        return ApiError(code, exc.code, message)
    return None
