"""File descriptors (issue 15, finding 2): idle connections, which need no token, must never
take the descriptors the store needs. A real daemon process under a low descriptor limit,
as `prlimit --nofile=256` starts it."""

from __future__ import annotations

import re
import socket
import time
from collections.abc import Callable

import httpx

from tests.e2e.daemon import Daemon

LIMIT = 256
# More idle connections than the limit has descriptors: the figure.
IDLE = 306
SUBJECT = "c0ffee" + "0" * 56
DOC = {"@context": {"schema": "http://schema.org/"}, "@type": "schema:MediaObject",
       "schema:name": "Kind of Blue"}


def sample(metrics: str, name: str, labels: str = "") -> float:
    """One sample of the Prometheus text `metrics` (`labels` as written, `kind="stream"`)."""
    pattern = re.escape(name) + (r"\{" + re.escape(labels) + r"\}" if labels else "") + r" (\S+)"
    found = re.search(rf"^{pattern}$", metrics, re.MULTILINE)
    assert found, f"{name}{{{labels}}} not in /metrics"
    return float(found.group(1))


def edit(client: httpx.Client, pod: str, n: int) -> int:
    return client.put(f"/api/v1/pods/{pod}/{SUBJECT}{n % 100:02d}",
                      json={**DOC, "schema:name": f"take {n}"}).status_code


def test_idle_connections_never_starve_the_store(daemons: Callable[..., Daemon]) -> None:
    daemon = daemons()
    with daemon.client() as client:
        pods = [client.post("/api/v1/pods", json={"name": f"album {n}"}).json()["address"]
                for n in range(4)]
        assert all(edit(client, pods[n % 4], n) == 200 for n in range(40))
    # Restarted, the store's table files are on disk, opened when first read: the moment
    # a starved process fails to open one.
    daemon.stop()
    daemon.nofile = LIMIT
    daemon.start()
    host, port = daemon.url.removeprefix("http://").rsplit(":", 1)
    with daemon.client(timeout=5) as client:
        assert client.get("/health").status_code == 200  # connected before the flood
        idle = [socket.create_connection((host, int(port))) for _ in range(IDLE)]
        try:
            statuses = [edit(client, pods[n % 4], n) for n in range(40)]
            assert statuses == [200] * 40
            assert client.post("/api/v1/pods", json={"name": "during"}).status_code == 201
            assert len(client.get("/api/v1/pods").json()["pods"]) == 5
            # A connection beyond the cap is answered at once and closed.
            with httpx.Client(base_url=daemon.url, timeout=5) as excess:
                refused = excess.get("/health")
            assert refused.status_code == 503
            assert refused.headers["Retry-After"].isdigit()
            body = refused.json()
            assert body["error"] == "OVERLOADED" and body["message"] and body["timestamp"]
            metrics = client.get("/metrics").text
            cap = sample(metrics, "colony_http_connections_max")
            assert sample(metrics, "colony_http_connections") <= cap < LIMIT / 2
            assert sample(metrics, "colony_http_refused_total", 'kind="connection"') >= 1
            # The reserve: at the cap, descriptors are left for the store, journal and index.
            assert LIMIT - daemon.open_descriptors() >= 64
        finally:
            for connection in idle:
                connection.close()
    with daemon.client(timeout=5) as client:
        deadline = time.monotonic() + 10
        while sample(client.get("/metrics").text, "colony_http_connections") > 1:
            assert time.monotonic() < deadline, client.get("/metrics").text[-2500:]
            time.sleep(0.05)
        assert [edit(client, pods[n % 4], n) for n in range(10)] == [200] * 10
        assert client.get("/health").json()["status"] == "healthy"
    daemon.stop()
    assert daemon.wait() == 0


def test_event_streams_beyond_their_cap_are_refused(daemons: Callable[..., Daemon]) -> None:
    daemon = daemons(env={"COLONY_ACTOR_SERVER_MAX_STREAMS": "1",
                          "COLONY_ACTOR_NETWORK_LATENCY_MS": "150"})
    with daemon.client(timeout=10) as client:
        for n in range(3):
            assert client.post("/api/v1/pods", json={"name": f"album {n}"}).status_code == 201
        job_id = client.post("/api/v1/jobs/cache/upload").json()["job_id"]
        events = f"/api/v1/jobs/{job_id}/events"
        with client.stream("GET", events) as first:
            assert first.status_code == 200
            # Held while the stream is: httpx closes the stream with its line iterator.
            lines = first.iter_lines()
            assert next(lines) == "event: job"
            refused = client.get(events)
            assert refused.status_code == 503 and refused.headers["Retry-After"].isdigit()
            assert refused.json()["error"] == "OVERLOADED"
            metrics = client.get("/metrics").text
            assert sample(metrics, "colony_http_streams") == 1
            assert sample(metrics, "colony_http_streams_max") == 1
            assert sample(metrics, "colony_http_refused_total", 'kind="stream"') == 1
            lines.close()
        # The first stream's connection is closed: its slot comes back.
        deadline = time.monotonic() + 10
        while sample(client.get("/metrics").text, "colony_http_streams") > 0:
            assert time.monotonic() < deadline, "a closed stream kept its slot"
            time.sleep(0.05)
        with client.stream("GET", events) as again:
            assert again.status_code == 200
            assert next(again.iter_lines()) == "event: job"
