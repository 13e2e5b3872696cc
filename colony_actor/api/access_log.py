"""ASGI middleware: one structured log event per HTTP request (method, path, status,
duration), plus the request counters of /metrics. It must never log headers or bodies
(they carry tokens and passwords)."""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

import structlog

from colony_actor.service.metrics import Metrics

log = structlog.get_logger("colony_actor.http")

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]


class AccessLog:
    def __init__(self, app: ASGIApp, metrics: Metrics | None = None) -> None:
        self.app = app
        self.metrics = metrics

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = 500  # what the client sees if the app dies before answering

        async def logged_send(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = int(message["status"])
            await send(message)

        try:
            await self.app(scope, receive, logged_send)
        finally:
            duration = time.perf_counter() - started
            log.info("http_request", method=scope["method"], path=scope["path"],
                     status=status, duration_ms=round(duration * 1000, 3))
            if self.metrics is not None:
                self.metrics.observe_request(scope["method"], status, duration)
