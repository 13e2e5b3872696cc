"""What an operator sees of a real daemon: /metrics after requests and jobs (routes as
templates, error answers by code, job durations and queue, network operations, the
process), and the JSON log: a request id on every line of a request, taken from a sane
`X-Request-ID` or made, returned in the response; the job id on the 202's line.

One daemon serves every case (network latency makes an upload last long enough to see a
job running and one pending)."""

from __future__ import annotations

import re
import time
import uuid
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from tests.e2e.daemon import Daemon, wait_terminal

LATENCY_MS = 200
SUBJECT = "c0ffee00" * 8
DATA = {"@context": {"schema": "http://schema.org/"}, "@type": "schema:MusicAlbum",
        "schema:name": "Abbey Road", "schema:byArtist": "The Beatles"}


def sample(text: str, name: str, **labels: str) -> float | None:
    """The value of the series `name` whose labels include `labels`, or None."""
    for line in text.splitlines():
        match = re.fullmatch(r"([a-zA-Z_:][a-zA-Z0-9_:]*)(\{(.*)\})? (\S+)", line)
        if match is None or match.group(1) != name:
            continue
        found = dict(re.findall(r'(\w+)="((?:[^"\\]|\\.)*)"', match.group(3) or ""))
        if all(found.get(key) == value for key, value in labels.items()):
            return float(match.group(4))
    return None


class Scene:
    """What the module's requests did, for the cases to check."""

    def __init__(self, daemon: Daemon) -> None:
        self.daemon = daemon
        self.during: str = ""  # /metrics while an upload ran and another waited
        self.jobs: list[str] = []
        self.conflict: httpx.Response | None = None


@pytest.fixture(scope="module")
def scene(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Scene]:
    base = tmp_path_factory.mktemp("operators")
    daemon = Daemon(base / "data", base / "network",
                    args=["--latency-ms", str(LATENCY_MS)]).start()
    try:
        seen = Scene(daemon)
        with daemon.client() as client:
            pod = client.post("/api/v1/pods", json={"name": "My music"})
            assert pod.status_code in (200, 201), pod.text
            address = pod.json()["address"]
            put = client.put(f"/api/v1/pods/{address}/{SUBJECT}", json=DATA)
            assert put.status_code < 300, put.text
            first = client.post("/api/v1/jobs/cache/upload")
            assert first.status_code == 202, first.text
            queued = client.post("/api/v1/jobs/cache/upload", params={"queue": "true"})
            assert queued.status_code == 202, queued.text
            seen.conflict = client.post("/api/v1/jobs/cache/upload")
            seen.during = client.get("/metrics").text
            seen.jobs = [first.json()["job_id"], queued.json()["job_id"]]
            for job_id in seen.jobs:
                assert wait_terminal(client, job_id)["status"] == "completed"
        yield seen
    finally:
        daemon.stop()


def test_a_running_and_a_pending_job_show_in_the_gauges(scene: Scene) -> None:
    assert scene.conflict is not None and scene.conflict.status_code == 409
    assert sample(scene.during, "colony_jobs_running") == 1
    assert sample(scene.during, "colony_jobs_pending") == 1
    assert sample(scene.during, "colony_jobs_queue_limit") >= 1  # type: ignore[operator]
    assert sample(scene.during, "colony_http_errors_total",
                  status="409", code="JOB_CREATION_FAILED") == 1


def test_metrics_after_jobs_and_requests(scene: Scene) -> None:
    with scene.daemon.client() as client:
        job_id = scene.jobs[0]
        assert client.get(f"/api/v1/jobs/{job_id}").status_code == 200
        assert client.post(f"/api/v1/jobs/{job_id}/cancel").status_code == 409
        assert client.get(f"/api/v1/jobs/{uuid.uuid4()}").status_code == 404
        for n in range(3):  # raw paths must not become labels
            assert client.get(f"/no/such/route/{n}").status_code == 404
        text = client.get("/metrics").text

    polls = sample(text, "colony_http_requests_total", method="GET",
                   route="/api/v1/jobs/<job_id>", status="200")
    assert polls is not None and polls >= 1
    assert sample(text, "colony_http_requests_total", method="POST",
                  route="/api/v1/jobs/cache/upload", status="202") == 2
    assert sample(text, "colony_http_requests_total", route="unmatched", status="404") == 3
    assert "/no/such/route" not in text and job_id not in text
    assert sample(text, "colony_http_request_seconds_count", route="/api/v1/jobs/<job_id>")
    assert sample(text, "colony_http_errors_total", status="409",
                  code="JOB_NOT_CANCELLABLE") == 1
    assert sample(text, "colony_http_errors_total", status="404", code="JOB_NOT_FOUND") == 1
    assert sample(text, "colony_http_errors_total", status="404", code="NOT_FOUND") == 3

    assert sample(text, "colony_job_duration_seconds_count", job_type="uploadall",
                  outcome="completed") == 2
    # Each upload waited out the network's latency at least once.
    total = sample(text, "colony_job_duration_seconds_sum", job_type="uploadall",
                   outcome="completed")
    assert total is not None and total >= 2 * LATENCY_MS / 1000
    assert sample(text, "colony_jobs_running") == 0
    assert sample(text, "colony_jobs_pending") == 0

    puts = sample(text, "colony_network_operations_total", operation="put_scratchpad",
                  outcome="stored")
    assert puts is not None and puts >= 1
    assert sample(text, "colony_network_operations_total", operation="put_pointer",
                  outcome="stored")
    timed = sample(text, "colony_network_operation_seconds_sum",
                   operation="put_scratchpad", outcome="stored")
    assert timed is not None and timed >= puts * LATENCY_MS / 1000

    assert sample(text, "process_resident_memory_bytes")
    assert sample(text, "process_open_fds")
    assert sample(text, "python_info") == 1


