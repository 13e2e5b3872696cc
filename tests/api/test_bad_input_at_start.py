"""Bad input is refused when the request comes, with 400 and no job created: numbers in
ASCII digits only, search forms with their known members only, each bounded; and a job
keeps only its normalized parameters."""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import quote

from tests.support import Harness, wait_terminal

# A superscript two (isdigit, int refuses it) and an Arabic-Indic one (isdigit, int takes it).
FOREIGN_DIGITS = ["²", "\u0661", "1²", "\u0663\u0660"]
JSON = {"Content-Type": "application/json"}


async def assert_refused(response: Any, status: int = 400) -> dict[str, Any]:
    assert response.status_code == status, (response.status_code, await response.get_data())
    body: dict[str, Any] = await response.get_json()
    assert {"error", "message", "timestamp"} <= body.keys()
    return body


async def test_numbers_take_ascii_digits_only(harness: Harness) -> None:
    client = harness.app.test_client()
    done = await client.post("/api/v1/jobs/cache/refresh", headers=harness.headers)
    job_id = (await done.get_json())["job_id"]
    await wait_terminal(harness, client, job_id)
    for digits in FOREIGN_DIGITS:
        d = quote(digits)
        for method, path in (("POST", f"/api/v1/jobs/cache/refresh/{d}"),
                             ("POST", f"/api/v1/cache/{d}"),
                             ("GET", f"/api/v1/jobs?limit={d}"),
                             ("GET", f"/api/v1/jobs?cursor={d}"),
                             ("GET", f"/api/v1/jobs/{job_id}?wait={d}"),
                             ("GET", f"/api/v1/jobs/{job_id}?wait=0&since={d}"),
                             ("POST", f"/api/v1/jobs/search?q=x&limit={d}"),
                             ("GET", f"/api/v1/search?q=x&limit={d}")):
            body = await assert_refused(await client.open(path, method=method,
                                                          headers=harness.headers))
            assert body["error"] == "INVALID_REQUEST"
        await assert_refused(await client.post(
            "/api/v1/jobs/search", json={"type": "browse", "limit": digits},
            headers=harness.headers))
        # A Last-Event-ID that is not one of ours starts the stream from the current state.
        events = await client.get(f"/api/v1/jobs/{job_id}/events",
                                  headers={**harness.headers, "Last-Event-ID": digits})
        assert events.status_code == 200
        assert b"event: job" in await events.get_data()
    assert len(harness.services.runner) == 1


BAD_FORMS: list[tuple[str, bytes]] = [
    ("no q and no body", b""),
    ("an empty form", b"{}"),
    ("an unknown type", b'{"type": "everything", "text": "x"}'),
    ("a type that is not a string", b'{"type": ["text"], "text": "x"}'),
    ("a missing member", b'{"type": "by_type"}'),
    ("a member of the wrong type", b'{"type": "by_predicate", "predicate_uri": 7}'),
    ("an empty member", b'{"type": "text", "text": "   "}'),
    ("a limit of zero", b'{"type": "text", "text": "x", "limit": 0}'),
    ("a limit too high", b'{"type": "text", "text": "x", "limit": 1001}'),
    ("a limit that is a flag", b'{"type": "browse", "limit": true}'),
    ("an unknown member", b'{"type": "text", "text": "x", "txet": "y"}'),
    ("another form's member", b'{"type": "browse", "sparql": "ASK {}"}'),
    ("a text too long", json.dumps({"type": "text", "text": "x" * 10_001}).encode()),
    ("an IRI that is not one", b'{"type": "by_type", "type_uri": "not an iri"}'),
]


async def test_a_bad_search_form_creates_no_job(harness: Harness) -> None:
    client = harness.app.test_client()
    for case, body in BAD_FORMS:
        refused = await client.post("/api/v1/jobs/search", data=body,
                                    headers={**harness.headers, **JSON})
        assert refused.status_code == 400, case
        await assert_refused(refused)
    assert len(harness.services.runner) == 0


async def test_bad_searches_and_subjects_create_no_job(harness: Harness) -> None:
    client = harness.app.test_client()
    for path in ("/api/v1/search", "/api/v1/search?type=everything",
                 "/api/v1/search?type=by_type", "/api/v1/search?q=x&limit=0",
                 "/api/v1/search?type=by_type&type_uri=no%20scheme",
                 "/api/v1/search/subject/not-hex", "/api/v1/search/subject/" + "g" * 64):
        await assert_refused(await client.get(path, headers=harness.headers))
    for path in ("/api/v1/jobs/search/subject/not-hex",
                 "/api/v1/jobs/search/subject/" + quote("ant://a b", safe="")):
        await assert_refused(await client.post(path, headers=harness.headers))
    assert len(harness.services.runner) == 0


async def test_a_search_job_keeps_its_normalized_form_only(harness: Harness) -> None:
    client = harness.app.test_client()
    padded = {"type": "by_type", "type_uri": "http://schema.org/MediaObject",
              "padding": "x" * 1_000_000}
    refused = await client.post("/api/v1/jobs/search", json=padded, headers=harness.headers)
    await assert_refused(refused)
    assert len(harness.services.runner) == 0
    cases: list[tuple[str, Any, dict[str, Any]]] = [
        ("/api/v1/jobs/search?q=abbey", None, {"type": "text", "text": "abbey", "limit": 50}),
        ("/api/v1/jobs/search?limit=7", {"type": "by_type", "type_uri": "http://s.org/T"},
         {"type": "by_type", "type_uri": "http://s.org/T", "limit": 7}),
        ("/api/v1/jobs/search", "abbey road", {"type": "text", "text": "abbey road",
                                               "limit": 50}),
        ("/api/v1/jobs/search", {"type": "advanced", "sparql": "ASK {}"},
         {"type": "advanced", "sparql": "ASK {}"}),
    ]
    for path, body, expected in cases:
        started = await client.post(path, json=body, headers=harness.headers)
        assert started.status_code == 202, await started.get_data()
        job = await wait_terminal(harness, client, (await started.get_json())["job_id"])
        assert job["params"] == {"query": expected}


async def test_a_long_query_is_shortened_in_the_start_message(harness: Harness) -> None:
    client = harness.app.test_client()
    text = "abbey " * 1000
    started = await client.post("/api/v1/jobs/search", json={"type": "text", "text": text},
                                headers=harness.headers)
    assert started.status_code == 202
    message = (await started.get_json())["message"]
    assert message.startswith("Search job started for: abbey abbey")
    assert len(message) < 300
