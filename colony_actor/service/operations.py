"""Binds each job type of the catalogue to a Colony call: the one module that knows both
the job engine and the Colony domain.

`Operations.check` refuses, before a job is created, an argument its job would fail on;
`Operations.request` answers a `JobRequest` whose operation calls the Colony facade, turns
its (done, total, message) progress into the runner's fraction, and turns domain errors
into `OperationError`s whose kind the HTTP layer understands. It must never touch job
state.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable, Mapping
from typing import Any, Final

from colony_actor.colony.errors import ColonyError, InvalidInput, PodNotFound, SearchTimeout
from colony_actor.colony.facade import Colony
from colony_actor.colony.sync.progress import ProgressReporter
from colony_actor.colony.vocab import check_iri, normalize_subject
from colony_actor.jobs.errors import FailureKind, OperationError
from colony_actor.jobs.runner import JobRequest, ProgressFn
from colony_actor.service import catalogue
from colony_actor.service.catalogue import JobType

Call = Callable[[ProgressReporter], Awaitable[Any]]
# (the colony, the job's argument) -> the call that does the job's work
Binding = Callable[[Colony, Any], Call]


def _subject_data(colony: Colony, subject: str) -> Call:
    async def call(progress: ProgressReporter) -> Any:
        return await colony.get_subject_data(subject)

    return call


BINDINGS: Final[Mapping[str, Binding]] = {
    catalogue.REFRESH_CACHE.name: lambda colony, _: colony.refresh_cache,
    catalogue.UPLOAD_ALL.name: lambda colony, _: colony.upload_all,
    catalogue.UPLOAD_POD.name:
        lambda colony, pod: lambda progress: colony.upload_pod(pod, progress),
    catalogue.REFRESH_REF.name:
        lambda colony, depth: lambda progress: colony.refresh_ref(depth, progress),
    catalogue.SEARCH.name:
        lambda colony, query: lambda progress: colony.search(query, progress),
    catalogue.GET_SUBJECT_DATA.name: _subject_data,
}


Check = Callable[[Colony, Any], Awaitable[None]]


async def _check_subject(colony: Colony, subject: str) -> None:
    normalize_subject(subject)


async def _check_search(colony: Colony, query: Mapping[str, Any]) -> None:
    for member in ("type_uri", "predicate_uri"):
        if member in query:
            check_iri(query[member], member)
    await colony.check_search(query)


# What can be told wrong about a job's argument before the job exists. Each check may be
# async: one that needs the store (does the pod exist?) or the SPARQL parser fits here too.
CHECKS: Final[Mapping[str, Check]] = {
    catalogue.GET_SUBJECT_DATA.name: _check_subject,
    catalogue.SEARCH.name: _check_search,
}


def _adapt(progress: ProgressFn) -> ProgressReporter:
    def report(done: int, total: int, message: str) -> None:
        progress(done / total if total > 0 else 0.0, message)

    return report


def _operation(call: Call) -> Callable[[ProgressFn], Awaitable[Any]]:
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

    return operation


class Operations:
    """Builds the job request of each job type against one Colony."""

    def __init__(self, colony: Colony) -> None:
        self.colony = colony

    async def check(self, job_type: JobType, argument: Any = None) -> None:
        """Refuse (InvalidInput, PodNotFound) an argument a `job_type` job would fail on,
        before the job is created; a type without a check takes any argument."""
        check = CHECKS.get(job_type.name)
        if check is not None:
            await check(self.colony, argument)

    def request(self, job_type: JobType, argument: Any = None, label: str | None = None, *,
                queue: bool = False, idempotency_key: str | None = None,
                fingerprint: str = "") -> JobRequest:
        """The request of a `job_type` job on `argument`, shown in its start message as
        `label` (by default as itself); its `params`, what it was asked, name the argument."""
        params: dict[str, Any] = {}
        if job_type.argument is not None:
            params[job_type.argument.value] = (dict(argument) if isinstance(argument, Mapping)
                                               else argument)
        call = BINDINGS[job_type.name](self.colony, argument)
        message = job_type.message(str(argument) if label is None else label)
        return JobRequest(
            job_type=job_type.name, operation=_operation(call), start_message=message,
            params=params, queue=queue, idempotency_key=idempotency_key,
            fingerprint=fingerprint or json.dumps([job_type.name, params], sort_keys=True))
