"""The routes around the API: /auth/token, /health, /metrics and /openapi.json (API.md §6).
They read the services; none of them starts or changes a job. /health answers 200 while
degraded (service/health.py): the daemon still serves, and says what fails."""

from __future__ import annotations

import math

from quart import Response, jsonify, request
from quart_trio import QuartTrio

from colony_actor import __version__
from colony_actor.api import params
from colony_actor.api.errors import TOO_MANY_REQUESTS, UNAUTHORIZED, ApiError
from colony_actor.api.openapi import document as openapi_document
from colony_actor.runtime import timestamps
from colony_actor.service import health as condition
from colony_actor.service.services import Services
from colony_actor.service.tokens import LoginThrottled, WrongPassword


def register(app: QuartTrio, services: Services) -> None:
    @app.post("/auth/token")
    async def issue_token() -> Response:
        body = await params.json_object("password")
        try:
            token = services.auth.login(body["password"], request.remote_addr or "")
        except LoginThrottled as exc:
            raise ApiError(TOO_MANY_REQUESTS, str(exc),
                           headers={"Retry-After": str(math.ceil(exc.retry_after))},
                           retry_after=math.ceil(exc.retry_after)) from None
        except WrongPassword:
            raise ApiError(UNAUTHORIZED, "Wrong password") from None
        return jsonify({"token": token, "expires_in": services.auth.ttl_seconds,
                        "token_type": "Bearer"})

    @app.get("/health")
    async def health() -> Response:
        state = condition.assess(services.colony, services.journal)
        body: dict[str, object] = {"status": state.status, "timestamp": timestamps.now_wire(),
                                   "version": __version__,
                                   "runner": "busy" if services.runner.busy else "idle"}
        if state.reasons:
            body.update(reasons=list(state.reasons), messages=list(state.messages))
        index = condition.search_index(services.colony)
        if index is not None:
            body["search_index"] = index
        return jsonify(body)

    @app.get("/metrics")
    async def metrics() -> Response:
        services.metrics.retained.set(len(services.runner))
        services.metrics.observe_health(condition.assess(services.colony, services.journal),
                                        services.colony.storage().reopens)
        return Response(services.metrics.render(), mimetype="text/plain; version=0.0.4")

    @app.get("/openapi.json")
    async def openapi() -> Response:
        return jsonify(openapi_document(app))
