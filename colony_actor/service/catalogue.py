"""Binds each job type to a Colony call: the only module that knows both jobs and colony.

Each function answers a `JobRequest` whose operation calls the Colony facade, turns its
(done, total, message) progress into the runner's fraction, and turns domain errors into
`OperationError`s whose kind the HTTP layer understands. It must never touch job state.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable, Mapping
from typing import Any

from colony_actor.colony.errors import ColonyError, InvalidInput, PodNotFound, SearchTimeout
from colony_actor.colony.facade import Colony
from colony_actor.colony.sync.progress import ProgressReporter
from colony_actor.jobs.errors import FailureKind, OperationError
from colony_actor.jobs.runner import JobRequest, ProgressFn

REFRESH_CACHE = "refreshcache"
UPLOAD_ALL = "uploadall"
UPLOAD_POD = "uploadpod"
REFRESH_REF = "refreshref"
SEARCH = "search"
GET_SUBJECT_DATA = "getsubjectdata"


def _adapt(progress: ProgressFn) -> ProgressReporter:
    def report(done: int, total: int, message: str) -> None:
        progress(done / total if total > 0 else 0.0, message)

    return report


def _job(job_type: str, start_message: str, params: Mapping[str, Any],
         call: Callable[[ProgressReporter], Awaitable[Any]], *, queue: bool = False,
         idempotency_key: str | None = None, fingerprint: str = "") -> JobRequest:
    async def operation(progress: ProgressFn) -> Any:
        try:
            return await call(_adapt(progress))
        except InvalidInput as exc:
            raise OperationError(str(exc), FailureKind.INVALID_REQUEST) from exc
        except PodNotFound as exc:
            raise OperationError(str(exc), FailureKind.POD_NOT_FOUND) from exc
        except SearchTimeout as exc:
            raise OperationError(str(exc), FailureKind.TIMEOUT) from exc
        except ColonyError as exc:
            raise OperationError(str(exc)) from exc

    return JobRequest(job_type=job_type, operation=operation, start_message=start_message,
                      params=dict(params), queue=queue, idempotency_key=idempotency_key,
                      fingerprint=fingerprint or json.dumps([job_type, params], sort_keys=True))


class Operations:
    """Builds the job request for each operation of the seed (and upload_pod)."""

    def __init__(self, colony: Colony) -> None:
        self.colony = colony

    def refresh_cache(self, **options: Any) -> JobRequest:
        return _job(REFRESH_CACHE, "Cache refresh job started", {},
                    self.colony.refresh_cache, **options)

    def upload_all(self, **options: Any) -> JobRequest:
        return _job(UPLOAD_ALL, "Upload all job started", {}, self.colony.upload_all, **options)

    def upload_pod(self, pod: str, **options: Any) -> JobRequest:
        return _job(UPLOAD_POD, "Upload pod job started", {"pod": pod},
                    lambda progress: self.colony.upload_pod(pod, progress), **options)

    def refresh_ref(self, depth: int, **options: Any) -> JobRequest:
        return _job(REFRESH_REF, f"Refresh ref job started with depth {depth}", {"depth": depth},
                    lambda progress: self.colony.refresh_ref(depth, progress), **options)

    def search(self, query: Mapping[str, Any], label: str, **options: Any) -> JobRequest:
        return _job(SEARCH, f"Search job started for: {label}", {"query": dict(query)},
                    lambda progress: self.colony.search(query, progress), **options)

    def get_subject_data(self, subject: str, **options: Any) -> JobRequest:
        async def call(progress: ProgressReporter) -> Any:
            return await self.colony.get_subject_data(subject)

        return _job(GET_SUBJECT_DATA, f"Get subject data job started for: {subject}",
                    {"subject": subject}, call, **options)
