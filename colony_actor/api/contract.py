"""What each route takes and answers, by endpoint: its parameters, body, success answer
with its headers, and the error codes it can answer. api/openapi.py joins this to the
app's registered routes; a route registered without an entry here fails the document, so
none goes undescribed.

Pure data over api/models.py and api/errors.py; it must never check a request (the routes
do, api/params.py) nor name a path (the routes own them).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Final

import msgspec

from colony_actor.api import errors, models
from colony_actor.api.errors import ErrorCode
from colony_actor.api.params import MAX_LIMIT
from colony_actor.api.routes.events import KEEPALIVE_SECONDS
from colony_actor.api.routes.jobs import DEFAULT_PAGE, MAX_WAIT_SECONDS
from colony_actor.jobs.lifecycle import JobStatus
from colony_actor.service import catalogue
from colony_actor.service.catalogue import Argument

JSON: Final = "application/json"


@dataclass(frozen=True)
class Param:
    name: str
    where: str  # path, query or header
    description: str
    schema: dict[str, Any] = field(default_factory=lambda: {"type": "string"})
    required: bool = False


@dataclass(frozen=True)
class Answer:
    status: int
    description: str
    model: type[msgspec.Struct] | None = None
    schema: dict[str, Any] | None = None  # when no model says it
    media: str = JSON
    headers: tuple[str, ...] = ()


@dataclass(frozen=True)
class Operation:
    summary: str
    tag: str
    answer: Answer
    errors: tuple[ErrorCode, ...] = ()
    params: tuple[Param, ...] = ()
    body: dict[str, Any] | None = None
    body_required: bool = True
    # An extra answer besides `answer` (a result not yet ready).
    pending: Answer | None = None


# Headers that answers carry, described once.
HEADERS: Final = {
    "Location": ("The job's status route, under the prefix the request used",
                 {"type": "string"}),
    "Retry-After": ("Seconds to wait before asking again", {"type": "string",
                                                           "pattern": "^[0-9]+$"}),
    "WWW-Authenticate": ("The bearer scheme", {"type": "string"}),
    "X-Request-ID": ("The request's id, as sent (1 to 128 visible ASCII characters) or "
                     "made; every log line of the request carries it",
                     {"type": "string", "maxLength": 128}),
}
# Every route can answer these: a Host it does not serve, a full connection table, a bug;
# and, its path taking any text, a path that resolves to no route or another method.
COMMON: Final = (errors.NOT_FOUND, errors.METHOD_NOT_ALLOWED, errors.FORBIDDEN_HOST,
                 errors.OVERLOADED, errors.INTERNAL_ERROR)
# A state-changing request may be refused for its Origin; one with a body for its size,
# type or form.
CHANGE: Final = (errors.FORBIDDEN_ORIGIN,)
BODY: Final = (errors.INVALID_REQUEST, errors.PAYLOAD_TOO_LARGE,
               errors.UNSUPPORTED_MEDIA_TYPE)
STORAGE: Final = (errors.INSUFFICIENT_STORAGE, errors.STORAGE_UNAVAILABLE)
START: Final = (errors.INVALID_REQUEST, errors.JOB_CREATION_FAILED,
                errors.IDEMPOTENCY_KEY_REUSED, errors.SHUTTING_DOWN,
                errors.STORAGE_UNAVAILABLE, *CHANGE)
SYNCHRONOUS: Final = (errors.INVALID_REQUEST, errors.JOB_CREATION_FAILED,
                      errors.POD_NOT_FOUND, errors.SHUTTING_DOWN, errors.STORAGE_UNAVAILABLE,
                      errors.OPERATION_FAILED, errors.TIMEOUT)

_NUMBER = {"type": "string", "pattern": "^[0-9]{1,9}$"}
_FLAG = {"type": "string", "enum": ["", "1", "0", "true", "false", "yes", "no"]}
_ANY: dict[str, Any] = {}
JOB_ID = Param("job_id", "path", "A job's id", required=True)
POD = Param("pod", "path", "A pod's address or its name", required=True)
LIMIT = Param("limit", "query", f"At most this many results, 1 to {MAX_LIMIT}",
              {"type": "string", "pattern": "^[0-9]{1,9}$"})
QUEUE = Param("queue", "query", "true: wait behind the running job instead of a 409", _FLAG)
IDEMPOTENCY = Param("Idempotency-Key", "header", "The same key and request start one job "
                    "only; the same key with another request answers 422",
                    {"type": "string", "minLength": 1, "maxLength": 255})
Q = Param("q", "query", "Text to search for")
_ARGUMENTS = {
    Argument.DEPTH: (Param("depth", "path", "How many references deep to follow",
                           _NUMBER, required=True),),
    Argument.POD: (POD,),
    Argument.SUBJECT: (Param("subject", "path", "A subject IRI (`ant://...` or hex)",
                             required=True),),
    Argument.QUERY: (Q, LIMIT),
}
SEARCH_BODY: Final = {"anyOf": [models.ref(models.SearchForm),
                                {"type": "string", "description": "Text to search for"}]}
SYNC_SEARCH: Final = (Q, Param("type", "query", "A search form: text, by_type, "
                               "by_predicate, advanced, browse"),
                      Param("text", "query", "The text of a text search"),
                      Param("type_uri", "query", "The type of a by_type search"),
                      Param("predicate_uri", "query", "The predicate of a by_predicate search"),
                      Param("sparql", "query", "The query of an advanced search"), LIMIT)


def _arguments(job_type: catalogue.JobType) -> tuple[Param, ...]:
    return _ARGUMENTS[job_type.argument] if job_type.argument is not None else ()


def _label(job_type: catalogue.JobType) -> str:
    """What the job does, from its start message ("Cache refresh job started...")."""
    return job_type.start_message.split(" job ")[0].lower()


def _start(job_type: catalogue.JobType) -> Operation:
    query = job_type.argument is Argument.QUERY
    return Operation(
        f"Start a job: {_label(job_type)} (`{job_type.name}`)", "jobs",
        Answer(202, "The job is accepted; follow it at Location", models.JobStarted,
               headers=("Location",)),
        START + (BODY if query else ())
        + ((errors.POD_NOT_FOUND,) if job_type.argument is Argument.POD else ()),
        (*_arguments(job_type), QUEUE, IDEMPOTENCY),
        body=SEARCH_BODY if query else None, body_required=False)


def _synchronous(job_type: catalogue.JobType) -> Operation:
    search = job_type.argument is Argument.QUERY
    changes = job_type.synchronous is not None and job_type.synchronous[0] != "GET"
    return Operation(
        f"{_label(job_type).capitalize()}, synchronously: runs a `{job_type.name}` job and "
        "answers its result", "synchronous",
        Answer(200, "The operation's result", schema=_ANY),
        SYNCHRONOUS + CHANGE if changes else SYNCHRONOUS,
        SYNC_SEARCH if search else _arguments(job_type))


OPERATIONS: Final[dict[str, Operation]] = {
    **{f"start_{t.operation}": _start(t) for t in catalogue.JOB_TYPES},
    **{t.operation: _synchronous(t) for t in catalogue.JOB_TYPES if t.synchronous},
    "list_jobs": Operation(
        "List jobs, newest first, a page at a time", "jobs",
        Answer(200, "A page of jobs", models.JobList), (errors.INVALID_REQUEST,),
        (Param("status", "query", "Only jobs in this state",
               {"type": "string", "enum": [s.value for s in JobStatus]}),
         Param("job_type", "query", "Only jobs of this type",
               {"type": "string", "enum": list(catalogue.NAMES)}),
         Param("limit", "query", f"At most this many jobs (default {DEFAULT_PAGE})",
               LIMIT.schema),
         Param("cursor", "query", "`next_cursor` of the page before", _NUMBER))),
    "get_job": Operation(
        "A job's status and progress; with `wait`, answers at its next change (long-poll)",
        "jobs", Answer(200, "The job; Retry-After while it is not finished",
                       models.JobEnvelope, headers=("Retry-After",)),
        (errors.JOB_NOT_FOUND, errors.INVALID_REQUEST),
        (JOB_ID, Param("wait", "query", "Wait up to this many seconds (at most "
                       f"{MAX_WAIT_SECONDS:.0f}) for a change", _NUMBER),
         Param("since", "query", "With wait: the version last seen (default: the "
               "current one)", _NUMBER))),
    "get_result": Operation(
        "A finished job's result", "jobs",
        Answer(200, "The job is finished", models.JobResult), (errors.JOB_NOT_FOUND,),
        (JOB_ID,),
        pending=Answer(202, "JOB_NOT_COMPLETED: the job is pending or running",
                       models.Error, headers=("Retry-After",))),
    "cancel_job": Operation(
        "Cancel a pending or running job", "jobs",
        Answer(200, "The job, cancelled (or cancelling)", models.JobEnvelope),
        (errors.JOB_NOT_FOUND, errors.JOB_NOT_CANCELLABLE, *CHANGE), (JOB_ID,)),
    "forget_job": Operation(
        "Forget a finished job", "jobs", Answer(204, "Forgotten", media=""),
        (errors.JOB_NOT_FOUND, errors.JOB_NOT_CANCELLABLE, errors.STORAGE_UNAVAILABLE,
         *CHANGE), (JOB_ID,)),
    "job_events": Operation(
        "Follow a job as Server-Sent Events: one `event: job` (data: the job) per change, "
        f"from the current state to the terminal one; a comment every {KEEPALIVE_SECONDS:.0f} s",
        "jobs", Answer(200, "The event stream", schema={"type": "string"},
                       media="text/event-stream"),
        (errors.JOB_NOT_FOUND,),
        (JOB_ID, Param("Last-Event-ID", "header", "Resume after this event id (a version)"))),
    "list_pods": Operation("List the pods of the local store", "pods",
                           Answer(200, "Every pod", models.PodList), STORAGE),
    "create_pod": Operation(
        "Create a pod", "pods", Answer(201, "The new pod", models.PodNamed),
        BODY + STORAGE + CHANGE, body=models.ref(models.PodName)),
    "rename_pod": Operation(
        "Rename a pod", "pods", Answer(200, "The pod renamed", models.PodNamed),
        BODY + STORAGE + CHANGE + (errors.POD_NOT_FOUND,), (POD,),
        body=models.ref(models.PodName)),
    "remove_pod": Operation(
        "Remove a pod (its removal is uploaded with the next upload)", "pods",
        Answer(204, "Removed", media=""),
        STORAGE + CHANGE + (errors.POD_NOT_FOUND, errors.INVALID_REQUEST), (POD,)),
    "add_pod_ref": Operation(
        "Add a reference from a pod to another", "pods",
        Answer(201, "The reference added", models.PodRefAdded),
        BODY + STORAGE + CHANGE + (errors.POD_NOT_FOUND,), (POD,),
        body=models.ref(models.PodRef)),
    "remove_pod_ref": Operation(
        "Remove a reference from a pod", "pods", Answer(204, "Removed", media=""),
        BODY + STORAGE + CHANGE + (errors.POD_NOT_FOUND,), (POD,),
        body=models.ref(models.PodRef)),
    "put_subject_data": Operation(
        "Put a subject's JSON-LD in a pod (replacing what the pod said of it)", "pods",
        Answer(200, "The document as stored (expanded)", schema=_ANY),
        BODY + STORAGE + CHANGE + (errors.POD_NOT_FOUND,),
        (POD, Param("subject", "path", "The subject IRI", required=True)),
        body={"type": "object", "description": "A JSON-LD document"}),
    "updates": Operation("Pods waiting for upload", "pods",
                         Answer(200, "Edited and removed pods", models.Updates), STORAGE),
    "issue_token": Operation(
        "A bearer token for the daemon's password (valid for `expires_in` seconds)",
        "system", Answer(200, "A token", models.Token),
        BODY + CHANGE + (errors.UNAUTHORIZED, errors.TOO_MANY_REQUESTS),
        body=models.ref(models.TokenRequest)),
    "health": Operation("The daemon's health (no token needed)", "system",
                        Answer(200, "Healthy, or degraded with reasons", models.Health)),
    "metrics": Operation("Prometheus metrics (no token needed on loopback)", "system",
                         Answer(200, "The metrics, in Prometheus' text format",
                                schema={"type": "string"}, media="text/plain"),
                         (errors.UNAUTHORIZED,)),
    "openapi": Operation("This document", "system",
                         Answer(200, "The OpenAPI 3.1 document", schema={"type": "object"})),
}
