"""The legacy synchronous routes: each job type of the catalogue that has one runs through
the same runner (so the same mutual exclusion) and answers with the operation's result
directly, or with the error its failure kind maps to. A synchronous route must never run
an operation itself: it is a job the client waits for."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from quart import Response
from quart_trio import QuartTrio

from colony_actor.api import errors, params, request_log
from colony_actor.api.encoding import Bodies
from colony_actor.api.errors import ApiError
from colony_actor.api.routes import API, rule
from colony_actor.jobs.errors import FailureKind
from colony_actor.jobs.lifecycle import JobStatus
from colony_actor.jobs.runner import JobRequest
from colony_actor.service import catalogue
from colony_actor.service.catalogue import JobType
from colony_actor.service.services import Services

# How a failed job's kind shows on a synchronous route.
_FAILURES = {FailureKind.INVALID_REQUEST: errors.INVALID_REQUEST,
             FailureKind.POD_NOT_FOUND: errors.POD_NOT_FOUND,
             FailureKind.TIMEOUT: errors.TIMEOUT,
             FailureKind.INTERRUPTED: errors.SHUTTING_DOWN}


async def run_sync(services: Services, bodies: Bodies, job_request: JobRequest) -> Response:
    job = await services.runner.run_to_completion(job_request)
    request_log.note_job(job.id)
    if job.status is JobStatus.COMPLETED:
        return await bodies.response(await bodies.result(job))
    code = _FAILURES.get(job.error_kind or FailureKind.OPERATION_FAILED,
                         errors.OPERATION_FAILED)
    raise ApiError(code, job.error or "The operation failed", job_id=job.id)


def _runner(services: Services, bodies: Bodies, job_type: JobType
            ) -> Callable[..., Awaitable[Response]]:
    async def run(**path: str) -> Response:
        argument, label = await params.job_argument(
            job_type, path, services.settings.search.default_limit, synchronous=True)
        await services.operations.check(job_type, argument)
        return await run_sync(services, bodies,
                              services.operations.request(job_type, argument, label))

    return run


def register(app: QuartTrio, services: Services, bodies: Bodies) -> None:
    for job_type in catalogue.JOB_TYPES:
        if job_type.synchronous is None:
            continue
        method, path = job_type.synchronous
        app.route(f"{API}/{rule(path, job_type.argument)}", methods=[method],
                  endpoint=job_type.operation)(_runner(services, bodies, job_type))
