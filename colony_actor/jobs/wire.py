"""The job resource of API.md §2: what clients read of a job.

Seed fields first (`id` to `updated_at`), then the additive ones. Times are RFC 3339 in
UTC to the millisecond. Pure: it builds a dict from a snapshot; it must never encode
(large results are encoded off the event loop by the API) nor reach the result store (a
result moved out of memory is the caller's to put in).
"""

from __future__ import annotations

from typing import Any

from colony_actor.jobs.lifecycle import Job
from colony_actor.runtime.timestamps import wire


def job_resource(job: Job) -> dict[str, Any]:
    """The job as API.md §2 shows it, `result` as the snapshot holds it."""
    return {
        "id": job.id,
        "job_type": job.job_type,
        "status": job.status.value,
        "progress": job.progress,
        "message": job.message,
        "result": job.result,
        "error": job.error,
        "created_at": wire(job.created_at),
        "updated_at": wire(job.updated_at),
        "started_at": wire(job.started_at) if job.started_at else None,
        "finished_at": wire(job.finished_at) if job.finished_at else None,
        "version": job.version,
        "params": job.params,
    }
