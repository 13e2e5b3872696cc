"""The bearer check, /auth/token, /health, and the JSON error shape for every failure."""

from __future__ import annotations

import jwt

from colony_actor.service.tokens import ISSUER
from tests.support import PASSWORD, SECRET, Harness


def assert_error(body: dict[str, object], code: str) -> None:
    assert body["error"] == code
    assert isinstance(body["message"], str) and body["message"]
    assert isinstance(body["timestamp"], str) and body["timestamp"].endswith("Z")


async def test_token_round_trip(harness: Harness) -> None:
    client = harness.app.test_client()
    response = await client.post("/auth/token", json={"password": PASSWORD})
    assert response.status_code == 200
    body = await response.get_json()
    assert body["token_type"] == "Bearer" and body["expires_in"] == 3600
    ok = await client.get("/api/v1/jobs", headers={"Authorization": f"Bearer {body['token']}"})
    assert ok.status_code == 200


async def test_wrong_password_and_bad_bodies(harness: Harness) -> None:
    client = harness.app.test_client()
    wrong = await client.post("/auth/token", json={"password": "nope"})
    assert wrong.status_code == 401
    assert_error(await wrong.get_json(), "UNAUTHORIZED")
    broken = await client.post("/auth/token", data=b"{not json",
                               headers={"Content-Type": "application/json"})
    assert broken.status_code == 400
    assert_error(await broken.get_json(), "INVALID_REQUEST")
    missing = await client.post("/auth/token", json={})
    assert missing.status_code == 400


async def test_missing_forged_and_expired_tokens(harness: Harness) -> None:
    client = harness.app.test_client()
    forged = jwt.encode({"iss": ISSUER, "iat": 0, "exp": 4_000_000_000}, b"x" * 32,
                        algorithm="HS256")
    expired = jwt.encode({"iss": ISSUER, "iat": 0, "exp": 10}, SECRET, algorithm="HS256")
    for headers in ({}, {"Authorization": "Bearer"}, {"Authorization": "Basic abc"},
                    {"Authorization": f"Bearer {forged}"},
                    {"Authorization": f"Bearer {expired}"},
                    {"Authorization": "Bearer not.a.jwt"}):
        response = await client.post("/api/v1/jobs/cache/refresh", headers=headers)
        assert response.status_code == 401, headers
        assert_error(await response.get_json(), "UNAUTHORIZED")
        assert response.headers["WWW-Authenticate"].startswith("Bearer")
    assert len(harness.services.runner) == 0


async def test_health_is_public(harness: Harness) -> None:
    response = await harness.app.test_client().get("/health")
    body = await response.get_json()
    assert response.status_code == 200
    assert body["status"] == "healthy" and body["runner"] == "idle"
    assert {"timestamp", "version"} <= body.keys()


async def test_unknown_route_wrong_method_and_large_body(harness: Harness) -> None:
    client = harness.app.test_client()
    missing = await client.get("/nowhere")
    assert missing.status_code == 404
    assert_error(await missing.get_json(), "NOT_FOUND")
    method = await client.delete("/health")
    assert method.status_code == 405
    assert_error(await method.get_json(), "METHOD_NOT_ALLOWED")
    limit = harness.services.settings.server.max_body_bytes
    big = await client.post("/api/v1/pods", data=b"x" * (limit + 1), headers=harness.headers)
    assert big.status_code == 413
    assert_error(await big.get_json(), "PAYLOAD_TOO_LARGE")


async def test_metrics_and_openapi(harness: Harness) -> None:
    client = harness.app.test_client()
    metrics = await client.get("/metrics")
    assert metrics.status_code == 200
    assert b"colony_jobs_retained" in await metrics.get_data()
    spec = await (await client.get("/openapi.json")).get_json()
    assert spec["openapi"].startswith("3.1")
    assert "/api/v1/jobs/{job_id}" in spec["paths"]
    assert "post" in spec["paths"]["/api/v1/jobs/cache/refresh"]


async def test_metrics_need_a_token_off_loopback(harness: Harness) -> None:
    client = harness.app.test_client()
    remote = {"client": ("192.0.2.10", 4000)}
    refused = await client.get("/metrics", scope_base=remote)
    assert refused.status_code == 401
    allowed = await client.get("/metrics", scope_base=remote, headers=harness.headers)
    assert allowed.status_code == 200


def test_verified_tokens_are_remembered_until_they_expire() -> None:
    from colony_actor.service.tokens import LoginThrottle, TokenAuthority

    throttle = LoginThrottle(5, 60)
    authority = TokenAuthority(SECRET, PASSWORD, ttl_seconds=60, throttle=throttle)
    token = authority.issue()
    assert authority.verify(token) is not None
    assert authority.verify(token) is not None  # from the cache
    stale = TokenAuthority(SECRET, PASSWORD, ttl_seconds=1, throttle=throttle).issue(now=0)
    assert authority.verify(stale) is None
    assert authority.verify(token + "x") is None
