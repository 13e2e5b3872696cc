"""Large bodies are encoded off the event loop, once per job version, and every route that
answers a result gives the same JSON as the job holds."""

from __future__ import annotations

import json
import threading
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import trio

from colony_actor.api.encoding import Bodies
from colony_actor.jobs import lifecycle
from colony_actor.jobs.journal.store import JobJournal
from colony_actor.jobs.lifecycle import Event, Job
from colony_actor.jobs.runner import JobRequest, JobRunner
from colony_actor.jobs.wire import job_resource
from colony_actor.runtime import json_pieces
from colony_actor.runtime.threads import INLINE_MAX_BYTES
from tests.api.test_jobs_http import DOC, SUBJECT, start
from tests.jobs.support import settings
from tests.support import Harness, wait_terminal

NOW = datetime(2026, 11, 29, tzinfo=UTC)
ROWS = 4000


class RecordingDumps:
    """The app's compact JSON encoding, noting which thread each call ran on, and how
    many times a job's resource was encoded (a call for its first key, "id")."""

    def __init__(self, *, failures: int = 0) -> None:
        self.threads: list[threading.Thread] = []
        self.calls: list[Any] = []
        self.encodings = 0
        self.failures = failures

    def __call__(self, value: Any, **settings: Any) -> str:
        self.threads.append(threading.current_thread())
        self.calls.append(value)
        if value == "id" or (isinstance(value, dict) and "id" in value):
            self.encodings += 1
            if self.failures:
                self.failures -= 1
                raise TypeError("an unencodable value")
        return json.dumps(value, **settings)


def completed(job_id: str, result: Any) -> Job:
    job = lifecycle.new_job(job_id, "search", {"q": "x"}, "Search started", NOW)
    job = lifecycle.apply(job, Event.START, NOW)
    return lifecycle.apply(job, Event.COMPLETE, NOW, result=result)


async def test_a_result_is_encoded_once_in_a_worker_thread() -> None:
    dumps = RecordingDumps()
    bodies = Bodies(JobRunner(settings()), dumps)
    job = completed("j1", {"rows": [{"n": n, "text": "ü" * 20} for n in range(ROWS)]})
    seen: list[bytes] = []

    async def follower() -> None:
        seen.append(await bodies.job(job))

    async with trio.open_nursery() as nursery:
        for _ in range(20):
            nursery.start_soon(follower)
    assert len(seen) == 20 and len(set(seen)) == 1
    assert json.loads(seen[0]) == job_resource(job)
    assert dumps.encodings == 1, "twenty followers, one encoding"
    assert threading.main_thread() not in dumps.threads
    assert await bodies.job(job) is seen[0]
    assert dumps.encodings == 1


async def test_a_job_without_a_result_is_encoded_inline() -> None:
    dumps = RecordingDumps()
    bodies = Bodies(JobRunner(settings()), dumps)
    job = lifecycle.new_job("j2", "search", {"q": "x"}, "Search started", NOW)
    assert json.loads(await bodies.job(job)) == job_resource(job)
    assert dumps.threads == [threading.main_thread()]


async def test_followers_share_one_encoding_even_when_it_is_too_large_to_keep() -> None:
    dumps = RecordingDumps()
    bodies = Bodies(JobRunner(settings()), dumps, max_bytes=64 << 10)
    job = completed("huge", {"rows": ["x" * 100 for _ in range(ROWS)]})  # 400 KB
    seen: list[bytes] = []
    async with trio.open_nursery() as nursery:
        for _ in range(10):
            nursery.start_soon(lambda: _append(seen, bodies.job(job)))
    assert len(seen) == 10 and len(set(seen)) == 1 and dumps.encodings == 1
    await bodies.job(job)  # not kept: a later request encodes it again
    assert dumps.encodings == 2


async def test_a_failed_encoding_leaves_the_next_request_to_try_again() -> None:
    dumps = RecordingDumps(failures=1)
    bodies = Bodies(JobRunner(settings()), dumps)
    job = completed("j", {"n": 1})
    outcomes: list[str] = []

    async def follower() -> None:
        try:
            await bodies.job(job)
            outcomes.append("body")
        except TypeError:
            outcomes.append("failed")

    async with trio.open_nursery() as nursery:
        for _ in range(3):
            nursery.start_soon(follower)
    assert sorted(outcomes) == ["body", "body", "failed"] and dumps.encodings == 2


async def test_a_job_with_large_parameters_is_encoded_off_the_loop() -> None:
    dumps = RecordingDumps()
    bodies = Bodies(JobRunner(settings()), dumps)
    job = lifecycle.new_job("j3", "search", {"query": {"sparql": "x" * INLINE_MAX_BYTES}},
                            "Search started", NOW)
    assert json.loads(await bodies.job(job)) == job_resource(job)
    assert threading.main_thread() not in dumps.threads


async def _append(seen: list[bytes], body: Any) -> None:
    seen.append(await body)


async def test_kept_bodies_stay_within_their_budget() -> None:
    dumps = RecordingDumps()
    bodies = Bodies(JobRunner(settings()), dumps, max_entries=2, max_bytes=64 << 10)
    jobs = [completed(f"j{n}", {"n": n}) for n in range(3)]
    for job in jobs:
        await bodies.job(job)
    await bodies.job(jobs[0])  # pushed out by the third: encoded again
    assert dumps.encodings == 4
    big = completed("big", "x" * (40 << 10))  # over half the budget: never kept
    await bodies.job(big)
    await bodies.job(big)
    assert dumps.encodings == 6
    await bodies.job(jobs[2])
    assert dumps.encodings == 6
    kept = [await bodies.job(jobs[0]), await bodies.job(jobs[2])]  # kept: no new encoding
    assert dumps.encodings == 6
    statistics = bodies.statistics()  # the accounting the budget relies on
    assert statistics.kept == 2 and statistics.encoding == 0
    assert statistics.kept_bytes == sum(len(body) for body in kept)


