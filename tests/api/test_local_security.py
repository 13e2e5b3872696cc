"""A daemon on the user's machine, out of web pages' reach: it answers only to the Host
names it serves, refuses a state-changing request from a foreign Origin, takes JSON only
as application/json, and slows down password guessing at /auth/token. Every refusal has
its code and status from api/errors.py's table."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
import trio

from colony_actor.api.errors import CODES
from tests.support import PASSWORD, Harness, build

STATUS = {code.name: code.status for code in CODES}
JSON = {"Content-Type": "application/json"}


async def refused(response: Any, code: str) -> dict[str, Any]:
    body: dict[str, Any] = await response.get_json()
    assert body["error"] == code, body
    assert response.status_code == STATUS[code]
    assert body["message"] and body["timestamp"]
    return body


@pytest.fixture
async def public(nursery: trio.Nursery, tmp_path: Path) -> AsyncIterator[Harness]:
    """A daemon whose /api/v1 needs no token, that also answers to colony.lan."""
    yield await build(nursery, tmp_path / "data", tmp_path / "network",
                      auth={"public": True}, server={"allowed_hosts": ("colony.lan",)})


async def test_only_the_served_host_names_are_answered(harness: Harness) -> None:
    client = harness.app.test_client()
    for host in ("evil.example", "evil.example:3000", "localhost.evil.example",
                 "127.0.0.2", "localhost:http", "localhost:99999", "colony.lan", ""):
        for method, path in (("GET", "/health"), ("GET", "/api/v1/jobs"),
                             ("POST", "/auth/token"), ("GET", "/nowhere")):
            response = await client.open(path, method=method,
                                         headers={**harness.headers, "Host": host})
            await refused(response, "FORBIDDEN_HOST")
    for host in ("localhost", "LOCALHOST:3000", "127.0.0.1", "127.0.0.1:41234", "[::1]",
                 "[::1]:3000"):
        response = await client.get("/api/v1/jobs", headers={**harness.headers, "Host": host})
        assert response.status_code == 200, host


async def test_a_configured_host_name_is_answered(public: Harness) -> None:
    client = public.app.test_client()
    assert (await client.get("/health", headers={"Host": "colony.lan:3000"})).status_code == 200
    await refused(await client.get("/health", headers={"Host": "other.lan"}), "FORBIDDEN_HOST")


async def test_a_foreign_origin_cannot_change_anything(public: Harness) -> None:
    client = public.app.test_client()
    host = {"Host": "localhost:3000"}
    for origin in ("http://evil.example", "https://evil.example:3000", "null",
                   "http://localhost:8080", "http://localhost", "file://", "localhost:3000",
                   "http://127.0.0.1:3000/path"):
        headers = {**host, **JSON, "Origin": origin}
        for method, path in (("POST", "/api/v1/pods"), ("PUT", "/api/v1/cache"),
                             ("DELETE", "/api/v1/pods/x"), ("POST", "/auth/token"),
                             ("PATCH", "/api/v1/pods"), ("POST", "/nowhere")):
            response = await client.open(path, method=method, json={"name": "x"},
                                         headers=headers)
            await refused(response, "FORBIDDEN_ORIGIN")
        # Reading is not changing: a page cannot read the answer without CORS anyway.
        assert (await client.get("/api/v1/pods", headers={**host, "Origin": origin})
                ).status_code == 200
    assert (await (await client.get("/api/v1/pods", headers=host)).get_json())["pods"] == []
    for origin in ("http://localhost:3000", "https://localhost:3000", "http://LOCALHOST:3000",
                   "http://127.0.0.1:3000", "http://colony.lan:3000"):
        created = await client.post("/api/v1/pods", json={"name": origin},
                                    headers={**host, "Origin": origin})
        assert created.status_code == 201, origin
    default_port = {"Host": "colony.lan", "Origin": "http://colony.lan"}
    assert (await client.post("/api/v1/pods", json={"name": "p"}, headers=default_port)
            ).status_code == 201


async def test_json_needs_its_content_type(public: Harness) -> None:
    client = public.app.test_client()
    body = b'{"name": "from a form"}'
    for content_type in ("text/plain", "application/x-www-form-urlencoded",
                         "multipart/form-data; boundary=x", None):
        headers = {"Content-Type": content_type} if content_type else {}
        for method, path in (("POST", "/api/v1/pods"), ("POST", "/auth/token"),
                             ("POST", "/api/v1/jobs/search"),
                             ("PUT", "/api/v1/pods/x/" + "a" * 64)):
            response = await client.open(path, method=method, data=body, headers=headers)
            await refused(response, "UNSUPPORTED_MEDIA_TYPE")
    assert (await (await client.get("/api/v1/pods")).get_json())["pods"] == []
    # Where a body is optional, an empty one needs no type.
    started = await client.post("/api/v1/jobs/cache/refresh", data=b"",
                                headers={"Content-Type": "text/plain"})
    assert started.status_code == 202
    charset = await client.post("/api/v1/pods", data=body,
                                headers={"Content-Type": "application/json; charset=utf-8"})
    assert charset.status_code == 201


async def test_repeated_wrong_passwords_make_the_client_wait(harness: Harness) -> None:
    client = harness.app.test_client()
    allowed = harness.services.settings.auth.login_attempts_before_delay
    for _ in range(allowed):
        await refused(await client.post("/auth/token", json={"password": "guess"}),
                      "UNAUTHORIZED")
    for password in ("guess", PASSWORD):
        response = await client.post("/auth/token", json={"password": password})
        body = await refused(response, "TOO_MANY_REQUESTS")
        assert int(response.headers["Retry-After"]) >= 1
        assert body["retry_after"] == int(response.headers["Retry-After"])
    # Tries during the wait are not counted: the wait has not grown.
    statistics = harness.services.auth.throttle.statistics()
    assert statistics.failures == allowed and statistics.clients == 1
    assert 0 < statistics.longest_wait <= 1
    # Tokens already issued still work.
    assert (await client.get("/api/v1/jobs", headers=harness.headers)).status_code == 200
