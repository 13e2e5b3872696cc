"""The exceptions the Colony domain raises, each meaning one kind of failure.

The HTTP layer maps them to status codes; nothing here knows about HTTP.
"""

from __future__ import annotations


class ColonyError(Exception):
    """Base of every domain error; `str(err)` is a sentence fit for a user."""


class InvalidInput(ColonyError):
    """The caller's input is wrong (bad JSON-LD, bad IRI, unknown search type...): a 400."""


class SearchTimeout(ColonyError):
    """A search that ran past its time bound."""


class IndexNotReady(SearchTimeout):
    """A search that ran past its time bound waiting for the full-text index, still being
    built after a start: the message says how far it got."""


class PodNotFound(ColonyError):
    """A pod name or address that does not resolve to a pod: a 404."""


class WrongPassword(ColonyError):
    """The key store could not be decrypted with the given password."""


class StorageError(ColonyError):
    """The data directory's storage failed; nothing was written (each store write is one
    transaction)."""


class StorageFull(StorageError):
    """The filesystem of the data directory is out of space: a 507."""


class StorageUnavailable(StorageError):
    """Storage failing for another reason (an I/O error, no descriptor, a store being
    reopened): a 503. `retry_after`: seconds after which a retry may succeed."""

    def __init__(self, message: str, retry_after: int | None = None) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class NetworkError(ColonyError):
    """A network read or write failed (unreachable, rejected, corrupt record)."""


class StaleCounter(NetworkError):
    """A write whose counter is not above the stored record's counter."""


class BadSignature(NetworkError):
    """A record whose signature does not verify against its address."""


class UploadFailed(ColonyError):
    """Some pods failed to upload; the others did upload and left the update list."""

    def __init__(self, failed: dict[str, str], uploaded: list[str]) -> None:
        self.failed = dict(failed)
        self.uploaded = list(uploaded)
        names = ", ".join(sorted(self.failed))
        super().__init__(f"Failed to upload {len(self.failed)} pod(s): {names}")
