"""Builds the Quart-Trio app: the Host and Origin check, the bearer check, the JSON error
shape, and the routes of `api/routes/`. Given its services; it owns no task of its own
(the supervisor's nursery owns the runner), so it never serves in front of a dead actor."""

from __future__ import annotations

from typing import Any

import structlog
from quart import Response, request
from quart_trio import QuartTrio

from colony_actor.api import prefixes
from colony_actor.api.access_log import AccessLog
from colony_actor.api.capacity import Capacity, StreamCap
from colony_actor.api.encoding import Bodies
from colony_actor.api.errors import (
    INTERNAL_ERROR,
    UNAUTHORIZED,
    ApiError,
    from_exception,
    response_of,
)
from colony_actor.api.guard import HostGuard, served_hosts
from colony_actor.api.keepalive import KeepAliveGuard
from colony_actor.api.routes import events, jobs, pods, synchronous, system
from colony_actor.service.services import Services

log = structlog.get_logger("colony_actor.api")

LOOPBACK = frozenset({"127.0.0.1", "::1", "<local>"})


def create_app(services: Services) -> QuartTrio:
    app = QuartTrio("colony_actor")
    app.config["MAX_CONTENT_LENGTH"] = services.settings.server.max_body_bytes
    app.config["PROVIDE_AUTOMATIC_OPTIONS"] = False
    app.json.sort_keys = False  # type: ignore[attr-defined]
    # `ant://...` subjects in paths carry a double slash that must reach the handler.
    app.url_map.merge_slashes = False
    app.url_map.strict_slashes = False

    guard = HostGuard(served_hosts(services.settings.server))

    @app.before_request
    async def require_served_host_and_origin() -> None:
        guard.check(request.method, request.headers.get("Host"),
                    request.headers.get("Origin"))

    @app.before_request
    async def require_token() -> None:
        if request.path == "/metrics" and request.remote_addr not in LOOPBACK:
            pass  # metrics are public on loopback only; elsewhere they need a token
        elif not prefixes.needs_token(request.path) or services.settings.auth.public:
            return
        header = request.headers.get("Authorization", "")
        scheme, _, token = header.partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            raise ApiError(UNAUTHORIZED, "A bearer token is required "
                           "(POST /auth/token with the daemon's password)")
        if services.auth.verify(token.strip()) is None:
            raise ApiError(UNAUTHORIZED, "The bearer token is invalid or expired")

    @app.errorhandler(Exception)
    async def handle_error(exc: Exception) -> Response:
        api_error = from_exception(exc)
        if api_error is None:
            log.exception("unhandled_error", path=request.path)
            return response_of(ApiError(INTERNAL_ERROR, "Internal error; see the daemon's log"))
        response = response_of(api_error)
        if api_error.status == 401:
            response.headers["WWW-Authenticate"] = 'Bearer realm="colony-actor"'
        return response

    bodies = Bodies(services.runner, app.json.dumps)  # type: ignore[attr-defined]
    jobs.register(app, services, bodies)
    events.register(app, services, bodies)
    synchronous.register(app, services, bodies)
    pods.register(app, services, bodies)
    system.register(app, services)
    prefixes.add_aliases(app)
    return app


def asgi(services: Services, capacity: Capacity | None = None) -> Any:
    """The app wrapped in the keep-alive guard (and, given `capacity`, the event streams'
    cap) and the access log: what hypercorn serves."""
    quart = create_app(services)
    app: Any = quart
    if capacity is not None:
        app = StreamCap(app, capacity)
    return AccessLog(KeepAliveGuard(app, services.settings.server.max_body_bytes),
                     services.metrics, quart.url_map)