def _events_with(daemon: Daemon, request_id: str) -> list[dict[str, Any]]:
    deadline = time.monotonic() + 10
    while True:  # the access line is written as the response leaves: give it a moment
        found = [e for e in daemon.events() if e.get("request_id") == request_id]
        if any(e.get("event") == "http_request" for e in found) or time.monotonic() > deadline:
            return found
        time.sleep(0.05)


def test_the_202_line_carries_the_request_id_and_the_job_id(scene: Scene) -> None:
    request_id = "upload-" + uuid.uuid4().hex
    with scene.daemon.client() as client:
        started = client.post("/api/v1/jobs/cache/upload", headers={"X-Request-ID": request_id})
        assert started.status_code == 202, started.text
        assert started.headers["X-Request-ID"] == request_id
        job_id = started.json()["job_id"]
        wait_terminal(client, job_id)
    lines = [e for e in _events_with(scene.daemon, request_id) if e["event"] == "http_request"]
    assert len(lines) == 1
    assert lines[0]["job_id"] == job_id
    assert lines[0]["status"] == 202 and lines[0]["route"] == "/api/v1/jobs/cache/upload"


def test_a_synchronous_run_s_line_carries_its_job_id(scene: Scene) -> None:
    request_id = uuid.uuid4().hex
    with scene.daemon.client() as client:
        answer = client.put("/api/v1/cache", headers={"X-Request-ID": request_id})
        assert answer.status_code == 200, answer.text
        newest = client.get("/api/v1/jobs", params={"limit": 1}).json()
    line = next(e for e in _events_with(scene.daemon, request_id)
                if e["event"] == "http_request")
    assert line["status"] == 200 and line["route"] == "/api/v1/cache"
    assert line["job_id"] == newest["jobs"][0]["id"]


def test_a_refused_request_s_line_says_why(scene: Scene) -> None:
    """(That every line logged while serving a request carries its id, the handler's and
    its tasks' too, tests/api/test_request_log.py shows.)"""
    request_id = uuid.uuid4().hex
    with scene.daemon.client() as client:
        refused = client.post("/auth/token", json={"password": "not the password at all"},
                              headers={"X-Request-ID": request_id})
    assert refused.status_code == 401
    assert refused.headers["X-Request-ID"] == request_id
    events = _events_with(scene.daemon, request_id)
    assert events and events[-1]["event"] == "http_request"
    assert events[-1]["error"] == "UNAUTHORIZED" and events[-1]["status"] == 401


@pytest.mark.parametrize("hostile", ["x" * 129, "a\x01b", "line\tbreak", "spaces in it",
                                     "caf\u00e9"])
def test_a_hostile_request_id_is_replaced(scene: Scene, hostile: str) -> None:
    with scene.daemon.client() as client:
        answer = client.get("/health", headers={"X-Request-ID": hostile.encode("utf-8")})
    assert answer.status_code == 200
    made = answer.headers["X-Request-ID"]
    assert made != hostile and re.fullmatch(r"[0-9a-f]{32}", made)
    assert hostile not in scene.daemon.log()
    assert any(e.get("event") == "http_request" for e in _events_with(scene.daemon, made))


def test_a_request_without_an_id_gets_one(scene: Scene) -> None:
    with scene.daemon.client() as client:
        made = [client.get("/health").headers["X-Request-ID"] for _ in range(2)]
    assert made[0] != made[1]
    assert all(re.fullmatch(r"[0-9a-f]{32}", m) for m in made)


