"""Large bodies are encoded off the event loop, once per job version, and every route that
answers a result gives the same JSON as the job holds."""

from __future__ import annotations

import json
import threading
from datetime import UTC, datetime
from typing import Any

import trio

from colony_actor.api.bodies import INLINE_JOIN_BYTES, Bodies
from colony_actor.jobs import lifecycle
from colony_actor.jobs.lifecycle import Event, Job
from colony_actor.jobs.runner import JobRunner
from tests.api.test_jobs_http import start
from tests.support import Harness, wait_terminal

NOW = datetime(2026, 11, 29, tzinfo=UTC)
ROWS = 4000


class RecordingDumps:
    """The app's compact JSON encoding, noting which thread each call ran on."""

    def __init__(self) -> None:
        self.threads: list[threading.Thread] = []

    def __call__(self, value: Any) -> str:
        self.threads.append(threading.current_thread())
        return json.dumps(value, separators=(",", ":"))


def completed(job_id: str, result: Any) -> Job:
    job = lifecycle.new_job(job_id, "search", {"q": "x"}, "Search started", NOW)
    job = lifecycle.apply(job, Event.START, NOW)
    return lifecycle.apply(job, Event.COMPLETE, NOW, result=result)


async def test_a_result_is_encoded_once_in_a_worker_thread() -> None:
    dumps = RecordingDumps()
    bodies = Bodies(JobRunner(), dumps)
    job = completed("j1", {"rows": [{"n": n, "text": "ü" * 20} for n in range(ROWS)]})
    seen: list[bytes] = []

    async def follower() -> None:
        seen.append(await bodies.job(job))

    async with trio.open_nursery() as nursery:
        for _ in range(20):
            nursery.start_soon(follower)
    assert len(seen) == 20 and len(set(seen)) == 1
    assert json.loads(seen[0]) == job.to_json()
    assert len(dumps.threads) == 1, "twenty followers, one encoding"
    assert dumps.threads[0] is not threading.main_thread()
    assert await bodies.job(job) is seen[0]
    assert len(dumps.threads) == 1


async def test_a_job_without_a_result_is_encoded_inline() -> None:
    dumps = RecordingDumps()
    bodies = Bodies(JobRunner(), dumps)
    job = lifecycle.new_job("j2", "search", {"q": "x"}, "Search started", NOW)
    assert json.loads(await bodies.job(job)) == job.to_json()
    assert dumps.threads == [threading.main_thread()]


async def test_kept_bodies_stay_within_their_budget() -> None:
    dumps = RecordingDumps()
    bodies = Bodies(JobRunner(), dumps, max_entries=2, max_bytes=64 << 10)
    jobs = [completed(f"j{n}", {"n": n}) for n in range(3)]
    for job in jobs:
        await bodies.job(job)
    await bodies.job(jobs[0])  # pushed out by the third: encoded again
    assert len(dumps.threads) == 4
    big = completed("big", "x" * (40 << 10))  # over half the budget: never kept
    await bodies.job(big)
    await bodies.job(big)
    assert len(dumps.threads) == 6
    await bodies.job(jobs[2])
    assert len(dumps.threads) == 6


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
    assert len(json.dumps(result)) > INLINE_JOIN_BYTES
    snapshot = harness.services.runner.get(job_id)
    assert snapshot is not None and job == snapshot.to_json()

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
