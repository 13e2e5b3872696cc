"""The legacy synchronous routes: the same operations through the same runner (so the
same mutual exclusion), answered with the operation's result directly."""

from __future__ import annotations

from typing import Any

from quart import Response, request
from quart_trio import QuartTrio

from colony_actor.api import params
from colony_actor.api.encoding import Bodies
from colony_actor.api.errors import ApiError
from colony_actor.jobs.errors import FailureKind
from colony_actor.jobs.lifecycle import JobStatus
from colony_actor.jobs.runner import JobRequest
from colony_actor.service.services import Services

# How a failed job's kind shows on a synchronous route.
_FAILURES = {FailureKind.INVALID_REQUEST: ("INVALID_REQUEST", 400),
             FailureKind.POD_NOT_FOUND: ("POD_NOT_FOUND", 404),
             FailureKind.TIMEOUT: ("TIMEOUT", 504),
             FailureKind.INTERRUPTED: ("SHUTTING_DOWN", 503)}


async def run_sync(services: Services, bodies: Bodies, job_request: JobRequest) -> Response:
    job = await services.runner.run_to_completion(job_request)
    if job.status is JobStatus.COMPLETED:
        return await bodies.response(await bodies.result(job))
    code, status = _FAILURES.get(job.error_kind or FailureKind.OPERATION_FAILED,
                                  ("OPERATION_FAILED", 502))
    raise ApiError(code, status, job.error or "The operation failed", job_id=job.id)


def legacy_search_query(services: Services) -> tuple[dict[str, Any], str]:
    args = request.args
    default = services.settings.search.default_limit
    search_type = args.get("type")
    if search_type is None:
        text = args.get("q", "")
        query: dict[str, Any] = {"type": "text", "text": text}
        label = text
    else:
        query = {"type": search_type}
        for name in ("q", "text", "type_uri", "predicate_uri", "sparql"):
            if name in args:
                query["text" if name == "q" else name] = args[name]
        label = search_type
    if search_type != "advanced":
        query["limit"] = params.limit(args.get("limit"), default)
    return query, label


def register(app: QuartTrio, services: Services, bodies: Bodies) -> None:
    ops = services.operations

    @app.post("/api/v1/cache")
    async def refresh_cache() -> Response:
        return await run_sync(services, bodies, ops.refresh_cache())

    @app.put("/api/v1/cache")
    async def upload_all() -> Response:
        return await run_sync(services, bodies, ops.upload_all())

    @app.post("/api/v1/cache/<depth>")
    async def refresh_ref(depth: str) -> Response:
        value = params.non_negative_int("depth", depth)
        return await run_sync(services, bodies, ops.refresh_ref(value))

    @app.get("/api/v1/search")
    async def search() -> Response:
        query, label = legacy_search_query(services)
        return await run_sync(services, bodies, ops.search(query, label))

    @app.get("/api/v1/search/subject/<path:subject>")
    async def subject_data(subject: str) -> Response:
        return await run_sync(services, bodies, ops.get_subject_data(subject))
