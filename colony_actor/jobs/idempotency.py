"""Idempotency-Key: the same key with the same request answers with the job it started.

A key maps to the fingerprint of the request that first used it and the id of the job that
request started, for as long as that job is held; the same key with another request is
refused (IdempotencyKeyReused). The runner forgets a job's key when it drops the job. This
module never creates, reads or changes a job.
"""

from __future__ import annotations

from colony_actor.jobs.errors import IdempotencyKeyReused


class IdempotencyKeys:
    def __init__(self) -> None:
        self._jobs: dict[str, tuple[str, str]] = {}  # key -> (fingerprint, job id)
        self._key_of: dict[str, str] = {}  # job id -> its key

    def __len__(self) -> int:
        return len(self._jobs)

    def job_for(self, key: str | None, fingerprint: str) -> str | None:
        """The id of the job `key` started, None for a new key (or none); raises
        IdempotencyKeyReused if the key came with another request."""
        if key is None or key not in self._jobs:
            return None
        known, job_id = self._jobs[key]
        if known != fingerprint:
            raise IdempotencyKeyReused(
                f"Idempotency-Key {key!r} was already used with a different request")
        return job_id

    def remember(self, key: str | None, fingerprint: str, job_id: str) -> None:
        if key is not None:
            self._jobs[key] = (fingerprint, job_id)
            self._key_of[job_id] = key

    def forget(self, job_id: str) -> None:
        key = self._key_of.pop(job_id, None)
        if key is not None:
            self._jobs.pop(key, None)
