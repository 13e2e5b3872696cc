"""Faults on a real daemon: a kill at the instant a job is answered, and network failures
injected through the settings."""

from __future__ import annotations

import signal
from collections.abc import Callable
from pathlib import Path

from tests.e2e.daemon import Daemon, wait_terminal

INTERRUPTED = "Interrupted: the daemon stopped before the job finished"


def test_a_job_answered_202_survives_a_kill_at_that_instant(tmp_path: Path) -> None:
    # A refresh reads the network first: with 300 ms per read, each job is still running
    # when the process dies, whatever the machine's speed.
    env = {"COLONY_ACTOR_NETWORK_LATENCY_MS": "300"}
    accepted: list[str] = []
    for _ in range(3):
        daemon = Daemon(tmp_path / "data", tmp_path / "network", env=env).start()
        try:
            with daemon.client() as client:
                response = client.post("/api/v1/jobs/cache/refresh")
                daemon.signal(signal.SIGKILL)  # as soon as the 202 is in
                assert response.status_code == 202, response.text
                accepted.append(response.json()["job_id"])
            daemon.wait()
        finally:
            daemon.stop()
    again = Daemon(tmp_path / "data", tmp_path / "network").start()
    try:
        with again.client() as client:
            for job_id in accepted:
                found = client.get(f"/api/v1/jobs/{job_id}")
                assert found.status_code == 200, (job_id, found.text)
                job = found.json()["job"]
                assert job["status"] == "failed" and job["error"] == INTERRUPTED, job
    finally:
        again.stop()


def test_failures_injected_by_configuration(daemons: Callable[..., Daemon]) -> None:
    daemon = daemons(env={"COLONY_ACTOR_NETWORK_FAILURE_RATE": "1",
                          "COLONY_ACTOR_NETWORK_FAIL_OPERATIONS": "put_pointer"})
    assert any(e.get("event") == "network_faults_injected" for e in daemon.events())
    with daemon.client() as client:
        created = client.post("/api/v1/pods", json={"name": "Kept"})
        assert created.status_code == 201  # reads work: only pointer writes fail
        upload = client.post("/api/v1/jobs/cache/upload").json()["job_id"]
        job = wait_terminal(client, upload)
        assert job["status"] == "failed", job
        assert job["error"].startswith("Failed to upload 2 pod(s)"), job  # Kept, the config
        pending = client.get("/api/v1/updates").json()["update"]
        assert created.json()["address"] in pending  # nothing lost: still queued