async def test_every_route_answers_a_large_result_whole(harness: Harness) -> None:
    client = harness.app.test_client()
    values = " ".join(f'"row {n:05d} {"é" * 10}"' for n in range(ROWS))
    sparql = f"SELECT ?v WHERE {{ VALUES ?v {{ {values} }} }}"
    body = await start(harness, client, "/api/v1/jobs/search",
                       json={"type": "advanced", "sparql": sparql})
    job_id = body["job_id"]
    job = await wait_terminal(harness, client, job_id)
    assert job["status"] == "completed"
    result = job["result"]
    assert result["result_count"] == ROWS
    assert len(json.dumps(result)) > INLINE_MAX_BYTES
    snapshot = harness.services.runner.get(job_id)
    assert snapshot is not None and job == {**job_resource(snapshot), "result": result}
    # Held as the text pyoxigraph wrote (colony/search/sparql_json.py), never as Python rows.
    held = snapshot.result["sparql_results"]
    assert isinstance(held, json_pieces.Raw) and json.loads(held.data) == result["sparql_results"]

    got = await client.get(f"/api/v1/jobs/{job_id}/result", headers=harness.headers)
    assert (await got.get_json())["result"] == result
    listed = await client.get("/api/v1/jobs?job_type=search", headers=harness.headers)
    assert (await listed.get_json())["jobs"] == [job]
    events = await client.get(f"/api/v1/jobs/{job_id}/events", headers=harness.headers)
    text = (await events.get_data()).decode()
    data = [line[len("data: "):] for line in text.splitlines() if line.startswith("data: ")]
    assert json.loads(data[-1]) == job
    legacy = await client.get("/api/v1/search", query_string={"type": "advanced",
                                                              "sparql": sparql},
                              headers=harness.headers)
    answered = await legacy.get_json()
    assert answered["sparql_results"] == result["sparql_results"]
    assert answered["result_count"] == ROWS


async def test_a_large_request_body_is_read_whole_or_refused_cleanly(harness: Harness) -> None:
    client = harness.app.test_client()
    made = await client.post("/api/v1/pods", json={"name": "big"}, headers=harness.headers)
    address = (await made.get_json())["address"]
    description = "word " * (INLINE_MAX_BYTES // 4)
    doc = {**DOC, "schema:description": description}
    put = await client.put(f"/api/v1/pods/{address}/{SUBJECT}", json=doc,
                           headers=harness.headers)
    assert put.status_code == 200, await put.get_data()
    data = await client.get(f"/api/v1/search/subject/ant://{SUBJECT}", headers=harness.headers)
    objects = [b["object"]["value"] for b in (await data.get_json())["results"]["bindings"]]
    assert description in objects
    broken = json.dumps(doc)[:-1].encode()
    json_headers = {**harness.headers, "Content-Type": "application/json"}
    for bad in (broken, b"[" * 100_000, b"1" * 5000):  # unparsable, too deep, too long
        refused = await client.put(f"/api/v1/pods/{address}/{SUBJECT}", data=bad,
                                   headers=json_headers)
        assert refused.status_code == 400, bad[:20]
        assert (await refused.get_json())["error"] == "INVALID_REQUEST"


async def test_idempotency_keys_hold_for_large_bodies(harness: Harness) -> None:
    client = harness.app.test_client()
    headers = {**harness.headers, "Idempotency-Key": "big-search"}
    sparql = "SELECT ?s WHERE { ?s ?p ?o } # " + "x" * INLINE_MAX_BYTES
    first = await (await client.post("/api/v1/jobs/search", headers=headers,
                                     json={"type": "advanced", "sparql": sparql})).get_json()
    again = await client.post("/api/v1/jobs/search", headers=headers,
                              json={"type": "advanced", "sparql": sparql})
    assert (await again.get_json())["job_id"] == first["job_id"]
    other = await client.post("/api/v1/jobs/search", headers=headers,
                              json={"type": "advanced", "sparql": sparql + "y"})
    assert other.status_code == 422


async def test_a_result_moved_out_of_memory_is_answered_from_its_stored_text(
        tmp_path: Path) -> None:
    journal = JobJournal(tmp_path / "jobs.sqlite3")
    await journal.open()
    result = {"rows": [{"n": n, "text": "ü" * 20} for n in range(ROWS)]}
    async with trio.open_nursery() as nursery:
        await nursery.start(journal.run)
        runner = JobRunner(settings(result_bytes_in_memory=1000),
                           listeners=[journal.record], result_store=journal)
        journal.on_stored = runner.result_stored
        await nursery.start(runner.run)

        async def answer(progress: Any) -> Any:
            return result

        done = await runner.run_to_completion(JobRequest("search", answer, "Searching"))
        await journal.flush()
        moved = runner.get(done.id)
        assert moved is not None and moved.result_offloaded
        dumps = RecordingDumps()
        bodies = Bodies(runner, dumps)
        body = await bodies.job(moved)
        assert json.loads(body) == job_resource(done)
        assert not any(isinstance(call, list) for call in dumps.calls), "spliced, not rebuilt"
        # /result and the synchronous routes answer from the same stored text.
        stored = await bodies.result(moved)
        assert isinstance(stored, json_pieces.Raw) and json.loads(stored.data) == result
        nursery.cancel_scope.cancel()
    await journal.close()
