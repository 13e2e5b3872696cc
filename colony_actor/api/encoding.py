"""JSON bodies that can be large, encoded in a worker thread instead of on the event loop.

A job's result has no fixed size: an advanced query answers up to 100,000 rows, over 20 MB
of JSON, which `json.dumps` takes hundreds of milliseconds to write; on the event loop that
would hold every other request as long. So a body that carries a result, a list of
unbounded length or a large parameter is encoded here in a worker thread; a small job
resource is encoded inline, where handing it to a thread would cost more than encoding it.
The encoding itself is written in pieces (`json_pieces`): the C encoder holds the GIL for
a whole call, so even from a worker thread one call on a large body would stall the loop.

A result moved out of memory is spliced in as the JSON text SQLite cuts out of the job
journal (`json_pieces.Raw`, as bytes), not rebuilt as Python objects: parsing it back
would hold the GIL about as long as encoding it.

A job snapshot never changes once made (a new version is a new snapshot, and a result
moved out of memory reads back as the same JSON), so its encoded resource is kept per
(job id, version) within a count and a byte budget, most recently used last: the clients
polling or following one job share one encoding, made once however many ask at once.

Must never encode a result, an unbounded list or a large parameter on the event loop.
"""

from __future__ import annotations

import functools
from collections import OrderedDict
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any, Final

import trio
from quart import Response

from colony_actor.jobs.lifecycle import Job
from colony_actor.jobs.runner import JobRunner
from colony_actor.jobs.wire import job_resource
from colony_actor.runtime import json_pieces, threads

CACHE_ENTRIES: Final = 256
CACHE_BYTES: Final = 64 << 20
# Large encodings at once: each holds a few copies of its body until it is sent.
ENCODERS: Final = 2
# A job resource is encoded inline only while its parameters and message stay under this
# (a search's parameters hold its whole query, up to a request body's size).
INLINE_JOB_BYTES: Final = 16 << 10
JSON: Final = "application/json"


@dataclass(frozen=True)
class BodiesStatistics:
    """What `Bodies` holds: encoded job resources kept, their bytes, encodings under way."""

    kept: int
    kept_bytes: int
    encoding: int


@dataclass
class _Encoding:
    """An encoding under way, and its body once made (kept or not)."""

    done: trio.Event = field(default_factory=trio.Event)
    body: bytes | None = None


class Bodies:
    """Encodes response bodies with the app's `dumps` (its defaults for dates and the
    like), compact, non-ASCII text escaped (a result's SPARQL JSON text, json_pieces.Raw,
    goes in as the UTF-8 it is), and keeps encoded job resources."""

    def __init__(self, runner: JobRunner, dumps: Callable[..., str], *,
                 max_entries: int = CACHE_ENTRIES, max_bytes: int = CACHE_BYTES) -> None:
        self._runner = runner
        # What json_pieces needs: compact, keys in their order, ASCII.
        self._dumps: json_pieces.Dumps = functools.partial(
            dumps, separators=(",", ":"), sort_keys=False, ensure_ascii=True)
        self._max_entries = max_entries
        self._max_bytes = max_bytes
        self._kept: OrderedDict[tuple[str, int], bytes] = OrderedDict()
        self._kept_bytes = 0
        self._encoding: dict[tuple[str, int], _Encoding] = {}
        self._limiter = trio.CapacityLimiter(ENCODERS)

    async def job(self, job: Job) -> bytes:
        """The job resource of API.md §2, its result included (read back if it was moved
        out of memory)."""
        key = (job.id, job.version)
        while (under_way := self._encoding.get(key)) is not None:
            await under_way.done.wait()
            if under_way.body is not None:
                return under_way.body
        body = self._kept.get(key)
        if body is not None:
            self._kept.move_to_end(key)
            return body
        if job.result is None and not job.result_offloaded and _small(job):
            body = self._dumps(job_resource(job)).encode("ascii")
            self._keep(key, body)
            return body
        encoding = self._encoding[key] = _Encoding()
        try:
            result = await self.result(job)
            encoding.body = await self._encoded(functools.partial(_wire, job, result), end="")
            self._keep(key, encoding.body)
        finally:
            del self._encoding[key]
            encoding.done.set()
        return encoding.body

    def statistics(self) -> BodiesStatistics:
        return BodiesStatistics(kept=len(self._kept), kept_bytes=self._kept_bytes,
                                encoding=len(self._encoding))

    async def result(self, job: Job) -> Any:
        """The job's result to encode: as the JSON text the journal stored when it was
        moved out of memory (never rebuilt as Python objects), else as it is."""
        stored = await self._runner.result_json_of(job)
        return json_pieces.Raw(stored) if stored is not None else await self._runner.result_of(job)

    async def job_response(self, job: Job) -> Response:
        """`{"job": ...}`, as GET /api/v1/jobs/{id} answers it."""
        return _response(await joined(b'{"job":', await self.job(job), b"}\n"))

    async def jobs_response(self, jobs: Iterable[Job], next_cursor: int | None) -> Response:
        """A page of the job list: `{"jobs": [...], "next_cursor": ...}`."""
        parts = [b'{"jobs":[']
        for number, job in enumerate(jobs):
            if number:
                parts.append(b",")
            parts.append(await self.job(job))
        cursor = self._dumps(str(next_cursor) if next_cursor is not None else None)
        parts += [b'],"next_cursor":', cursor.encode("ascii"), b"}\n"]
        return _response(await joined(*parts))

    async def response(self, value: Any) -> Response:
        """Any body, encoded in a worker thread."""
        return _response(await self._encoded(lambda: value))

    async def response_of(self, build: Callable[[], Any]) -> Response:
        """The body `build()` makes (a list of every pod, say), built and encoded in a
        worker thread."""
        return _response(await self._encoded(build))

    async def _encoded(self, build: Callable[[], Any], end: str = "\n") -> bytes:
        def encode() -> bytes:
            return json_pieces.encode_bytes(build(), self._dumps, end)

        return await threads.run_sync(encode, limiter=self._limiter)

    def _keep(self, key: tuple[str, int], body: bytes) -> None:
        if len(body) > self._max_bytes // 2:
            return  # kept, it would push out everything else
        dropped = self._kept.pop(key, None)
        if dropped is not None:
            self._kept_bytes -= len(dropped)
        self._kept[key] = body
        self._kept_bytes += len(body)
        while self._kept and (len(self._kept) > self._max_entries
                              or self._kept_bytes > self._max_bytes):
            _, dropped = self._kept.popitem(last=False)
            self._kept_bytes -= len(dropped)


def _wire(job: Job, result: Any) -> dict[str, Any]:
    wire = job_resource(job)
    wire["result"] = result
    return wire


def _small(job: Job) -> bool:
    """Whether a job's parameters and message are small enough to encode inline: their
    text is measured, stopping as soon as the budget is spent."""
    budget = INLINE_JOB_BYTES - len(job.message)
    pending: list[Any] = [job.params]
    while pending and budget > 0:
        value = pending.pop()
        if isinstance(value, str):
            budget -= len(value)
        elif isinstance(value, dict):
            budget -= len(value)
            pending.extend(value.keys())
            pending.extend(value.values())
        elif isinstance(value, list | tuple):
            budget -= len(value)
            pending.extend(value)
        else:
            budget -= 8
    return budget > 0


async def joined(*parts: bytes) -> bytes:
    """The parts as one body, joined in a worker thread when they are large."""
    return await threads.run_sized(sum(len(part) for part in parts), b"".join, parts)


def _response(body: bytes) -> Response:
    """A JSON response of an encoded body."""
    return Response(body, mimetype=JSON)
