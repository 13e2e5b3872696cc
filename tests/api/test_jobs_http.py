"""The seed's job endpoints (and API.md §3 and §4) over a real pod store, through the app."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any
from urllib.parse import quote

import trio

from tests.support import Harness, build, wait_terminal

UUID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$")
SUBJECT = "a" * 64
DOC = {"@context": {"schema": "http://schema.org/"}, "@type": "schema:MediaObject",
       "schema:name": "Abbey Road", "schema:description": "The Beatles, 1969"}


async def start(harness: Harness, client: Any, path: str, **kwargs: Any) -> dict[str, Any]:
    response = await client.post(path, headers=harness.headers, **kwargs)
    assert response.status_code == 202, await response.get_data()
    body: dict[str, Any] = await response.get_json()
    assert response.headers["Location"] == f"/api/v1/jobs/{body['job_id']}"
    return body


async def test_refresh_cache_job_as_the_seed_shows(harness: Harness) -> None:
    client = harness.app.test_client()
    body = await start(harness, client, "/api/v1/jobs/cache/refresh")
    assert list(body) == ["job_id", "status", "message", "timestamp"]
    assert UUID.match(body["job_id"])
    assert body["status"] == "pending" and body["message"] == "Cache refresh job started"
    job = await wait_terminal(harness, client, body["job_id"])
    assert job["job_type"] == "refreshcache" and job["status"] == "completed"
    assert job["progress"] == 1.0 and job["error"] is None
    result = await client.get(f"/api/v1/jobs/{body['job_id']}/result", headers=harness.headers)
    assert result.status_code == 200
    payload = await result.get_json()
    assert list(payload) == ["job_id", "status", "result", "error"]
    assert payload["result"]["status"] == "success"
    assert payload["result"]["message"] == "Cache refreshed successfully"
    assert "timestamp" in payload["result"]


async def test_unknown_job(harness: Harness) -> None:
    client = harness.app.test_client()
    for path in ("/api/v1/jobs/abc123", "/api/v1/jobs/abc123/result"):
        response = await client.get(path, headers=harness.headers)
        assert response.status_code == 404
        body = await response.get_json()
        assert body["error"] == "JOB_NOT_FOUND"
        assert body["message"] == "Job with ID abc123 not found"


async def test_conflict_not_completed_and_progress(
        nursery: trio.Nursery, tmp_path: Path) -> None:
    harness = await build(nursery, tmp_path / "d", tmp_path / "n", latency_ms=100)
    client = harness.app.test_client()
    for n in range(3):
        created = await client.post("/api/v1/pods", json={"name": f"pod {n}"},
                                    headers=harness.headers)
        assert created.status_code == 201
    upload = await start(harness, client, "/api/v1/jobs/cache/upload")
    assert upload["message"] == "Upload all job started"
    conflict = await client.post("/api/v1/jobs/cache/refresh", headers=harness.headers)
    assert conflict.status_code == 409
    body = await conflict.get_json()
    assert body["error"] == "JOB_CREATION_FAILED"
    assert body["message"] == "Another operation is already running"
    pending = await client.get(f"/api/v1/jobs/{upload['job_id']}/result",
                               headers=harness.headers)
    assert pending.status_code == 202
    waiting = await pending.get_json()
    assert waiting["error"] == "JOB_NOT_COMPLETED"
    assert waiting["message"] == f"Job {upload['job_id']} is not yet completed"
    seen: list[float] = []
    while True:
        response = await client.get(f"/api/v1/jobs/{upload['job_id']}", headers=harness.headers)
        job = (await response.get_json())["job"]
        seen.append(job["progress"])
        if job["status"] == "completed":
            assert "Retry-After" not in response.headers
            break
        assert response.headers["Retry-After"] == "1"
        await trio.sleep(0.02)
    assert seen == sorted(seen) and seen[-1] == 1.0
    assert any(0 < p < 1 for p in seen), seen
    result = await client.get(f"/api/v1/jobs/{upload['job_id']}/result", headers=harness.headers)
    assert (await result.get_json())["result"]["message"] == "All pods uploaded successfully"


async def test_start_messages_and_bad_parameters(harness: Harness) -> None:
    client = harness.app.test_client()
    cases = [
        ("/api/v1/jobs/cache/refresh/2", "Refresh ref job started with depth 2", "refreshref"),
        ("/api/v1/jobs/search?q=beatles&limit=10", "Search job started for: beatles", "search"),
        (f"/api/v1/jobs/search/subject/{SUBJECT}",
         f"Get subject data job started for: {SUBJECT}", "getsubjectdata"),
    ]
    for path, message, job_type in cases:
        body = await start(harness, client, path)
        assert body["message"] == message
        job = await wait_terminal(harness, client, body["job_id"])
        assert job["job_type"] == job_type and job["status"] == "completed", job
    for path in ("/api/v1/jobs/cache/refresh/-1", "/api/v1/jobs/cache/refresh/two",
                 "/api/v1/jobs/search?q=x&limit=0", "/api/v1/jobs/search?q=x&limit=1001",
                 "/api/v1/jobs/search?q=x&limit=ten"):
        response = await client.post(path, headers=harness.headers)
        assert response.status_code == 400, path
        assert (await response.get_json())["error"] == "INVALID_REQUEST"
    assert len(harness.services.runner) == 3


async def test_search_forms_and_soft_errors(harness: Harness) -> None:
    client = harness.app.test_client()
    created = await client.post("/api/v1/pods", json={"name": "music"}, headers=harness.headers)
    address = (await created.get_json())["address"]
    put = await client.put(f"/api/v1/pods/{address}/{SUBJECT}", json=DOC,
                           headers=harness.headers)
    assert put.status_code == 200, await put.get_data()
    body = await start(harness, client, "/api/v1/jobs/search", json={
        "type": "text", "text": "abbey", "limit": 5})
    job = await wait_terminal(harness, client, body["job_id"])
    result = job["result"]
    assert result["result_count"] >= 1
    assert f"ant://{address}" in result["pods_found"]
    assert result["sparql_results"]["head"]["vars"][:4] == ["subject", "predicate", "object",
                                                            "graph"]
    bare = await start(harness, client, "/api/v1/jobs/search", json="beatles")
    assert (await wait_terminal(harness, client, bare["job_id"]))["status"] == "completed"
    unknown = await client.post("/api/v1/jobs/search", json={"type": "nope"},
                                headers=harness.headers)
    assert unknown.status_code == 400
    legacy = await client.get("/api/v1/search?type=nope", headers=harness.headers)
    assert legacy.status_code == 400
    assert (await legacy.get_json())["message"] == (await unknown.get_json())["message"]
    # What only the SPARQL parser can tell is refused at the start too (it parses in a
    # query worker), and the legacy route says the same.
    broken = await client.post("/api/v1/jobs/search", headers=harness.headers, json={
        "type": "advanced", "sparql": "SELECT ?x WHERE { ?x"})
    assert broken.status_code == 400
    refused = await broken.get_json()
    assert refused["error"] == "INVALID_REQUEST"
    assert refused["message"].startswith("Invalid SPARQL query: error at 1:21")
    legacy = await client.get("/api/v1/search?type=advanced&sparql="
                              + quote("SELECT ?x WHERE { ?x"), headers=harness.headers)
    assert legacy.status_code == 400
    assert (await legacy.get_json())["message"] == refused["message"]
    text = await client.get("/api/v1/search?q=abbey&limit=3", headers=harness.headers)
    assert text.status_code == 200
    assert (await text.get_json())["result_count"] >= 1
    subject = await client.get(f"/api/v1/search/subject/ant://{SUBJECT}", headers=harness.headers)
    bindings = (await subject.get_json())["results"]["bindings"]
    assert any(b["object"]["value"] == "Abbey Road" for b in bindings)


async def test_legacy_routes_answer_results(harness: Harness) -> None:
    client = harness.app.test_client()
    refreshed = await client.post("/api/v1/cache", headers=harness.headers)
    assert refreshed.status_code == 200
    assert (await refreshed.get_json())["message"] == "Cache refreshed successfully"
    uploaded = await client.put("/api/v1/cache", headers=harness.headers)
    assert (await uploaded.get_json())["message"] == "All pods uploaded successfully"
    ref = await client.post("/api/v1/cache/1", headers=harness.headers)
    assert (await ref.get_json())["message"] == "All pods refreshed successfully"
    bad = await client.post("/api/v1/cache/x", headers=harness.headers)
    assert bad.status_code == 400
    listed = await (await client.get("/api/v1/jobs", headers=harness.headers)).get_json()
    assert [j["job_type"] for j in listed["jobs"]] == ["refreshref", "uploadall", "refreshcache"]


async def test_cancel_forget_list_and_idempotency(nursery: trio.Nursery, tmp_path: Path) -> None:
    harness = await build(nursery, tmp_path / "d", tmp_path / "n", latency_ms=200)
    client = harness.app.test_client()
    for n in range(3):
        await client.post("/api/v1/pods", json={"name": f"p{n}"}, headers=harness.headers)
    headers = {**harness.headers, "Idempotency-Key": "upload-1"}
    first = await client.post("/api/v1/jobs/cache/upload", headers=headers)
    again = await client.post("/api/v1/jobs/cache/upload", headers=headers)
    assert again.status_code == 202
    assert (await again.get_json())["job_id"] == (await first.get_json())["job_id"]
    reused = await client.post("/api/v1/jobs/cache/refresh", headers=headers)
    assert reused.status_code == 422
    assert (await reused.get_json())["error"] == "IDEMPOTENCY_KEY_REUSED"
    queued = await start(harness, client, "/api/v1/jobs/cache/refresh?queue=true")
    job_id = (await first.get_json())["job_id"]
    busy = await client.delete(f"/api/v1/jobs/{job_id}", headers=harness.headers)
    assert busy.status_code == 409
    cancel = await client.post(f"/api/v1/jobs/{job_id}/cancel", headers=harness.headers)
    assert cancel.status_code == 200
    done = await wait_terminal(harness, client, job_id)
    assert done["status"] == "cancelled"
    again_cancel = await client.post(f"/api/v1/jobs/{job_id}/cancel", headers=harness.headers)
    assert again_cancel.status_code == 409
    assert (await again_cancel.get_json())["error"] == "JOB_NOT_CANCELLABLE"
    assert (await wait_terminal(harness, client, queued["job_id"]))["status"] == "completed"
    page = await (await client.get("/api/v1/jobs?limit=1", headers=harness.headers)).get_json()
    assert [j["id"] for j in page["jobs"]] == [queued["job_id"]]
    rest = await (await client.get(f"/api/v1/jobs?limit=5&cursor={page['next_cursor']}",
                                   headers=harness.headers)).get_json()
    assert [j["id"] for j in rest["jobs"]] == [job_id] and rest["next_cursor"] is None
    only = await (await client.get("/api/v1/jobs?status=cancelled",
                                   headers=harness.headers)).get_json()
    assert [j["id"] for j in only["jobs"]] == [job_id]
    forgotten = await client.delete(f"/api/v1/jobs/{job_id}", headers=harness.headers)
    assert forgotten.status_code == 204
    gone = await client.get(f"/api/v1/jobs/{job_id}", headers=harness.headers)
    assert gone.status_code == 404
    bad = await client.get("/api/v1/jobs?status=weird", headers=harness.headers)
    assert bad.status_code == 400


async def test_new_jobs_answer_503_while_stopping(harness: Harness) -> None:
    client = harness.app.test_client()
    await harness.services.runner.shutdown(grace_seconds=0)
    response = await client.post("/api/v1/jobs/cache/refresh", headers=harness.headers)
    assert response.status_code == 503
    assert (await response.get_json())["error"] == "SHUTTING_DOWN"
    legacy = await client.post("/api/v1/cache", headers=harness.headers)
    assert legacy.status_code == 503
    health = await client.get("/health")
    assert health.status_code == 200


async def test_cancelled_upload_keeps_what_finished(nursery: trio.Nursery, tmp_path: Path) -> None:
    harness = await build(nursery, tmp_path / "d", tmp_path / "n", latency_ms=50,
                          network={"concurrency": 1})
    client = harness.app.test_client()
    for n in range(6):
        await client.post("/api/v1/pods", json={"name": f"p{n}"}, headers=harness.headers)
    queued = set((await (await client.get("/api/v1/updates", headers=harness.headers)
                         ).get_json())["update"])
    job_id = (await start(harness, client, "/api/v1/jobs/cache/upload"))["job_id"]
    job: dict[str, Any] = {}
    while not 0.3 < job.get("progress", 0) < 1:
        job = (await (await client.get(f"/api/v1/jobs/{job_id}?wait=5",
                                       headers=harness.headers)).get_json())["job"]
    await client.post(f"/api/v1/jobs/{job_id}/cancel", headers=harness.headers)
    done = await wait_terminal(harness, client, job_id)
    assert done["status"] == "cancelled" and done["error"] == "Cancelled by request"
    left = set((await (await client.get("/api/v1/updates", headers=harness.headers)
                       ).get_json())["update"])
    assert left < queued, "pods that finished before the cancel left the update list"
    assert left, "the pods not uploaded yet are still queued"
    # The slot is free and the rest uploads cleanly.
    again = await start(harness, client, "/api/v1/jobs/cache/upload")
    assert (await wait_terminal(harness, client, again["job_id"]))["status"] == "completed"
    other = await build(nursery, tmp_path / "d2", tmp_path / "n")
    other_client = other.app.test_client()
    refresh = await start(other, other_client, "/api/v1/jobs/cache/refresh")
    assert (await wait_terminal(other, other_client, refresh["job_id"]))["status"] == "completed"
    pods = await (await other_client.get("/api/v1/pods", headers=other.headers)).get_json()
    assert sorted(p["name"] for p in pods["pods"]) == [f"p{n}" for n in range(6)]
