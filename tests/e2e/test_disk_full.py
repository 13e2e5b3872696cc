"""A full disk (issue 15, finding 1): storage errors are answers, and they heal.

A real daemon process whose data directory is a 20 MB tmpfs: filled to the last byte, an
edit answers 507 INSUFFICIENT_STORAGE (never 500) and /health says degraded; once space is
freed the daemon writes again with no restart (RocksDB's sticky background error healed by
reopening the store), and every edit acknowledged before the fault survives a restart. A
graceful stop while the disk is full exits 0.

Mounting needs root (CI runs as root on this kind of machine); elsewhere the test is
skipped, with the reason (tests/disks.py).
"""

from __future__ import annotations

import re
import signal
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.disks import fill, small_disk
from tests.e2e.daemon import Daemon

SIZE = "20m"
SUBJECT = "c0ffee" + "0" * 55
DOC = {"@context": {"schema": "http://schema.org/"}, "@type": "schema:MusicRecording",
       # About a kilobyte a record: the disk fills in a few dozen edits, never by chance.
       "schema:description": "x" * 1000}


@pytest.fixture
def disk(tmp_path: Path) -> Iterator[Path]:
    with small_disk(tmp_path / "disk", SIZE) as mount:
        yield mount


def edit(client: httpx.Client, pod: str, n: int) -> httpx.Response:
    return client.put(f"/api/v1/pods/{pod}/{SUBJECT}{n:03d}",
                      json={**DOC, "schema:name": f"take {n}"})


def gauge(metrics: str, reason: str) -> float:
    found = re.search(rf'^colony_degraded{{reason="{reason}"}} (\S+)$', metrics, re.MULTILINE)
    assert found, f"colony_degraded{{reason={reason!r}}} not in /metrics"
    return float(found.group(1))


def fault(client: httpx.Client, pod: str, data_dir: Path, n: int,
          acknowledged: list[int]) -> tuple[Path, int]:
    """Fill the disk, then edit until the store refuses: every edit answered 2xx on the
    way counts as acknowledged. The filler and the next edit number."""
    filler = fill(data_dir)
    for _ in range(50):
        answer = edit(client, pod, n)
        if answer.status_code != 200:
            break
        acknowledged.append(n)
        n += 1
    else:
        raise AssertionError("50 edits fit on a full disk")
    assert answer.status_code == 507, answer.text
    body = answer.json()
    assert body["error"] == "INSUFFICIENT_STORAGE" and body["timestamp"]
    assert "space" in body["message"] and "free" in body["message"].lower()
    return filler, n + 1


def wait_healthy(client: httpx.Client, timeout: float = 10) -> dict[str, object]:
    deadline = time.monotonic() + timeout
    while True:
        health: dict[str, object] = client.get("/health").json()
        if health["status"] == "healthy" or time.monotonic() > deadline:
            return health
        time.sleep(0.1)


def test_a_full_disk_answers_507_and_heals_without_restart(disk: Path, tmp_path: Path) -> None:
    daemon = Daemon(disk, tmp_path / "network").start()
    acknowledged: list[int] = []
    try:
        with daemon.client() as client:
            pod = client.post("/api/v1/pods", json={"name": "tapes"}).json()["address"]
            for n in range(10):
                assert edit(client, pod, n).status_code == 200
                acknowledged.append(n)

            # Full: every edit and pod creation is refused with 507, nothing half-written.
            filler, n = fault(client, pod, disk, 10, acknowledged)
            again = edit(client, pod, n)
            assert again.status_code == 507 and again.json()["error"] == "INSUFFICIENT_STORAGE"
            created = client.post("/api/v1/pods", json={"name": "refused"})
            assert created.status_code == 507, created.text
            health = client.get("/health")
            assert health.status_code == 200
            assert health.json()["status"] == "degraded"
            assert "out_of_space" in health.json()["reasons"]
            assert gauge(client.get("/metrics").text, "out_of_space") == 1

            # Space freed: the very next edit is written, with no restart.
            filler.unlink()
            n += 1
            assert edit(client, pod, n).status_code == 200, "no recovery after space freed"
            acknowledged.append(n)
            for _ in range(5):
                n += 1
                assert edit(client, pod, n).status_code == 200
                acknowledged.append(n)
            assert client.post("/api/v1/pods", json={"name": "later"}).status_code == 201
            assert wait_healthy(client)["status"] == "healthy"
            assert gauge(client.get("/metrics").text, "out_of_space") == 0

            # Again, and this time nothing writes: the daemon's own probe heals the store.
            filler, n = fault(client, pod, disk, n + 1, acknowledged)
            assert client.get("/health").json()["status"] == "degraded"
            filler.unlink()
            assert wait_healthy(client)["status"] == "healthy", "the probe did not heal"
            assert edit(client, pod, n).status_code == 200
            acknowledged.append(n)

            # A graceful stop while the disk is full exits 0.
            filler, n = fault(client, pod, disk, n + 1, acknowledged)
        daemon.signal(signal.SIGTERM)
        assert daemon.wait(timeout=20) == 0, daemon.log()[-3000:]
        events = [e.get("event") for e in daemon.events()]
        assert "daemon_stopped" in events and "startup_failed" not in events
        filler.unlink()

        # Every acknowledged edit is there after a restart.
        daemon.start()
        with daemon.client() as client:
            assert client.get("/health").json()["status"] == "healthy"
            for n in acknowledged:
                answer = client.get(f"/api/v1/search/subject/ant://{SUBJECT}{n:03d}")
                assert answer.status_code == 200
                assert f'"take {n}"' in answer.text, f"edit {n} lost"
    finally:
        daemon.stop()
