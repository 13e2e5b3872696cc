"""JSON bodies that can be large, encoded in a worker thread instead of on the event loop.

A job's result has no fixed size: an advanced query answers up to 100,000 rows, about
22 MB of JSON, which `json.dumps` takes about 300 ms to write. Written on the event loop,
that held every other request for as long (measured before this module: /health p99
263 ms while such a job was fetched, see docs/benchmarks.md). So a body that carries a
result, or a list of unbounded length, is encoded here in a worker thread; a job without
a result is encoded inline, where handing it to a thread would cost more than encoding it.

The encoding itself is written in pieces (`json_pieces`): the C encoder holds the GIL for
a whole call, so a worker thread encoding 22 MB in one call still held the loop 250 ms.

A job snapshot never changes once made (a new version is a new snapshot), so its encoded
resource is kept per (job id, version) within a count and a byte budget: the clients
polling or following one job share one encoding, and a finished job's result is encoded
once, not at every request.

Must never encode a result or an unbounded list on the event loop.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable, Iterable
from typing import Any, Final

import trio
from quart import Response

from colony_actor import json_pieces, threads
from colony_actor.jobs.lifecycle import Job
from colony_actor.jobs.runner import JobRunner

CACHE_ENTRIES: Final = 256
CACHE_BYTES: Final = 64 << 20
JSON: Final = "application/json"

Dumps = Callable[[Any], str]


class Bodies:
    """Encodes response bodies with `dumps` (the app's JSON settings: compact, keys in
    their order), off the loop where they can be large, and keeps encoded job resources."""

    def __init__(self, runner: JobRunner, dumps: Dumps, *, max_entries: int = CACHE_ENTRIES,
                 max_bytes: int = CACHE_BYTES) -> None:
        self._runner = runner
        self._dumps = dumps
        self._max_entries = max_entries
        self._max_bytes = max_bytes
        self._kept: OrderedDict[tuple[str, int], bytes] = OrderedDict()
        self._kept_bytes = 0
        # Encodings under way: the streams following one job all ask for its terminal
        # state at once, and must not encode its result once each.
        self._encoding: dict[tuple[str, int], trio.Event] = {}

    async def job(self, job: Job) -> bytes:
        """The job resource of API.md §2, its result included (read back if it was moved
        out of memory)."""
        key = (job.id, job.version)
        under_way = self._encoding.get(key)
        if under_way is not None:
            await under_way.wait()
        body = self._kept.get(key)
        if body is not None:
            return body
        if job.result is None and not job.result_offloaded:
            body = self._dumps(job.to_json()).encode()
            self._keep(key, body)
            return body
        done = self._encoding[key] = trio.Event()
        try:
            result = await self._runner.result_of(job)
            body = await threads.run_sync(self._encode_job, job, result)
            self._keep(key, body)
        finally:
            if self._encoding.get(key) is done:
                del self._encoding[key]
            done.set()
        return body

    async def job_response(self, job: Job) -> Response:
        """`{"job": ...}`, as GET /api/v1/jobs/{id} answers it."""
        return _response(await joined(b'{"job":', await self.job(job), b"}\n"))

    async def jobs_response(self, jobs: Iterable[Job], next_cursor: int | None) -> Response:
        """A page of the job list: `{"jobs": [...], "next_cursor": ...}`."""
        page = [(job, await self._runner.result_of(job)) for job in jobs]
        cursor = str(next_cursor) if next_cursor is not None else None

        def encode() -> bytes:
            return self._encode({"jobs": [_wire(job, result) for job, result in page],
                                 "next_cursor": cursor}) + b"\n"

        return _response(await threads.run_sync(encode))

    async def response(self, value: Any, status: int = 200) -> Response:
        """Any body, encoded in a worker thread."""
        return _response(await threads.run_sync(self._encode_line, value), status)

    def _encode(self, value: Any) -> bytes:
        return json_pieces.encode(value, self._dumps).encode()

    def _encode_line(self, value: Any) -> bytes:
        return (json_pieces.encode(value, self._dumps) + "\n").encode()

    def _encode_job(self, job: Job, result: Any) -> bytes:
        return self._encode(_wire(job, result))

    def _keep(self, key: tuple[str, int], body: bytes) -> None:
        if len(body) > self._max_bytes // 2:
            return  # kept, it would push out everything else (a waiter encodes it again)
        self._kept[key] = body
        self._kept_bytes += len(body)
        while len(self._kept) > self._max_entries or self._kept_bytes > self._max_bytes:
            _, dropped = self._kept.popitem(last=False)
            self._kept_bytes -= len(dropped)


def _wire(job: Job, result: Any) -> dict[str, Any]:
    wire = job.to_json()
    wire["result"] = result
    return wire


async def joined(*parts: bytes) -> bytes:
    """The parts as one body, joined in a worker thread when they are large."""
    if sum(len(part) for part in parts) <= threads.INLINE_MAX_BYTES:
        return b"".join(parts)
    return await threads.run_sync(b"".join, parts)


def _response(body: bytes, status: int = 200) -> Response:
    """A JSON response of an encoded body (ended with a newline, as `jsonify` does)."""
    return Response(body, status=status, mimetype=JSON)
