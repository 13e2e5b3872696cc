"""A job's stored form: the JSON text a journal row holds, and back.

Every field of the snapshot, times in UTC to the microsecond (`timestamps.stored`), so a
job read back equals the job written. Pure: no SQLite, no logging, no trio; `decode`
raises on a row that is not a job and leaves it to the caller to skip it.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Callable, Mapping
from datetime import datetime
from typing import Any

from colony_actor.jobs.errors import FailureKind
from colony_actor.jobs.lifecycle import Job, JobStatus
from colony_actor.runtime import json_pieces, timestamps


def encode(job: Job, *, default: Callable[[Any], Any] | None = None) -> bytes:
    """The job as stored (UTF-8). Non-ASCII text is escaped, so a lone surrogate in a
    result cannot make a row unwritable; a result's SPARQL JSON text (json_pieces.Raw,
    valid UTF-8) goes in as it is. Written in pieces and kept as bytes: a result can be
    tens of megabytes, and this runs beside the event loop (a str of it would be decoded,
    and then encoded for SQLite, in one call each)."""
    return json_pieces.encode_bytes({
        "id": job.id,
        "job_type": job.job_type,
        "status": job.status.value,
        "progress": job.progress,
        "message": job.message,
        "created_at": timestamps.stored(job.created_at),
        "updated_at": timestamps.stored(job.updated_at),
        "params": job.params,
        "result": job.result,
        "error": job.error,
        "error_kind": job.error_kind,
        "started_at": timestamps.stored(job.started_at) if job.started_at else None,
        "finished_at": timestamps.stored(job.finished_at) if job.finished_at else None,
        "version": job.version,
    }, functools.partial(json.dumps, separators=(",", ":"), default=default))


def decode(row_id: object, body: object) -> Job:
    """A stored row back into a Job; ValueError/TypeError/KeyError if it is not one."""
    if not isinstance(body, str | bytes):
        raise TypeError(f"body is {type(body).__name__}, not text")
    doc = json.loads(body)
    if not isinstance(doc, dict):
        raise TypeError(f"body is a JSON {type(doc).__name__}, not an object")
    job_id = _text(doc, "id")
    if job_id != row_id:
        raise ValueError(f"body holds job {job_id!r}")
    params = doc["params"]
    if not isinstance(params, dict):
        raise TypeError("params is not an object")
    return Job(
        id=job_id,
        job_type=_text(doc, "job_type"),
        status=JobStatus(doc["status"]),
        progress=_number(doc, "progress"),
        message=_text(doc, "message"),
        created_at=timestamps.parse(doc["created_at"]),
        updated_at=timestamps.parse(doc["updated_at"]),
        params=params,
        result=doc["result"],
        error=_optional_text(doc, "error"),
        error_kind=_failure_kind(_optional_text(doc, "error_kind")),
        started_at=_optional_moment(doc["started_at"]),
        finished_at=_optional_moment(doc["finished_at"]),
        version=_integer(doc, "version"),
    )


def _failure_kind(value: str | None) -> FailureKind | None:
    # A kind this version does not know (written by a newer one) still reads as a failure.
    if value is None:
        return None
    try:
        return FailureKind(value)
    except ValueError:
        return FailureKind.OPERATION_FAILED


def _optional_moment(value: Any) -> datetime | None:
    return None if value is None else timestamps.parse(value)


def _text(doc: Mapping[str, Any], key: str) -> str:
    value = doc[key]
    if not isinstance(value, str):
        raise TypeError(f"{key} is not text")
    return value


def _optional_text(doc: Mapping[str, Any], key: str) -> str | None:
    return None if doc[key] is None else _text(doc, key)


def _number(doc: Mapping[str, Any], key: str) -> float:
    value = doc[key]
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise TypeError(f"{key} is not a number")
    return float(value)


def _integer(doc: Mapping[str, Any], key: str) -> int:
    value = doc[key]
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError(f"{key} is not an integer")
    return value
