"""A refresh takes in a bounded amount of other people's data: a referenced pod over its
size cap, or held in records no file of the network may be, is skipped; references past
the fan-out caps are not followed; each is named in the result with its reason. Against
the real local network directory."""

from __future__ import annotations

import dataclasses
import os
from pathlib import Path
from typing import Any

import pytest
import trio
from pyoxigraph import NamedNode

from colony_actor.colony.facade import Colony
from colony_actor.colony.store.changes import subjects
from colony_actor.colony.store.writes import Write
from colony_actor.colony.sync.refresh import PeerLimits
from colony_actor.colony.vocab import RDF_TYPE, REF, pod_node
from colony_actor.jobs.lifecycle import JobStatus
from colony_actor.jobs.runner import JobRunner
from colony_actor.service import catalogue
from colony_actor.service.operations import Operations
from tests.jobs.support import settings as runner_settings

from ..conftest import SETTINGS, OpenColony, local_network, no_progress

CTX = {"schema": "http://schema.org/"}
LIMITS: PeerLimits = SETTINGS["peer_limits"]


def subject(i: int) -> str:
    return f"{i:064x}"


def limits(**changes: int) -> PeerLimits:
    return dataclasses.replace(LIMITS, **changes)


async def published_pod(colony: Colony, name: str, items: int = 1) -> str:
    pod = await colony.create_pod(name)
    for i in range(items):
        await colony.put_subject_data(pod.address, subject(i), {
            "@context": CTX, "schema:name": f"{name} item {i} " + "words " * 20})
    await colony.upload_all(no_progress)
    return pod.address


def reasons(result: dict[str, Any]) -> dict[str, str]:
    return {s["address"]: s["reason"] for s in result["skipped"]}


async def test_a_referenced_pod_over_its_size_cap_is_skipped(tmp_path: Path,
                                                             open_colony: OpenColony) -> None:
    network = local_network(tmp_path / "network")
    bob = await open_colony(network, who="bob", scratchpad_limit=2048)
    big = await published_pod(bob, "Big", items=40)  # about 8 KiB in several chunks
    small = await published_pod(bob, "Small")
    alice = await open_colony(network, peer_limits=limits(max_pod_bytes=4096))
    mine = await alice.create_pod("Mine")
    for pod in (big, small):
        await alice.add_pod_ref(mine.address, pod)
    await alice.upload_all(no_progress)

    result = await alice.refresh_ref(0, no_progress)
    assert reasons(result) == {big: f"Pod {big} holds more than 4096 bytes, the cap for a "
                                    f"referenced pod (network.max_pod_bytes)"}
    assert result["pods_refreshed"] == 1
    assert alice.store.statements(big) == []
    assert alice.store.statements(small) != []

    # The user's own pods are never refused for their size.
    again = await open_colony(network, who="bob", device="2",
                              peer_limits=limits(max_pod_bytes=4096))
    own = await again.refresh_cache(no_progress)
    assert own["skipped"] == [] and own["pods_refreshed"] == 3  # the registry too
    assert again.store.statements(big) == bob.store.statements(big)


async def test_a_record_larger_than_any_there_can_be_is_skipped(
        tmp_path: Path, open_colony: OpenColony) -> None:
    # A peer whose one record is far larger than a scratchpad may be (the 200 MiB case,
    # scaled down: the reader's scratchpads are 4 KiB, the record about 12 KiB).
    roomy = local_network(tmp_path / "network", max_scratchpad_bytes=1 << 20)
    bob = await open_colony(roomy, who="bob", scratchpad_limit=1 << 20)
    big = await published_pod(bob, "One big record", items=60)
    small = await published_pod(bob, "Small")
    alice = await open_colony(local_network(tmp_path / "network", max_scratchpad_bytes=4096),
                              scratchpad_limit=4096)
    mine = await alice.create_pod("Mine")
    for pod in (big, small):
        await alice.add_pod_ref(mine.address, pod)
    await alice.upload_all(no_progress)

    result = await alice.refresh_ref(0, no_progress)
    assert list(reasons(result)) == [big]
    assert "more than the 4184 allowed" in reasons(result)[big]
    assert alice.store.statements(big) == []
    assert alice.store.statements(small) != []


async def add_refs(colony: Colony, pod: str, count: int) -> None:
    """`count` references to pods nobody published, written straight into the pod (as a
    peer's own software might) and queued for upload with one real reference."""
    await colony.add_pod_ref(pod, subject(10**9))
    node = pod_node(pod)
    targets = [NamedNode(f"ant://{subject(n)}") for n in range(1, count + 1)]
    triples = " ".join(f"{t} {RDF_TYPE} {REF} ." for t in targets)
    await trio.to_thread.run_sync(colony.store.apply, Write(
        f"INSERT DATA {{ GRAPH {node} {{ {triples} }} }}",
        {node: subjects(*targets)}))


async def test_references_past_the_per_pod_cap_are_not_followed(
        tmp_path: Path, open_colony: OpenColony) -> None:
    network = local_network(tmp_path / "network")
    bob = await open_colony(network, who="bob")
    hub = (await bob.create_pod("Hub")).address
    await add_refs(bob, hub, 20_000)  # as many as in the finding
    await bob.upload_all(no_progress)
    alice = await open_colony(network, peer_limits=limits(max_refs_per_pod=5))
    mine = await alice.create_pod("Mine")
    await alice.add_pod_ref(mine.address, hub)
    await alice.upload_all(no_progress)

    result = await alice.refresh_ref(0, no_progress)
    found = reasons(result)
    assert found.pop(hub) == ("References not followed: 19996 of its 20001 references are "
                              "past the cap of 5 per pod (network.max_refs_per_pod)")
    # The five looked at lead nowhere; none of the others was tried.
    assert list(found) == [subject(n) for n in range(1, 6)]
    assert set(found.values()) == {"No pod at this address on the network"}
    assert result["pods_refreshed"] == 1 and result["depth_reached"] == 1


