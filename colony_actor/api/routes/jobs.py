"""Job routes: the start route of every job type of the catalogue, and status, result,
list, cancel and forget (API.md §3 and §4, with long-poll, queue and Idempotency-Key).
Handlers send the runner a message or read its snapshots; they never change a job."""

from __future__ import annotations

import functools
import hashlib
from collections.abc import Awaitable, Callable
from typing import Any

from quart import Response, jsonify, request
from quart_trio import QuartTrio

from colony_actor.api import params, request_log
from colony_actor.api.encoding import Bodies
from colony_actor.api.errors import JOB_NOT_COMPLETED, ApiError, invalid
from colony_actor.api.routes import API, COLONYD_API, rule
from colony_actor.jobs.errors import JobNotFound
from colony_actor.jobs.lifecycle import Job, JobStatus
from colony_actor.jobs.runner import JobRequest, JobRunner
from colony_actor.runtime import threads, timestamps
from colony_actor.service import catalogue
from colony_actor.service.catalogue import JobType
from colony_actor.service.services import Services

JOBS = f"{API}/jobs"
MAX_WAIT_SECONDS = 60.0
DEFAULT_PAGE = 50
Builder = Callable[..., JobRequest]


async def fingerprint() -> str:
    """What makes two start requests "the same request" for Idempotency-Key."""
    body = await request.get_data(as_text=False)
    parts = (request.method, request.path, request.query_string, body)

    def digest() -> str:
        hashed = hashlib.sha256()
        for part in parts:
            hashed.update(part if isinstance(part, bytes) else part.encode())
            hashed.update(b"\0")
        return hashed.hexdigest()

    return await threads.run_sized(len(body), digest)


async def start_job(services: Services, build: Builder) -> Response:
    key = request.headers.get("Idempotency-Key")
    if key is not None and not 1 <= len(key) <= 255:
        raise invalid("Idempotency-Key must be 1 to 255 characters")
    job_request = build(queue=params.flag("queue"), idempotency_key=key,
                        fingerprint=await fingerprint())
    job = await services.runner.start(job_request)
    request_log.note_job(job.id)
    response = jsonify({"job_id": job.id, "status": JobStatus.PENDING.value,
                        "message": job_request.start_message,
                        "timestamp": timestamps.wire(job.created_at)})
    response.status_code = 202
    # Under the prefix the client used: colonyd's `/colony-0` or ours.
    root = COLONYD_API if request.path.startswith(COLONYD_API + "/") else API
    response.headers["Location"] = f"{root}/jobs/{job.id}"
    return response


def found(runner: JobRunner, job_id: str) -> Job:
    """The job's snapshot, or JobNotFound (404)."""
    job = runner.get(job_id)
    if job is None:
        raise JobNotFound(job_id)
    return job


def _starter(services: Services, job_type: JobType) -> Callable[..., Awaitable[Response]]:
    async def start(**path: str) -> Response:
        argument, label = await params.job_argument(
            job_type, path, services.settings.search.default_limit)
        await services.operations.check(job_type, argument)
        return await start_job(services, functools.partial(
            services.operations.request, job_type, argument, label))

    return start


def register(app: QuartTrio, services: Services, bodies: Bodies) -> None:
    runner = services.runner
    for job_type in catalogue.JOB_TYPES:
        app.post(f"{JOBS}/{rule(job_type.path, job_type.argument)}",
                 endpoint=f"start_{job_type.operation}")(_starter(services, job_type))

    @app.get(JOBS)
    async def list_jobs() -> Response:
        status = request.args.get("status")
        if status is not None and status not in {s.value for s in JobStatus}:
            raise invalid(f"status must be one of {', '.join(s.value for s in JobStatus)}")
        job_type = request.args.get("job_type")
        if job_type is not None and job_type not in catalogue.NAMES:
            raise invalid(f"job_type must be one of {', '.join(catalogue.NAMES)}")
        cursor_raw = request.args.get("cursor")
        cursor = params.non_negative_int("cursor", cursor_raw) if cursor_raw else None
        page, next_cursor = runner.list(
            status=JobStatus(status) if status else None, job_type=job_type,
            limit=params.limit(request.args.get("limit"), DEFAULT_PAGE), cursor=cursor)
        return await bodies.jobs_response(page, next_cursor)

    @app.get(f"{JOBS}/<job_id>")
    async def get_job(job_id: str) -> Response:
        job = found(runner, job_id)
        wait_raw = request.args.get("wait")
        if wait_raw is not None:
            wait = min(float(params.non_negative_int("wait", wait_raw)), MAX_WAIT_SECONDS)
            since_raw = request.args.get("since")
            since = params.non_negative_int("since", since_raw) if since_raw else job.version
            job = await runner.wait_for_change(job_id, since, wait) or job
        response = await bodies.job_response(job)
        if not job.terminal:
            response.headers["Retry-After"] = "1"
        return response

    @app.get(f"{JOBS}/<job_id>/result")
    async def get_result(job_id: str) -> Response:
        job = found(runner, job_id)
        if not job.terminal:
            raise ApiError(JOB_NOT_COMPLETED, f"Job {job_id} is not yet completed",
                           headers={"Retry-After": "1"}, job_id=job_id,
                           status=job.status.value)
        completed = job.status is JobStatus.COMPLETED
        result: Any = await bodies.result(job) if completed else None
        return await bodies.response({"job_id": job.id, "status": job.status.value,
                                      "result": result, "error": job.error})

    @app.post(f"{JOBS}/<job_id>/cancel")
    async def cancel_job(job_id: str) -> Response:
        return await bodies.job_response(await runner.cancel(job_id))

    @app.delete(f"{JOBS}/<job_id>")
    async def forget_job(job_id: str) -> Response:
        await runner.forget(job_id)
        return Response("", status=204)
