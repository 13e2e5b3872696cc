"""colonyd's current paths (`/colony-0/...`, `/colony-auth/token`, `/colony-health`) and
ours serve the same operations: the README's job flow runs on both against a real daemon."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest

from tests.e2e.daemon import Daemon
from tests.support import PASSWORD

# (API prefix, token path, health path) of each name of the API.
PREFIXES = [("/api/v1", "/auth/token", "/health"),
            ("/colony-0", "/colony-auth/token", "/colony-health")]


@pytest.fixture(scope="module")
def daemon(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Daemon]:
    root = tmp_path_factory.mktemp("colonyd-paths")
    started = Daemon(root / "a", root / "network").start()
    yield started
    started.stop()


@pytest.mark.parametrize(("api", "auth", "health"), PREFIXES)
def test_readme_job_flow(daemon: Daemon, api: str, auth: str, health: str) -> None:
    with httpx.Client(base_url=daemon.url, timeout=30) as anonymous:
        assert anonymous.get(health).json()["status"] == "healthy"
        refused = anonymous.get(f"{api}/jobs")
        assert refused.status_code == 401
        assert refused.json()["error"] == "UNAUTHORIZED"
        login = anonymous.post(auth, json={"password": PASSWORD})
        assert login.status_code == 200 and login.json()["token_type"] == "Bearer"
        token = login.json()["token"]
    headers = {"Authorization": f"Bearer {token}"}
    with httpx.Client(base_url=daemon.url, headers=headers, timeout=30) as client:
        started = client.post(f"{api}/jobs/cache/refresh")
        assert started.status_code == 202
        job_id = started.json()["job_id"]
        assert started.headers["Location"] == f"{api}/jobs/{job_id}"
        status = client.get(started.headers["Location"])
        assert status.status_code == 200 and status.json()["job"]["id"] == job_id
        job = status.json()["job"]
        while job["status"] not in {"completed", "failed", "cancelled"}:
            job = client.get(f"{api}/jobs/{job_id}", params={"wait": 5}).json()["job"]
        assert job["status"] == "completed"
        result = client.get(f"{api}/jobs/{job_id}/result")
        assert result.status_code == 200
        assert result.json()["result"]["message"] == "Cache refreshed successfully"
        with client.stream("GET", f"{api}/jobs/{job_id}/events") as stream:
            assert stream.headers["content-type"].startswith("text/event-stream")
            assert "event: job" in "".join(stream.iter_text())
        missing = client.get(f"{api}/jobs/no-such-job")
        assert missing.status_code == 404 and missing.json()["error"] == "JOB_NOT_FOUND"


def test_the_same_answers_under_both_names(daemon: Daemon) -> None:
    with daemon.client() as client:
        ours = client.post("/api/v1/pods", json={"name": "Both names"}).json()
        assert ours["name"] == "Both names"
        listed = [client.get(f"{api}/pods").json() for api, _, _ in PREFIXES]
        assert listed[0] == listed[1]
        assert ours["address"] in {pod["address"] for pod in listed[1]["pods"]}
        assert client.post("/colony-0/nowhere").json()["error"] == "NOT_FOUND"
