"""Peer data is bounded, against real daemon processes sharing a real network directory:
bob publishes (with roomy scratchpads), alice follows his pods with her limits lowered so
that each case is cheap. One pair of daemons serves every case of this module."""

from __future__ import annotations

import os
import signal
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.e2e.daemon import Daemon, wait_terminal

SUBJECT = "c0ffee" + "0" * 58
BOB = "legal winner thank year wave sausage worth useful legal winner thank yellow"
ALICE_LIMITS = {
    # Her scratchpads (so the largest record she reads) are 16 KiB; a referenced pod may
    # hold 8 KiB; she looks at 5 references of a pod.
    "COLONY_ACTOR_NETWORK_SCRATCHPAD_LIMIT": "16384",
    "COLONY_ACTOR_NETWORK_MAX_POD_BYTES": "8192",
    "COLONY_ACTOR_NETWORK_MAX_REFS_PER_POD": "5",
}


@dataclass
class Peers:
    alice: Daemon
    bob: Daemon
    network: Path
    outside: Path


@pytest.fixture(scope="module")
def peers(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Peers]:
    root = tmp_path_factory.mktemp("peers")
    bob = Daemon(root / "bob", root / "network", env={
        "COLONY_ACTOR_MNEMONIC": BOB, "COLONY_ACTOR_NETWORK_SCRATCHPAD_LIMIT": "1048576"})
    alice = Daemon(root / "alice", root / "network", env=ALICE_LIMITS)
    try:
        bob.start()
        alice.start()
        yield Peers(alice, bob, root / "network", root / "outside")
    finally:
        alice.stop()
        bob.stop()


def job(client: httpx.Client, path: str, timeout: float = 30) -> dict[str, Any]:
    started = client.post(path)
    assert started.status_code == 202, started.text
    return wait_terminal(client, started.json()["job_id"], timeout=timeout)


def publish(daemon: Daemon, name: str, description: str = "a pod") -> str:
    with daemon.client() as client:
        address: str = client.post("/api/v1/pods", json={"name": name}).json()["address"]
        put = client.put(f"/api/v1/pods/{address}/{SUBJECT}", json={
            "@context": {"schema": "http://schema.org/"}, "schema:name": name,
            "schema:description": description})
        assert put.status_code == 200, put.text
        assert job(client, "/api/v1/jobs/cache/upload")["status"] == "completed"
    return address


def follow(daemon: Daemon, name: str, pods: list[str]) -> str:
    with daemon.client() as client:
        mine: str = client.post("/api/v1/pods", json={"name": name}).json()["address"]
        for pod in pods:
            added = client.post(f"/api/v1/pods/{mine}/pod_ref", json={"pod_ref": pod})
            assert added.status_code < 300, added.text
        assert job(client, "/api/v1/jobs/cache/upload")["status"] == "completed"
    return mine


def skipped(result: dict[str, Any]) -> dict[str, str]:
    return {s["address"]: s["reason"] for s in result["skipped"]}


def test_oversize_records_and_pods_and_references_past_the_cap_are_skipped(
        peers: Peers) -> None:
    huge = publish(peers.bob, "One huge record", "x" * 40_000)
    large = publish(peers.bob, "Larger than a pod may be", "y" * 12_000)
    hub = publish(peers.bob, "Hub")
    with peers.bob.client() as client:
        for n in range(20):
            client.post(f"/api/v1/pods/{hub}/pod_ref", json={"pod_ref": f"{n + 1:064x}"})
        assert job(client, "/api/v1/jobs/cache/upload")["status"] == "completed"
    fine = publish(peers.bob, "Fine")
    follow(peers.alice, "Caps", [huge, large, hub, fine])
    with peers.alice.client() as client:
        refreshed = job(client, "/api/v1/jobs/cache/refresh/0")
        assert refreshed["status"] == "completed", refreshed
        found = skipped(refreshed["result"])
        assert "its file is" in found[huge] and "more than the 16472 allowed" in found[huge]
        assert found[large] == (f"Pod {large} holds more than 8192 bytes, the cap for a "
                                f"referenced pod (network.max_pod_bytes)")
        assert found[hub] == ("References not followed: 15 of its 20 references are past "
                              "the cap of 5 per pod (network.max_refs_per_pod)")
        assert fine not in found
        # What she holds about the subject every pod of bob's describes: the hub's (whose
        # references only were cut) and Fine's, none of the others'.
        about = job(client, f"/api/v1/jobs/search/subject/{SUBJECT}")
        graphs = {b["graph"]["value"] for b in about["result"]["results"]["bindings"]}
        assert graphs == {f"ant://{hub}", f"ant://{fine}"}


def test_a_fifo_or_a_link_to_dev_zero_skips_its_pod_and_the_daemon_goes_on(
        peers: Peers) -> None:
    fifo, zero, fine = (publish(peers.bob, name) for name in ("FIFO", "Zero", "Fine too"))
    follow(peers.alice, "Specials", [fifo, zero, fine])
    (peers.network / "pointers" / fifo).unlink()
    os.mkfifo(peers.network / "pointers" / fifo)
    (peers.network / "pointers" / zero).unlink()
    (peers.network / "pointers" / zero).symlink_to("/dev/zero")
    with peers.alice.client() as client:
        # Before the fix the FIFO held the job for good (and cancel did nothing).
        refreshed = job(client, "/api/v1/jobs/cache/refresh/0", timeout=30)
        assert refreshed["status"] == "completed", refreshed
        found = skipped(refreshed["result"])
        assert found[fifo] == f"Cannot read pointer at {fifo}: its file is not a regular file"
        assert found[zero] == f"Cannot read pointer at {zero}: its file is a symbolic link"
        assert fine not in found
        # Other jobs run.
        assert job(client, "/api/v1/jobs/search?q=fine")["status"] == "completed"


def test_a_linked_lock_file_creates_nothing_elsewhere(peers: Peers) -> None:
    peers.outside.mkdir()
    with peers.alice.client() as client:
        pod = client.post("/api/v1/pods", json={"name": "Locked"}).json()["address"]
        (peers.network / "locks").mkdir(exist_ok=True)
        (peers.network / "locks" / f"{pod}.lock").symlink_to(peers.outside / "planted")
        uploaded = job(client, "/api/v1/jobs/cache/upload")
    assert uploaded["status"] == "failed" and pod in uploaded["error"], uploaded
    assert list(peers.outside.iterdir()) == []


def test_after_all_that_the_daemon_stops_at_once(peers: Peers) -> None:
    peers.alice.signal(signal.SIGTERM)
    assert peers.alice.wait(timeout=15) == 0
