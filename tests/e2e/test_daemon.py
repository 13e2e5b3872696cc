"""The real daemon process on a real socket, driven with httpx as a user would."""

from __future__ import annotations

import os
import signal
import stat
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

from tests.e2e.daemon import Daemon, wait_terminal
from tests.support import MNEMONIC, PASSWORD

SUBJECT = "c0ffee" + "0" * 58
DOC = {"@context": {"schema": "http://schema.org/"}, "@type": "schema:MediaObject",
       "schema:name": "Kind of Blue", "schema:description": "Miles Davis, 1959"}


def test_seed_flow_on_a_real_socket(daemons: Callable[..., Daemon]) -> None:
    daemon = daemons()
    assert daemon.url.startswith("http://127.0.0.1:")
    with daemon.client() as client:
        health = client.get("/health").json()
        assert health["status"] == "healthy"
        started = client.post("/api/v1/jobs/cache/refresh")
        assert started.status_code == 202
        job_id = started.json()["job_id"]
        assert client.get(f"/api/v1/jobs/{job_id}").status_code == 200
        job = wait_terminal(client, job_id)
        assert job["status"] == "completed" and job["progress"] == 1.0
        result = client.get(f"/api/v1/jobs/{job_id}/result").json()
        assert result["result"]["message"] == "Cache refreshed successfully"
    events = daemon.events()
    assert any(e.get("event") == "job_completed" and e.get("job_id") == job_id
               and "duration_ms" in e for e in events)
    assert any(e.get("event") == "http_request" and e.get("status") == 202 for e in events)
    log = daemon.log()
    assert PASSWORD not in log and MNEMONIC not in log and daemon.token not in log


def test_latency_shows_running_progress_and_conflict(daemons: Callable[..., Daemon]) -> None:
    daemon = daemons(env={"COLONY_ACTOR_NETWORK_LATENCY_MS": "200"})
    with daemon.client() as client:
        for n in range(4):
            assert client.post("/api/v1/pods", json={"name": f"album {n}"}).status_code == 201
        job_id = client.post("/api/v1/jobs/cache/upload").json()["job_id"]
        conflict = client.post("/api/v1/jobs/search", params={"q": "x"})
        assert conflict.status_code == 409
        assert conflict.json()["error"] == "JOB_CREATION_FAILED"
        assert conflict.json()["message"] == "Another operation is already running"
        assert client.get(f"/api/v1/jobs/{job_id}/result").status_code == 202
        progress: list[float] = []
        statuses: list[str] = []
        while True:
            job = client.get(f"/api/v1/jobs/{job_id}").json()["job"]
            progress.append(job["progress"])
            statuses.append(job["status"])
            if job["status"] in {"completed", "failed"}:
                break
            time.sleep(0.05)
        assert job["status"] == "completed" and job["progress"] == 1.0
        assert any(0 < p < 1 and s == "running" for p, s in zip(progress, statuses, strict=True))
        assert progress == sorted(progress)
        assert client.get(f"/api/v1/jobs/{job_id}/result").status_code == 200


def test_two_daemons_share_pods_through_the_network(daemons: Callable[..., Daemon]) -> None:
    first = daemons("first")
    second = daemons("second")
    with first.client() as one, second.client() as two:
        address = one.post("/api/v1/pods", json={"name": "Jazz"}).json()["address"]
        put = one.put(f"/api/v1/pods/{address}/{SUBJECT}", json=DOC)
        assert put.status_code == 200, put.text
        assert wait_terminal(one, one.post("/api/v1/jobs/cache/upload").json()["job_id"]
                             )["status"] == "completed"
        refresh = wait_terminal(two, two.post("/api/v1/jobs/cache/refresh").json()["job_id"])
        assert refresh["status"] == "completed", refresh
        pods = two.get("/api/v1/pods").json()["pods"]
        assert address in [p["address"] for p in pods]
        search = two.post("/api/v1/jobs/search", params={"q": "miles"}).json()["job_id"]
        found = wait_terminal(two, search)["result"]
        assert found["result_count"] >= 1
        assert f"ant://{address}" in found["pods_found"]


def test_sigterm_while_idle_exits_zero(daemons: Callable[..., Daemon]) -> None:
    daemon = daemons()
    daemon.signal(signal.SIGTERM)
    assert daemon.wait(timeout=10) == 0
    assert any(e.get("event") == "daemon_stopped" for e in daemon.events())


def test_generated_password_and_wrong_password(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("COLONY_ACTOR_")}
    daemon = Daemon(tmp_path / "data", tmp_path / "net", env={})
    daemon.env = env
    daemon.start()
    try:
        password_file = tmp_path / "data" / "password"
        assert stat.S_IMODE(password_file.stat().st_mode) == 0o600
        password = password_file.read_text().strip()
        assert password not in daemon.log()
        assert any(e.get("event") == "password_generated" and e.get("path") == str(password_file)
                   for e in daemon.events())
        with daemon.client() as client:
            assert client.post("/auth/token", json={"password": password}).status_code == 200
    finally:
        daemon.stop()
    wrong = subprocess.run(
        [sys.executable, "-m", "colony_actor", "serve", "--port", "0",
         "--data-dir", str(tmp_path / "data"), "--network-dir", str(tmp_path / "net")],
        env={**env, "COLONY_ACTOR_PASSWORD": "not the password"},
        capture_output=True, text=True, timeout=60)
    assert wrong.returncode != 0
    assert "Wrong password" in wrong.stderr


def test_cli_runs_a_job_to_the_end(daemons: Callable[..., Daemon]) -> None:
    daemon = daemons()
    env = {**daemon.env, "COLUMNS": "250"}
    base = [sys.executable, "-m", "colony_actor"]
    run = subprocess.run([*base, "run", "refresh", "--url", daemon.url],
                         env=env, capture_output=True, text=True, timeout=60)
    assert run.returncode == 0, run.stderr
    assert run.stdout.startswith("Cache refreshed successfully.\n")
    bad = subprocess.run([*base, "run", "search", "--url", daemon.url],
                         env=env, capture_output=True, text=True, timeout=60)
    assert bad.returncode == 2
    listed = subprocess.run([*base, "jobs", "--url", daemon.url],
                            env=env, capture_output=True, text=True, timeout=60)
    assert listed.returncode == 0 and "refreshcache" in listed.stdout
