"""Running one operation: its cancel scope and time limit, and what its end means for the job.

An operation is any async callable taking a progress reporter. `perform` runs it inside
the cancel scope the actor made for it and says how it ended (an Outcome), turning the
operation's exceptions into a readable error; `conclusion` turns that Outcome, and the
reason the actor cancelled it if it did, into the lifecycle event the actor applies.
This module must never change a job or any of the runner's state: it runs in the
operation's task, and only the actor's task writes.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

import structlog
import trio

from colony_actor.jobs.errors import FailureKind, OperationError
from colony_actor.jobs.lifecycle import Event

log = structlog.get_logger("colony_actor.jobs")

ProgressFn = Callable[[float, str], None]
Operation = Callable[[ProgressFn], Awaitable[Any]]

INTERRUPTED = "Interrupted: the daemon stopped before the job finished"
CANCELLED = "Cancelled by request"


class StopReason(StrEnum):
    """Why the actor cancelled a running operation (a deadline needs no reason)."""

    CANCEL = "cancel"  # a client asked
    INTERRUPT = "interrupt"  # the daemon is stopping


@dataclass
class Running:
    """The running job's handles. Held, and changed, by the actor only."""

    job_id: str
    scope: trio.CancelScope
    limit: float | None  # the job type's time limit in seconds, if it has one
    reason: StopReason | None = None

    @classmethod
    def start(cls, job_id: str, limit: float | None) -> Running:
        scope = trio.CancelScope()
        if limit is not None:
            scope.deadline = trio.current_time() + limit
        return cls(job_id, scope, limit)


@dataclass(frozen=True)
class Outcome:
    """How an operation ended: its result, or its error, or cancelled (by the actor or its
    deadline: the actor knows which)."""

    result: Any = None
    error: str | None = None
    error_kind: FailureKind | None = None
    cancelled: bool = False


async def perform(operation: Operation, report: ProgressFn, scope: trio.CancelScope, *,
                  job_id: str, job_type: str) -> Outcome:
    """Run the operation in `scope`. Any Exception it raises becomes a failed Outcome; a
    BaseException that is not its scope's cancellation propagates."""
    try:
        with scope:
            result = await operation(report)
    except OperationError as exc:
        return Outcome(error=str(exc), error_kind=exc.kind)
    except Exception as exc:
        log.exception("job_operation_crashed", job_id=job_id, job_type=job_type)
        return Outcome(error=_readable(exc), error_kind=FailureKind.OPERATION_FAILED)
    if scope.cancelled_caught:
        return Outcome(cancelled=True)
    return Outcome(result=result)


def conclusion(running: Running, outcome: Outcome) -> tuple[Event, dict[str, Any]]:
    """The lifecycle event that ends the job, with its changes."""
    if outcome.cancelled:
        match running.reason:
            case StopReason.CANCEL:
                return Event.CANCEL, {"error": CANCELLED, "error_kind": FailureKind.CANCELLED}
            case StopReason.INTERRUPT:
                return Event.FAIL, {"error": INTERRUPTED,
                                    "error_kind": FailureKind.INTERRUPTED}
            case None:
                return Event.FAIL, {"error": f"Timed out after {running.limit:g} seconds",
                                    "error_kind": FailureKind.TIMEOUT}
    if outcome.error is not None:
        return Event.FAIL, {"error": outcome.error, "error_kind": outcome.error_kind}
    return Event.COMPLETE, {"result": outcome.result,
                            "message": _completion_message(outcome.result)}


def _completion_message(result: Any) -> str | None:
    if isinstance(result, Mapping) and isinstance(result.get("message"), str):
        return str(result["message"])
    return "Completed"


def _readable(exc: BaseException) -> str:
    if isinstance(exc, BaseExceptionGroup):
        return "; ".join(_readable(inner) for inner in exc.exceptions)
    text = str(exc)
    return text if text else f"{type(exc).__name__} in the operation"
