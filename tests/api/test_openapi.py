"""The OpenAPI document: valid OpenAPI 3.1, every route described with its parameters,
answers (the error shape for each error) and headers, colonyd's paths included."""

from __future__ import annotations

from typing import Any

from openapi_spec_validator import validate

from colony_actor.api import errors
from tests.support import Harness


async def spec_of(harness: Harness) -> dict[str, Any]:
    response = await harness.app.test_client().get("/openapi.json")
    assert response.status_code == 200
    spec: dict[str, Any] = await response.get_json()
    return spec


async def test_the_document_validates(harness: Harness) -> None:
    validate(await spec_of(harness))


async def test_every_route_is_in_the_document(harness: Harness) -> None:
    paths = (await spec_of(harness))["paths"]
    for rule in harness.app.url_map.iter_rules():
        if rule.endpoint == "static":
            continue
        path = rule.rule.replace("<path:", "{").replace("<", "{").replace(">", "}")
        for method in (rule.methods or set()) - {"HEAD", "OPTIONS"}:
            assert method.lower() in paths[path], (method, path)


async def test_operations_say_what_they_take_and_answer(harness: Harness) -> None:
    paths = (await spec_of(harness))["paths"]
    start = paths["/api/v1/jobs/cache/refresh/{depth}"]["post"]
    names = {(p["in"], p["name"]) for p in start["parameters"]}
    assert {("path", "depth"), ("query", "queue"), ("header", "Idempotency-Key")} <= names
    accepted = start["responses"]["202"]
    assert accepted["headers"]["Location"]["required"] is True
    assert accepted["content"]["application/json"]["schema"]["$ref"].endswith("/JobStarted")
    for status in ("400", "401", "409", "422", "503"):
        schema = start["responses"][status]["content"]["application/json"]["schema"]
        assert schema["$ref"].endswith("/Error"), status
    assert "JOB_CREATION_FAILED" in start["responses"]["409"]["description"]
    get_job = paths["/api/v1/jobs/{job_id}"]["get"]
    assert {p["name"] for p in get_job["parameters"]} == {"job_id", "wait", "since"}
    assert "Retry-After" in get_job["responses"]["200"]["headers"]
    listing = {p["name"] for p in paths["/api/v1/jobs"]["get"]["parameters"]}
    assert listing == {"status", "job_type", "limit", "cursor"}
    result = paths["/api/v1/jobs/{job_id}/result"]["get"]["responses"]
    assert "JOB_NOT_COMPLETED" in result["202"]["description"]
    search = paths["/api/v1/jobs/search"]["post"]
    assert "requestBody" in search and {"q", "limit"} <= {p["name"] for p in search["parameters"]}
    token = paths["/auth/token"]["post"]
    assert "security" not in token and "429" in token["responses"]
    assert "Retry-After" in token["responses"]["429"]["headers"]


async def test_every_error_code_is_documented(harness: Harness) -> None:
    spec = await spec_of(harness)
    described = " ".join(answer["description"] for item in spec["paths"].values()
                         for operation in item.values()
                         for answer in operation["responses"].values())
    for code in errors.CODES:
        assert f"`{code.name}`" in described or code.name in described, code.name


async def test_colonyd_paths_are_in_the_document(harness: Harness) -> None:
    paths = (await spec_of(harness))["paths"]
    assert "/colony-auth/token" in paths and "/colony-health" in paths
    for path, item in paths.items():
        if path.startswith("/api/v1/"):
            alias = paths["/colony-0" + path.removeprefix("/api/v1")]
            assert set(alias) == set(item), path
            assert alias[next(iter(item))]["tags"] == ["colonyd"]
