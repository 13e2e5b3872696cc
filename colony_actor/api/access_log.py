"""ASGI middleware: one structured log event per HTTP request (method, path, route
template, status, duration, and its request id, the job it created, the error code it
answered), plus the request metrics of /metrics. The request id is bound to structlog's
context for the whole request, so every line logged while serving it carries it, and it is
returned in the `X-Request-ID` response header. It must never log headers or bodies (they
carry tokens and passwords)."""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

import structlog
from werkzeug.exceptions import HTTPException
from werkzeug.routing import Map

from colony_actor.api import request_log
from colony_actor.service.metrics import Metrics

log = structlog.get_logger("colony_actor.http")

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]
RouteOf = Callable[[str, str], str | None]

_HEADER = request_log.HEADER.lower().encode("ascii")


def routes_of(url_map: Map) -> RouteOf:
    """The route template (`/api/v1/jobs/<job_id>`) a method and path match, or None."""
    adapter = url_map.bind("colony-actor")

    def route_of(method: str, path: str) -> str | None:
        try:
            rule, _ = adapter.match(path, method, return_rule=True)
        except HTTPException:  # no such route (404), or not with this method (405)
            return None
        except Exception:  # a redirect the app would answer, or a path werkzeug refuses
            return None
        return str(rule.rule)

    return route_of


def _header(scope: Scope, name: bytes) -> bytes | None:
    for key, value in scope.get("headers", ()):
        if key.lower() == name:
            return bytes(value)
    return None


class AccessLog:
    def __init__(self, app: ASGIApp, metrics: Metrics | None = None,
                 url_map: Map | None = None) -> None:
        """`url_map`: the app's routes, to name each request's route template."""
        self.app = app
        self.metrics = metrics
        self.route_of = routes_of(url_map) if url_map is not None else None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = 500  # what the client sees if the app dies before answering
        request_id = request_log.request_id_from(_header(scope, _HEADER))

        async def logged_send(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = int(message["status"])
                headers = [(k, v) for k, v in message.get("headers", ()) if k.lower() != _HEADER]
                headers.append((_HEADER, request_id.encode("ascii")))
                message = {**message, "headers": headers}
            await send(message)

        with structlog.contextvars.bound_contextvars(request_id=request_id), \
                request_log.notes(request_id) as notes:
            try:
                await self.app(scope, receive, logged_send)
            finally:
                duration = time.perf_counter() - started
                route = (self.route_of(scope["method"], scope["path"])
                         if self.route_of is not None else None)
                fields: dict[str, Any] = {}
                if notes.job_id is not None:
                    fields["job_id"] = notes.job_id
                if notes.error_code is not None:
                    fields["error"] = notes.error_code
                log.info("http_request", method=scope["method"], path=scope["path"],
                         route=route, status=status, duration_ms=round(duration * 1000, 3),
                         **fields)
                if self.metrics is not None:
                    self.metrics.observe_request(scope["method"], route, status, duration,
                                                 notes.error_code)
