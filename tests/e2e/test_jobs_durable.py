"""Jobs that outlive a process: the journal across SIGKILL, SIGTERM with a running job,
and Server-Sent Events read with httpx."""

from __future__ import annotations

import json
import signal
import time
from collections.abc import Callable
from typing import Any

import httpx

from tests.e2e.daemon import Daemon, wait_terminal

INTERRUPTED = "Interrupted: the daemon stopped before the job finished"


def _slow_upload(client: httpx.Client, pods: int = 4) -> str:
    for n in range(pods):
        assert client.post("/api/v1/pods", json={"name": f"slow {n}"}).status_code == 201
    response = client.post("/api/v1/jobs/cache/upload")
    assert response.status_code == 202
    job_id: str = response.json()["job_id"]
    return job_id


def test_sigkill_then_restart_keeps_finished_jobs(daemons: Callable[..., Daemon]) -> None:
    daemon = daemons(env={"COLONY_ACTOR_NETWORK_LATENCY_MS": "300"})
    with daemon.client() as client:
        done_id = client.post("/api/v1/jobs/cache/refresh").json()["job_id"]
        done = wait_terminal(client, done_id)
        assert done["status"] == "completed"
        slow_id = _slow_upload(client)
        time.sleep(0.3)
        assert client.get(f"/api/v1/jobs/{slow_id}").json()["job"]["status"] == "running"
    daemon.signal(signal.SIGKILL)
    daemon.wait()
    again = Daemon(daemon.data_dir, daemon.network_dir, env={}).start()
    try:
        with again.client() as client:
            first = client.get(f"/api/v1/jobs/{done_id}").json()["job"]
            assert first["status"] == "completed"
            result = client.get(f"/api/v1/jobs/{done_id}/result").json()
            assert result["result"]["message"] == "Cache refreshed successfully"
            second = client.get(f"/api/v1/jobs/{slow_id}").json()["job"]
            assert second["status"] == "failed" and second["error"] == INTERRUPTED
            # the slot is free: nothing is left running after a crash
            assert client.post("/api/v1/jobs/cache/refresh").status_code == 202
    finally:
        again.stop()


def test_sigterm_records_the_running_job_as_interrupted(
        daemons: Callable[..., Daemon]) -> None:
    daemon = daemons(env={"COLONY_ACTOR_NETWORK_LATENCY_MS": "500",
                          "COLONY_ACTOR_JOBS_SHUTDOWN_GRACE_SECONDS": "1"})
    with daemon.client() as client:
        slow_id = _slow_upload(client, pods=6)
        time.sleep(0.3)
    started = time.monotonic()
    daemon.signal(signal.SIGTERM)
    assert daemon.wait(timeout=15) == 0
    elapsed = time.monotonic() - started
    assert elapsed < 1 + 3, elapsed  # the grace period plus a second or two
    again = Daemon(daemon.data_dir, daemon.network_dir, env={}).start()
    try:
        with again.client() as client:
            job = client.get(f"/api/v1/jobs/{slow_id}").json()["job"]
            assert job["status"] == "failed" and job["error"] == INTERRUPTED
    finally:
        again.stop()


def _read_events(client: httpx.Client, job_id: str,
                 headers: dict[str, str] | None = None) -> list[dict[str, Any]]:
    events: list[dict[str, Any]] = []
    with client.stream("GET", f"/api/v1/jobs/{job_id}/events", headers=headers or {}) as stream:
        assert stream.status_code == 200
        assert stream.headers["content-type"].startswith("text/event-stream")
        current: dict[str, str] = {}
        for line in stream.iter_lines():
            if line.startswith(":"):
                continue
            if not line:
                if current:
                    events.append({"id": int(current["id"]), "event": current["event"],
                                   "job": json.loads(current["data"])})
                    current = {}
                continue
            key, _, value = line.partition(":")
            current[key] = value.strip()
    return events


def test_server_sent_events_follow_a_job(daemons: Callable[..., Daemon]) -> None:
    daemon = daemons(env={"COLONY_ACTOR_NETWORK_LATENCY_MS": "100"})
    with daemon.client() as client:
        job_id = _slow_upload(client, pods=5)
        events = _read_events(client, job_id)
        assert events, "the stream starts with the current state"
        assert all(e["event"] == "job" for e in events)
        versions = [e["id"] for e in events]
        assert versions == sorted(set(versions))
        assert [e["job"]["version"] for e in events] == versions
        progress = [e["job"]["progress"] for e in events]
        assert progress == sorted(progress)
        assert events[-1]["job"]["status"] == "completed"
        middle = versions[len(versions) // 2]
        resumed = _read_events(client, job_id, {"Last-Event-ID": str(middle)})
        assert [e["id"] for e in resumed] == [v for v in versions if v > middle][-len(resumed):]
        assert all(e["id"] > middle for e in resumed)
        assert resumed[-1]["job"]["status"] == "completed"
        missing = client.get("/api/v1/jobs/nope/events")
        assert missing.status_code == 404


def test_old_results_are_read_back_from_the_journal(daemons: Callable[..., Daemon]) -> None:
    daemon = daemons(env={"COLONY_ACTOR_JOBS_RESULTS_IN_MEMORY": "1"})
    with daemon.client() as client:
        ids = []
        for term in ("alpha", "beta", "gamma"):
            started = client.post("/api/v1/jobs/search", params={"q": term})
            ids.append(started.json()["job_id"])
            assert wait_terminal(client, ids[-1])["status"] == "completed"
        first = client.get(f"/api/v1/jobs/{ids[0]}/result").json()
        assert first["result"]["result_count"] == 0
        assert "sparql_results" in first["result"]
        job = client.get(f"/api/v1/jobs/{ids[0]}").json()["job"]
        assert job["result"] == first["result"]
        listed = client.get("/api/v1/jobs").json()["jobs"]
        assert all(j["result"] is not None for j in listed)
