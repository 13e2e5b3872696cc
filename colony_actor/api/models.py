"""The shapes of the API's request and response bodies, declared as msgspec structs: the
one home of each shape the OpenAPI document (api/openapi.py) and the guide describe.

They document; they never validate. The routes keep their own checks (api/params.py) so
that each refusal keeps its sentence and its code; a test checks real answers against
these shapes. A field's order here is its order on the wire.
"""

from __future__ import annotations

from typing import Annotated, Any, Final, Literal

import msgspec
from msgspec import Meta

from colony_actor.api.params import MAX_CHARS, MAX_LIMIT, SEARCH_FORMS
from colony_actor.jobs.lifecycle import JobStatus
from colony_actor.service import catalogue

Timestamp = Annotated[str, Meta(description="RFC 3339, UTC, milliseconds",
                                extra_json_schema={"format": "date-time"},
                                examples=["2026-01-02T03:04:05.678Z"])]
JobTypeName = Annotated[str, Meta(description="A job type of the catalogue",
                                  extra_json_schema={"enum": list(catalogue.NAMES)})]
Address = Annotated[str, Meta(pattern="^[0-9a-f]{64}$",
                              description="A pod's address: 64 lowercase hex digits")]


class Error(msgspec.Struct):
    """Every error answer: a code, a sentence, the time; some carry more."""

    error: Annotated[str, Meta(description="The code: see the table of errors")]
    message: Annotated[str, Meta(description="What went wrong, in one sentence")]
    timestamp: Timestamp
    job_id: str | msgspec.UnsetType = msgspec.UNSET
    status: str | msgspec.UnsetType = msgspec.UNSET
    retry_after: int | msgspec.UnsetType = msgspec.UNSET


class TokenRequest(msgspec.Struct):
    """The daemon's password."""

    password: Annotated[str, Meta(min_length=1)]


class Token(msgspec.Struct):
    """A bearer token for the API's routes."""

    token: str
    expires_in: Annotated[int, Meta(description="Seconds the token stays valid")]
    token_type: Literal["Bearer"]


class SearchIndexProgress(msgspec.Struct):
    """The full-text index being built or checked after a start; searches wait for it."""

    state: Literal["building", "checking"]
    pods_done: int
    pods_total: int


class Health(msgspec.Struct):
    """The daemon's state: `degraded` still serves, and says what fails."""

    status: Literal["healthy", "degraded"]
    timestamp: Timestamp
    version: str
    runner: Literal["idle", "busy"]
    reasons: list[str] | msgspec.UnsetType = msgspec.UNSET
    messages: list[str] | msgspec.UnsetType = msgspec.UNSET
    search_index: SearchIndexProgress | msgspec.UnsetType = msgspec.UNSET


class Job(msgspec.Struct):
    """A job. `version` grows with every change (long-poll `since`, SSE ids)."""

    id: str
    job_type: JobTypeName
    status: JobStatus
    progress: Annotated[float, Meta(ge=0, le=1)]
    message: str
    result: Annotated[Any, Meta(description="The result once completed, else null")]
    error: str | None
    created_at: Timestamp
    updated_at: Timestamp
    started_at: Timestamp | None
    finished_at: Timestamp | None
    version: Annotated[int, Meta(ge=0)]
    params: dict[str, Any]


class JobEnvelope(msgspec.Struct):
    """One job."""

    job: Job


class JobList(msgspec.Struct):
    """A page of jobs, newest first; pass `next_cursor` as `cursor` for the next page."""

    jobs: list[Job]
    next_cursor: str | None


class JobStarted(msgspec.Struct):
    """A job accepted: follow it at the Location header."""

    job_id: str
    status: Literal["pending"]
    message: str
    timestamp: Timestamp


class JobResult(msgspec.Struct):
    """A finished job's outcome: `result` when completed, `error` when failed."""

    job_id: str
    status: JobStatus
    result: Any
    error: str | None


class Pod(msgspec.Struct):
    """A pod of the local store."""

    address: Address
    name: str
    created_at: Timestamp
    modified_at: Timestamp
    depth: Annotated[int, Meta(ge=0, description="0 for one's own pods")]


class PodList(msgspec.Struct):
    pods: list[Pod]


class PodName(msgspec.Struct):
    """A pod's name."""

    name: Annotated[str, Meta(min_length=1)]


class PodNamed(msgspec.Struct):
    """A pod created or renamed."""

    address: Address
    name: str
    timestamp: Timestamp


class PodRef(msgspec.Struct):
    """A reference from a pod to another pod."""

    pod_ref: Annotated[str, Meta(min_length=1, description="The referenced pod's address "
                                 "or `ant://` address")]


class PodRefAdded(msgspec.Struct):
    pod: str
    pod_ref: str
    timestamp: Timestamp


class Updates(msgspec.Struct):
    """Pods waiting for upload: edited ones and removed ones."""

    update: list[Address]
    remove: list[Address]


class SearchForm(msgspec.Struct):
    """A search: `type` and its one member (text, type_uri, predicate_uri or sparql;
    browse needs none), and `limit` (an advanced query takes it from its SPARQL)."""

    type: Annotated[str, Meta(extra_json_schema={"enum": list(SEARCH_FORMS)})] = "text"
    text: Annotated[str, Meta(max_length=MAX_CHARS["text"])] | msgspec.UnsetType = (
        msgspec.UNSET)
    type_uri: Annotated[str, Meta(max_length=MAX_CHARS["type_uri"])] | msgspec.UnsetType = (
        msgspec.UNSET)
    predicate_uri: (Annotated[str, Meta(max_length=MAX_CHARS["predicate_uri"])]
                    | msgspec.UnsetType) = msgspec.UNSET
    sparql: Annotated[str, Meta(max_length=MAX_CHARS["sparql"])] | msgspec.UnsetType = (
        msgspec.UNSET)
    limit: Annotated[int, Meta(ge=1, le=MAX_LIMIT)] | msgspec.UnsetType = msgspec.UNSET


MODELS: Final = (Error, TokenRequest, Token, Health, Job, JobEnvelope, JobList, JobStarted,
                 JobResult, Pod, PodList, PodName, PodNamed, PodRef, PodRefAdded, Updates,
                 SearchForm)
REF: Final = "#/components/schemas/{name}"


def components() -> dict[str, Any]:
    """The JSON Schema of every model, as OpenAPI's `components.schemas`."""
    _, schemas = msgspec.json.schema_components(MODELS, ref_template=REF)
    return schemas


def ref(model: type[msgspec.Struct]) -> dict[str, str]:
    return {"$ref": REF.format(name=model.__name__)}