async def test_references_past_the_per_refresh_cap_are_not_followed(
        tmp_path: Path, open_colony: OpenColony) -> None:
    network = local_network(tmp_path / "network")
    bob = await open_colony(network, who="bob")
    theirs = [await published_pod(bob, f"Bob's {n}") for n in range(3)]
    alice = await open_colony(network, peer_limits=limits(max_refs_per_refresh=2))
    mine = await alice.create_pod("Mine")
    for pod in theirs:
        await alice.add_pod_ref(mine.address, pod)
    await alice.upload_all(no_progress)

    result = await alice.refresh_ref(0, no_progress)
    assert reasons(result) == {mine.address: (
        "References not followed: 1 came after the refresh had followed as many references "
        "as it may (network.max_refs_per_refresh)")}
    assert result["pods_refreshed"] == 2
    held = {pod for pod in theirs if alice.store.statements(pod)}
    assert len(held) == 2


@pytest.mark.parametrize("where", ["pointer", "chunk"])
async def test_a_fifo_or_a_link_to_dev_zero_skips_that_pod_only(
        tmp_path: Path, open_colony: OpenColony, where: str) -> None:
    network = local_network(tmp_path / "network")
    bob = await open_colony(network, who="bob")
    fifo, zero, fine = [await published_pod(bob, name) for name in ("F", "Z", "Fine")]
    alice = await open_colony(network)
    mine = await alice.create_pod("Mine")
    for pod in (fifo, zero, fine):
        await alice.add_pod_ref(mine.address, pod)
    await alice.upload_all(no_progress)

    def path(pod: str) -> Path:
        if where == "pointer":
            return network.directory / "pointers" / pod
        return network.directory / "scratchpads" / bob.store.scratchpads(pod)[0]

    path(fifo).unlink()
    os.mkfifo(path(fifo))
    path(zero).unlink()
    path(zero).symlink_to("/dev/zero")
    result = await alice.refresh_ref(0, no_progress)
    found = reasons(result)
    assert set(found) == {fifo, zero}
    assert "its file is not a regular file" in found[fifo]
    assert "its file is a symbolic link" in found[zero]
    assert alice.store.statements(fine) != []


async def stuck_world(tmp_path: Path, open_colony: OpenColony, nursery: trio.Nursery,
                      read_timeout: float) -> tuple[Any, JobRunner, Operations, str, str]:
    """Alice references bob's pods "Stuck" and "Fine"; reads of Stuck's pointer hang in
    their thread (a hung disk, stood in for by the network's stall injection); the real
    job runner runs her jobs."""
    network = local_network(tmp_path / "network", timeout_seconds=read_timeout)
    bob = await open_colony(network, who="bob")
    stuck, fine = [await published_pod(bob, name) for name in ("Stuck", "Fine")]
    alice = await open_colony(network)
    mine = await alice.create_pod("Mine")
    for pod in (stuck, fine):
        await alice.add_pod_ref(mine.address, pod)
    await alice.upload_all(no_progress)
    runner = JobRunner(runner_settings())
    await nursery.start(runner.run)
    network.stall(stuck)
    return network, runner, Operations(alice), stuck, fine


async def test_a_stuck_read_fails_its_pod_in_time(
        tmp_path: Path, open_colony: OpenColony, nursery: trio.Nursery) -> None:
    network, runner, operations, stuck, fine = await stuck_world(
        tmp_path, open_colony, nursery, read_timeout=0.5)
    try:
        job = await runner.run_to_completion(operations.request(catalogue.REFRESH_REF, 0))
        assert job.status is JobStatus.COMPLETED
        result = await runner.result_of(job)
        assert reasons(result) == {stuck: f"Reading the pointer at {stuck} took more than "
                                          f"0.5 s"}
        assert operations.colony.store.statements(fine) != []
    finally:
        network.release_stalls()


async def test_a_job_stuck_in_a_read_is_cancelled_at_once_and_the_next_runs(
        tmp_path: Path, open_colony: OpenColony, nursery: trio.Nursery) -> None:
    network, runner, operations, _, _ = await stuck_world(
        tmp_path, open_colony, nursery, read_timeout=3600)
    try:
        job = await runner.start(operations.request(catalogue.REFRESH_REF, 0))
        for _ in range(1000):
            if network.statistics().reads_stalled:
                break
            await trio.sleep(0.01)
        assert network.statistics().reads_stalled == 1
        await runner.cancel(job.id)
        cancelled = runner.get(job.id)
        # Bounded, so that a job that hangs fails the test instead of holding the suite.
        with trio.fail_after(20):
            while cancelled is not None and not cancelled.terminal:
                cancelled = await runner.wait_for_change(job.id, cancelled.version, 10)
            assert cancelled is not None and cancelled.status is JobStatus.CANCELLED
            # The cancelled job's stuck read is not left for the next job to wait on.
            job = await runner.run_to_completion(operations.request(catalogue.REFRESH_CACHE))
        assert job.status is JobStatus.COMPLETED
    finally:
        network.release_stalls()
