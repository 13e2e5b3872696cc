"""What the runner answers instead of a job: refusals a caller can act on.

Each carries a user-facing sentence; the HTTP layer maps the class to a status code.
"""

from __future__ import annotations

from enum import StrEnum


class FailureKind(StrEnum):
    """Why a job ended without a result; callers map it (a 400, a 504...) without parsing
    the job's error sentence."""

    OPERATION_FAILED = "operation_failed"  # the operation raised: the error says why
    INVALID_REQUEST = "invalid_request"  # input the operation refused
    POD_NOT_FOUND = "pod_not_found"
    TIMEOUT = "timeout"  # the job type's time limit, or the search's own
    INTERRUPTED = "interrupted"  # the daemon stopped before the job finished
    CANCELLED = "cancelled"  # a client asked


class RunnerError(Exception):
    """Base of every refusal the runner sends back to a caller."""


class JobNotFound(RunnerError):
    def __init__(self, job_id: str) -> None:
        super().__init__(f"Job with ID {job_id} not found")
        self.job_id = job_id


class JobConflict(RunnerError):
    """Another operation is running (or the queue is full): nothing was created."""


class JobNotCancellable(RunnerError):
    def __init__(self, job_id: str, message: str) -> None:
        super().__init__(message)
        self.job_id = job_id


class IdempotencyKeyReused(RunnerError):
    """An Idempotency-Key seen before with a different request."""


class ShuttingDown(RunnerError):
    """The daemon is stopping and takes no new jobs."""


class NotRecorded(RunnerError):
    """The journal did not write a new job in time: the job failed without running."""

    def __init__(self, seconds: float) -> None:
        super().__init__(f"The job journal did not record the job within {seconds:g} "
                         f"seconds, so it was not started; the daemon's log says why")


class OperationError(Exception):
    """Raised by an operation to fail its job with a chosen kind and a readable message.

    `kind` lets callers tell failures apart without parsing text, e.g. INVALID_REQUEST
    for input the operation refused (a 400 on the legacy synchronous routes).
    """

    def __init__(self, message: str,
                 kind: FailureKind = FailureKind.OPERATION_FAILED) -> None:
        super().__init__(message)
        self.kind = kind
