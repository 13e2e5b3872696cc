"""Builds the Quart-Trio app: the bearer check, the JSON error shape, and the routes of
`api/routes/`. Given its services; it owns no task of its own (the supervisor's nursery
owns the runner), so it never serves in front of a dead actor."""

from __future__ import annotations

from typing import Any

import structlog
from quart import Response, request
from quart_trio import QuartTrio

from colony_actor.api.access_log import AccessLog
from colony_actor.api.capacity import Capacity, StreamCap
from colony_actor.api.encoding import Bodies
from colony_actor.api.errors import ApiError, error_response, from_exception
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

    @app.before_request
    async def require_token() -> None:
        if request.path == "/metrics" and request.remote_addr not in LOOPBACK:
            pass  # metrics are public on loopback only; elsewhere they need a token
        elif not request.path.startswith("/api/v1") or services.settings.auth.public:
            return
        header = request.headers.get("Authorization", "")
        scheme, _, token = header.partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            raise ApiError("UNAUTHORIZED", 401, "A bearer token is required "
                           "(POST /auth/token with the daemon's password)")
        if services.auth.verify(token.strip()) is None:
            raise ApiError("UNAUTHORIZED", 401, "The bearer token is invalid or expired")

    @app.errorhandler(Exception)
    async def handle_error(exc: Exception) -> Response:
        api_error = from_exception(exc)
        if api_error is None:
            log.exception("unhandled_error", path=request.path)
            return error_response("INTERNAL_ERROR", 500, "Internal error; see the daemon's log")
        response = error_response(api_error.code, api_error.status, api_error.message,
                                  **api_error.extra)
        if api_error.status == 401:
            response.headers["WWW-Authenticate"] = 'Bearer realm="colony-actor"'
        if api_error.code == "JOB_NOT_COMPLETED":
            response.headers["Retry-After"] = "1"
        if api_error.retry_after is not None:
            response.headers["Retry-After"] = str(api_error.retry_after)
        return response

    bodies = Bodies(services.runner, app.json.dumps)  # type: ignore[attr-defined]
    jobs.register(app, services, bodies)
    events.register(app, services, bodies)
    synchronous.register(app, services, bodies)
    pods.register(app, services, bodies)
    system.register(app, services)
    return app


def asgi(services: Services, capacity: Capacity | None = None) -> Any:
    """The app wrapped in the access log (and, given `capacity`, the event streams' cap):
    what hypercorn serves."""
    app: Any = create_app(services)
    if capacity is not None:
        app = StreamCap(app, capacity)
    return AccessLog(app, services.metrics)
