"""Storage errors over HTTP (API.md §1, §6): 507 INSUFFICIENT_STORAGE when the data
directory is out of space, 503 STORAGE_UNAVAILABLE with Retry-After otherwise, /health
degraded with its reasons while it lasts (and /metrics' gauges), healthy again with no
restart. The daemon's parts on a real 20 MB tmpfs (tests/disks.py: skipped, with the
reason, where mounting is impossible)."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import trio

from colony_actor.api.errors import from_exception
from colony_actor.colony.errors import StorageFull, StorageUnavailable
from tests.disks import fill, no_new_descriptors, small_disk
from tests.support import Harness, build

SUBJECT = "c0ffee" + "0" * 58


def doc(name: str) -> dict[str, Any]:
    # Ten kilobytes: always a new page of log, even where a small write would still fit.
    return {"@context": {"schema": "http://schema.org/"}, "@type": "schema:MusicRecording",
            "schema:name": name, "schema:description": "x" * 10_000}


def gauges(metrics: str) -> dict[str, float]:
    return {reason: float(value) for reason, value in
            re.findall(r'^colony_degraded\{reason="(\w+)"\} (\S+)$', metrics, re.MULTILINE)}


def test_the_errors_map_to_their_codes() -> None:
    full = from_exception(StorageFull("The disk is full"))
    assert full is not None and (full.code, full.status) == ("INSUFFICIENT_STORAGE", 507)
    assert "Retry-After" not in full.headers  # a retry does not help until space is freed
    unavailable = from_exception(StorageUnavailable("Try again", retry_after=5))
    assert unavailable is not None and unavailable.headers["Retry-After"] == "5"
    assert (unavailable.code, unavailable.status) == ("STORAGE_UNAVAILABLE", 503)


@pytest.fixture
def disk(tmp_path: Path) -> Iterator[Path]:
    with small_disk(tmp_path / "disk") as mount:
        yield mount


async def wait_health(harness: Harness, status: str = "healthy") -> dict[str, Any]:
    """/health once it says `status` (or after ten seconds)."""
    client = harness.app.test_client()
    with trio.move_on_after(10):
        while True:
            health: dict[str, Any] = await (await client.get("/health")).get_json()
            if health["status"] == status:
                break
            await trio.sleep(0.05)
    return health


async def test_a_full_disk_then_no_descriptors_then_healthy(nursery: trio.Nursery, disk: Path,
                                                            tmp_path: Path) -> None:
    harness = await build(nursery, disk / "data", tmp_path / "network")
    client, headers = harness.app.test_client(), harness.headers
    created = await client.post("/api/v1/pods", json={"name": "tapes"}, headers=headers)
    path = f"/api/v1/pods/{(await created.get_json())['address']}/{SUBJECT}"
    assert (await client.put(path, json=doc("before"), headers=headers)).status_code == 200

    filler = fill(disk)
    full = await client.put(path, json=doc("refused"), headers=headers)
    assert full.status_code == 507
    body = await full.get_json()
    assert body["error"] == "INSUFFICIENT_STORAGE" and body["timestamp"].endswith("Z")
    assert "Free some space" in body["message"] and str(disk) in body["message"]
    assert "Retry-After" not in full.headers
    health = await (await client.get("/health")).get_json()
    assert health["status"] == "degraded" and health["reasons"] == ["out_of_space"]
    assert "Free some space" in health["messages"][0]
    metrics = (await (await client.get("/metrics")).get_data()).decode()
    assert gauges(metrics) == {"out_of_space": 1, "store_unavailable": 0,
                               "search_index_set_aside": 0, "journal_unavailable": 0}

    # Space is back, but the store cannot be opened again for want of descriptors: 503,
    # worth a retry (whether this write or the probe tried the reopen first).
    with no_new_descriptors():
        filler.unlink()
        refused = await client.put(path, json=doc("refused"), headers=headers)
    assert refused.status_code == 503, await refused.get_data()
    body = await refused.get_json()
    assert body["error"] == "STORAGE_UNAVAILABLE" and "file descriptors" in body["message"]
    assert int(refused.headers["Retry-After"]) > 0
    health = await (await client.get("/health")).get_json()
    assert health["status"] == "degraded" and health["reasons"] == ["store_unavailable"]

    # Descriptors are back: the probe heals the store, with no restart.
    assert (await wait_health(harness))["status"] == "healthy"
    assert (await client.put(path, json=doc("after"), headers=headers)).status_code == 200
    metrics = (await (await client.get("/metrics")).get_data()).decode()
    assert set(gauges(metrics).values()) == {0}
    assert re.search(r"^colony_store_reopens 1\.0$", metrics, re.MULTILINE)
    data = await client.get(f"/api/v1/search/subject/ant://{SUBJECT}", headers=headers)
    assert '"after"' in (await data.get_data()).decode()


async def test_a_job_journal_out_of_space_is_degraded_too(nursery: trio.Nursery, disk: Path,
                                                          tmp_path: Path) -> None:
    harness = await build(nursery, disk / "data", tmp_path / "network")
    client, headers = harness.app.test_client(), harness.headers
    filler = fill(disk)
    # A search writes nothing to the store; its job goes to the journal, which cannot: so
    # it is not accepted (a 202 promises a job the journal holds) and never runs.
    started = await client.post("/api/v1/jobs/search?q=abbey", headers=headers)
    assert started.status_code == 503
    assert (await started.get_json())["error"] == "STORAGE_UNAVAILABLE"
    health = await wait_health(harness, "degraded")
    assert health["status"] == "degraded" and health["reasons"] == ["out_of_space"]
    assert "job journal" in health["messages"][0]
    filler.unlink()
    assert (await wait_health(harness))["status"] == "healthy"  # the journal's retry
    again = await client.post("/api/v1/jobs/search?q=abbey", headers=headers)
    assert again.status_code == 202
