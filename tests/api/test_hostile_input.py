"""Hostile input at every door: a 4xx with the JSON error shape or a correct answer,
never a 500, never a query the user did not ask for, never a half-applied change."""

from __future__ import annotations

import random
from typing import Any
from urllib.parse import quote

from tests.support import Harness

NASTY = [
    '"', "'", ">", "<", "}", "{", "\n", "\r\n", "#", "\\", "\\u0000", "\x00", "%", "%2F",
    '" } ; DROP ALL ; #', "> } INSERT DATA { <a> <b> <c> } #", '") } UNION { ?s ?p ?o } #',
    "ant://", "ant://" + "g" * 64, "a" * 10_000, "é" * 300, "🎵" * 50, " ", "", "..", "../..",
    "http://schema.org/name> ?x . ?x <y", "SELECT * WHERE { ?s ?p ?o }", "null", "[]",
]


def corpus(seed: int = 7, extra: int = 30) -> list[str]:
    rng = random.Random(seed)
    alphabet = "ab\"'<>{}#\\\n\t %é日🎵/:;"
    return NASTY + ["".join(rng.choice(alphabet) for _ in range(rng.randint(1, 40)))
                    for _ in range(extra)]


async def check(response: Any) -> None:
    assert response.status_code < 500, (response.status_code, await response.get_data())
    if response.status_code >= 400:
        body = await response.get_json()
        assert {"error", "message", "timestamp"} <= body.keys()


async def test_pod_names_subjects_and_refs(harness: Harness) -> None:
    client = harness.app.test_client()
    created = await client.post("/api/v1/pods", json={"name": "home"}, headers=harness.headers)
    home = (await created.get_json())["address"]
    before = await (await client.get("/api/v1/pods", headers=harness.headers)).get_json()
    for text in corpus():
        if text.strip():  # an empty one is POST /api/v1/pods/: a create, not a rename
            await check(await client.post("/api/v1/pods/" + quote(text, safe=""),
                                          json={"name": "x"}, headers=harness.headers))
        await check(await client.post(f"/api/v1/pods/{home}", json={"name": text},
                                      headers=harness.headers))
        await check(await client.put(f"/api/v1/pods/{home}/{quote(text, safe='')}",
                                     json={"schema:name": text}, headers=harness.headers))
        await check(await client.post(f"/api/v1/pods/{home}/pod_ref", json={"pod_ref": text},
                                      headers=harness.headers))
        await check(await client.put(f"/api/v1/pods/{home}/{'b' * 64}",
                                     json={"@context": text, "x": 1}, headers=harness.headers))
    after = await (await client.get("/api/v1/pods", headers=harness.headers)).get_json()
    assert [p["address"] for p in after["pods"]] == [p["address"] for p in before["pods"]]


async def test_search_parameters(harness: Harness) -> None:
    client = harness.app.test_client()
    for text in corpus(seed=11):
        q = quote(text, safe="")
        for path in (f"/api/v1/search?q={q}", f"/api/v1/search?type=by_type&type_uri={q}",
                     f"/api/v1/search?type=by_predicate&predicate_uri={q}",
                     f"/api/v1/search?type=advanced&sparql={q}",
                     f"/api/v1/search?type={q}", f"/api/v1/search/subject/{q}"):
            await check(await client.get(path, headers=harness.headers))
    probe = await client.get("/api/v1/search?type=advanced&sparql="
                             + quote("INSERT DATA { <a:a> <a:b> <a:c> }"),
                             headers=harness.headers)
    assert probe.status_code == 400
    count = await client.get("/api/v1/search?type=advanced&sparql="
                             + quote("ASK { <a:a> <a:b> <a:c> }"), headers=harness.headers)
    assert count.status_code == 200
    assert (await count.get_json())["sparql_results"]["boolean"] is False


async def test_job_parameters(harness: Harness) -> None:
    client = harness.app.test_client()
    for text in corpus(seed=3, extra=10):
        q = quote(text, safe="")
        for path in (f"/api/v1/jobs/{q}", f"/api/v1/jobs/{q}/result",
                     f"/api/v1/jobs?status={q}", f"/api/v1/jobs?cursor={q}",
                     f"/api/v1/jobs?limit={q}", f"/api/v1/jobs/cache/refresh/{q}"):
            method = client.post if path.startswith("/api/v1/jobs/cache") else client.get
            await check(await method(path, headers=harness.headers))
    for body in (b"[1,2]", b"12", b"{", b'{"type": 5}', b'{"type": "text", "limit": "x"}'):
        await check(await client.post("/api/v1/jobs/search", data=body,
                                      headers={**harness.headers,
                                               "Content-Type": "application/json"}))
