"""How many connections and event streams the daemon serves at once: the caps (derived from
the descriptor limit unless configured), the counts, the refusals, and the answer beyond a
cap: 503 OVERLOADED with Retry-After, in the error shape of API.md §1.

Every connection holds a descriptor, idle keep-alive ones included, so connections are
counted where they are accepted (`daemon/listener.py`), not per request. Event streams are
counted here, by the ASGI middleware `StreamCap`, for as long as the app serves one. The caps
leave a reserve of descriptors free so that the store, the job journal, the full-text index
and the network never fail to open a file however many clients connect.

This module never blocks, never logs and holds no descriptor of its own.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass

from colony_actor.api import request_log
from colony_actor.api.access_log import ASGIApp, Receive, Scope, Send
from colony_actor.api.errors import OVERLOADED
from colony_actor.api.routes import COLONYD_API
from colony_actor.api.routes.jobs import JOBS
from colony_actor.runtime import timestamps
from colony_actor.service.metrics import Metrics

CODE = OVERLOADED.name
RETRY_AFTER_SECONDS = 1
# Refused connections answered unhurried at once; each holds its descriptor for up to a
# second. Beyond them a refused connection is answered and closed on the spot.
REFUSING_MAX = 16
# Descriptors always left free at the cap, however low the limit: the store's table files,
# the journal and index (SQLite, WAL), network transfers, the query worker's pipes.
MIN_RESERVE = 64
# The derived connection cap never goes higher: past a few thousand connections memory,
# not descriptors, is what runs out.
DERIVED_CEILING = 4096

_EVENTS = re.compile(f"(?:{re.escape(JOBS)}|{re.escape(COLONYD_API)}/jobs)" + r"/[^/]+/events")


@dataclass(frozen=True)
class Limits:
    """The caps, and what they leave: `reserve` is the descriptors still free with every
    connection slot taken (None when the limit is unknown or unlimited); `lowered` says a
    configured cap was lowered to keep the reserve."""

    connections: int
    streams: int
    reserve: int | None = None
    lowered: bool = False


def derive(soft_limit: int | None, open_now: int | None, max_connections: int = 0,
           max_streams: int = 0) -> Limits:
    """The caps for a process allowed `soft_limit` descriptors that holds `open_now` with
    its store, journal and index open. 0 means derived: half of the free descriptors, less
    the refusals' slots, at most DERIVED_CEILING; the other half, and at least MIN_RESERVE,
    stays free. A configured cap above that is lowered to it. Streams: a quarter of the
    connections unless configured, never more than the connections."""
    if soft_limit is None or soft_limit <= 0:
        budget = None
    else:
        free = soft_limit - (open_now or 0)
        budget = max(1, free - max(MIN_RESERVE, free // 2) - REFUSING_MAX)
    if max_connections <= 0:
        connections = min(budget or DERIVED_CEILING, DERIVED_CEILING)
    else:
        connections = max_connections if budget is None else min(max_connections, budget)
    streams = max_streams if max_streams > 0 else max(1, connections // 4)
    reserve = None
    if soft_limit is not None and soft_limit > 0:
        reserve = soft_limit - (open_now or 0) - connections - REFUSING_MAX
    return Limits(connections, min(streams, connections), reserve,
                  lowered=connections < max_connections)


@dataclass(frozen=True)
class CapacityStatistics:
    connections: int
    max_connections: int
    streams: int
    max_streams: int
    refusing: int
    refused_connections: int
    refused_streams: int


class Capacity:
    """The counts against the caps. `take_*` is True when a slot was free (and takes it),
    False when the caller must refuse (and counts the refusal); `release_*` gives it back."""

    def __init__(self, limits: Limits, metrics: Metrics | None = None) -> None:
        self.limits = limits
        self._metrics = metrics
        self._connections = 0
        self._streams = 0
        self._refusing = 0
        self._refused = {"connection": 0, "stream": 0}
        if metrics is not None:
            metrics.connections_max.set(limits.connections)
            metrics.streams_max.set(limits.streams)

    def take_connection(self) -> bool:
        if self._connections >= self.limits.connections:
            self._count_refusal("connection")
            return False
        self._connections += 1
        self._show()
        return True

    def release_connection(self) -> None:
        self._connections -= 1
        self._show()

    def take_stream(self) -> bool:
        if self._streams >= self.limits.streams:
            self._count_refusal("stream")
            return False
        self._streams += 1
        self._show()
        return True

    def release_stream(self) -> None:
        self._streams -= 1
        self._show()

    def take_refusal(self) -> bool:
        """A slot to answer a refused connection unhurried (see REFUSING_MAX)."""
        if self._refusing >= REFUSING_MAX:
            return False
        self._refusing += 1
        return True

    def release_refusal(self) -> None:
        self._refusing -= 1

    def statistics(self) -> CapacityStatistics:
        return CapacityStatistics(
            connections=self._connections, max_connections=self.limits.connections,
            streams=self._streams, max_streams=self.limits.streams, refusing=self._refusing,
            refused_connections=self._refused["connection"],
            refused_streams=self._refused["stream"])

    def message(self, kind: str) -> str:
        if kind == "stream":
            return (f"The daemon serves at most {self.limits.streams} event streams at once; "
                    f"retry in a moment, or poll GET {JOBS}/{{id}}?wait=30")
        return (f"The daemon serves at most {self.limits.connections} connections at once; "
                "retry in a moment")

    def _count_refusal(self, kind: str) -> None:
        self._refused[kind] += 1
        if self._metrics is not None:
            self._metrics.refused.labels(kind).inc()

    def _show(self) -> None:
        if self._metrics is not None:
            self._metrics.connections.set(self._connections)
            self._metrics.streams.set(self._streams)


def overloaded_body(message: str) -> bytes:
    return json.dumps({"error": CODE, "message": message, "timestamp": timestamps.now_wire()},
                      separators=(",", ":")).encode()


def overloaded_headers(body: bytes) -> list[tuple[bytes, bytes]]:
    return [(b"content-type", b"application/json"),
            (b"content-length", str(len(body)).encode()),
            (b"retry-after", str(RETRY_AFTER_SECONDS).encode())]


def overloaded_response(message: str) -> bytes:
    """The whole HTTP/1.1 answer to a connection refused before any request was read."""
    body = overloaded_body(message)
    head = [b"HTTP/1.1 503 Service Unavailable"]
    head += [name + b": " + value for name, value in overloaded_headers(body)]
    head.append(b"connection: close")
    return b"\r\n".join(head) + b"\r\n\r\n" + body


class StreamCap:
    """ASGI middleware: holds a stream slot for as long as the app serves
    `GET /api/v1/jobs/{id}/events`; with none free, answers 503 OVERLOADED itself."""

    def __init__(self, app: ASGIApp, capacity: Capacity) -> None:
        self.app = app
        self.capacity = capacity

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if (scope["type"] != "http" or scope["method"] != "GET"
                or not _EVENTS.fullmatch(scope["path"])):
            await self.app(scope, receive, send)
            return
        if not self.capacity.take_stream():
            request_log.note_error(CODE)
            body = overloaded_body(self.capacity.message("stream"))
            await send({"type": "http.response.start", "status": 503,
                        "headers": overloaded_headers(body)})
            await send({"type": "http.response.body", "body": body})
            return
        try:
            await self.app(scope, receive, send)
        finally:
            self.capacity.release_stream()
