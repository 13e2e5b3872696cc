"""Job routes: the seed's start/status/result endpoints and the job management of API.md §4
(list, cancel, forget, long-poll, Server-Sent Events, queue, Idempotency-Key)."""

from __future__ import annotations

import hashlib
from collections.abc import AsyncIterator, Callable
from typing import Any

from quart import Response, jsonify, request
from quart_trio import QuartTrio

from colony_actor.api import params
from colony_actor.api.encoding import Bodies, joined
from colony_actor.api.errors import ApiError, invalid
from colony_actor.jobs.errors import JobNotFound
from colony_actor.jobs.lifecycle import Job, JobStatus
from colony_actor.jobs.runner import JobRequest
from colony_actor.runtime import threads, timestamps
from colony_actor.service.config import JOB_TYPES
from colony_actor.service.services import Services

MAX_WAIT_SECONDS = 60.0
SSE_KEEPALIVE_SECONDS = 15.0
# A stream sends a change of progress at most once per interval (a change of status, the
# end included, at once): a job whose progress moves many times a second would otherwise
# cost every follower a send per change. Half a second is the reference CLI's poll interval.
SSE_MIN_INTERVAL_SECONDS = 0.5
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
    response = jsonify({"job_id": job.id, "status": JobStatus.PENDING.value,
                        "message": job_request.start_message,
                        "timestamp": timestamps.wire(job.created_at)})
    response.status_code = 202
    response.headers["Location"] = f"/api/v1/jobs/{job.id}"
    return response


def _found(services: Services, job_id: str) -> Job:
    job = services.runner.get(job_id)
    if job is None:
        raise JobNotFound(job_id)
    return job


def register(app: QuartTrio, services: Services, bodies: Bodies) -> None:
    ops = services.operations
    runner = services.runner

    @app.post("/api/v1/jobs/cache/refresh")
    async def start_refresh_cache() -> Response:
        return await start_job(services, ops.refresh_cache)

    @app.post("/api/v1/jobs/cache/upload")
    async def start_upload_all() -> Response:
        return await start_job(services, ops.upload_all)

    @app.post("/api/v1/jobs/cache/upload/<path:pod>")
    async def start_upload_pod(pod: str) -> Response:
        return await start_job(services, lambda **o: ops.upload_pod(pod, **o))

    @app.post("/api/v1/jobs/cache/refresh/<depth>")
    async def start_refresh_ref(depth: str) -> Response:
        value = params.non_negative_int("depth", depth)
        return await start_job(services, lambda **o: ops.refresh_ref(value, **o))

    @app.post("/api/v1/jobs/search")
    async def start_search() -> Response:
        query, label = await search_query(services)
        return await start_job(services, lambda **o: ops.search(query, label, **o))

    @app.post("/api/v1/jobs/search/subject/<path:subject>")
    async def start_subject_data(subject: str) -> Response:
        return await start_job(services, lambda **o: ops.get_subject_data(subject, **o))

    @app.get("/api/v1/jobs")
    async def list_jobs() -> Response:
        status = request.args.get("status")
        if status is not None and status not in {s.value for s in JobStatus}:
            raise invalid(f"status must be one of {', '.join(s.value for s in JobStatus)}")
        job_type = request.args.get("job_type")
        if job_type is not None and job_type not in JOB_TYPES:
            raise invalid(f"job_type must be one of {', '.join(JOB_TYPES)}")
        cursor_raw = request.args.get("cursor")
        cursor = params.non_negative_int("cursor", cursor_raw) if cursor_raw else None
        page, next_cursor = runner.list(
            status=JobStatus(status) if status else None, job_type=job_type,
            limit=params.limit(request.args.get("limit"), 50), cursor=cursor)
        return await bodies.jobs_response(page, next_cursor)

    @app.get("/api/v1/jobs/<job_id>")
    async def get_job(job_id: str) -> Response:
        job = _found(services, job_id)
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

    @app.get("/api/v1/jobs/<job_id>/result")
    async def get_result(job_id: str) -> Response:
        job = _found(services, job_id)
        if not job.terminal:
            raise ApiError("JOB_NOT_COMPLETED", 202, f"Job {job_id} is not yet completed",
                           job_id=job_id, status=job.status.value)
        completed = job.status is JobStatus.COMPLETED
        return await bodies.response({
            "job_id": job.id, "status": job.status.value,
            "result": await bodies.result(job) if completed else None, "error": job.error})

    @app.post("/api/v1/jobs/<job_id>/cancel")
    async def cancel_job(job_id: str) -> Response:
        return await bodies.job_response(await runner.cancel(job_id))

    @app.delete("/api/v1/jobs/<job_id>")
    async def forget_job(job_id: str) -> Response:
        await runner.forget(job_id)
        return Response("", status=204)

    async def sse_event(job: Job) -> bytes:
        # The encoded job is shared by every stream following it (Bodies keeps it).
        return await joined(b"event: job\nid: %d\ndata: " % job.version, await bodies.job(job),
                            b"\n\n")

    @app.get("/api/v1/jobs/<job_id>/events")
    async def job_events(job_id: str) -> Response:
        _found(services, job_id)
        last = request.headers.get("Last-Event-ID", "").strip()
        since = int(last) if last.isdigit() else 0

        async def stream() -> AsyncIterator[bytes]:
            async for job in runner.watch(job_id, since, keepalive=SSE_KEEPALIVE_SECONDS,
                                          min_interval=SSE_MIN_INTERVAL_SECONDS):
                if job is None:
                    yield b": keepalive\n\n"
                    continue
                yield await sse_event(job)

        response = Response(stream(), mimetype="text/event-stream")
        response.headers["Cache-Control"] = "no-cache"
        response.headers["X-Accel-Buffering"] = "no"
        response.timeout = None  # a stream lasts as long as the job
        return response


async def search_query(services: Services) -> tuple[dict[str, Any], str]:
    """The search form of a job start: `?q=&limit=`, or a JSON body (object or string)."""
    default = services.settings.search.default_limit
    q = request.args.get("q")
    if q is not None:
        return {"type": "text", "text": q,
                "limit": params.limit(request.args.get("limit"), default)}, q
    body = await params.json_body(required=False)
    if isinstance(body, str):
        return {"type": "text", "text": body, "limit": default}, body
    if body is None:
        body = {}
    if not isinstance(body, dict):
        raise invalid("The search body must be a JSON object or a string")
    query = dict(body)
    if "limit" in query:
        query["limit"] = params.limit(query["limit"], default)
    elif query.get("type") != "advanced":
        query["limit"] = params.limit(request.args.get("limit"), default)
    label = str(query.get("text") or query.get("type_uri") or query.get("predicate_uri")
                or query.get("sparql") or query.get("type") or "")
    return query, label
