"""Sync: upload, refresh, refresh_ref and chunking, against both network backends."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
import trio
import trio.testing
from pyoxigraph import Literal, NamedNode, Triple

from colony_actor.colony.errors import InvalidInput, NetworkError, UploadFailed
from colony_actor.colony.facade import Colony
from colony_actor.colony.store.access import StoreAccess
from colony_actor.colony.store.changes import subjects
from colony_actor.colony.store.poddata import PodData
from colony_actor.colony.store.writes import Replacement, Write
from colony_actor.colony.sync.replacing import Replacer, replace_pods
from colony_actor.colony.vocab import NAME, RDF_TYPE, REF, pod_node
from colony_actor.runtime import threads
from colony_actor.runtime.threads import INLINE_MAX_BYTES

from ..conftest import (
    ObservedNetwork,
    OpenColony,
    ProgressLog,
    local_network,
    no_progress,
    open_graph,
)

CTX = {"schema": "http://schema.org/"}
TEXTS = ["Café crème, naïve façade", "日本語のテキスト", "emoji 😀🎉👨‍👩‍👧", "Ελληνικά",
         'quote " \\ \n']


def subject(i: int) -> str:
    return f"{i:064x}"


def statements(colony: Colony, address: str) -> list[bytes]:
    return colony.store.statements(address)


async def pods_by_name(colony: Colony) -> dict[str, str]:
    return {p.name: p.address for p in await colony.list_pods()}


async def test_new_user_refresh_does_nothing(open_colony: OpenColony, any_network: Any) -> None:
    colony = await open_colony(any_network)
    result = await colony.refresh_cache(ProgressLog())
    assert result["status"] == "success" and result["message"] == "Cache refreshed successfully"
    assert result["pods_refreshed"] == 0
    ref = await colony.refresh_ref(0, ProgressLog())
    assert ref["message"] == "All pods refreshed successfully" and ref["depth_reached"] == 0


async def test_round_trip_to_second_device(open_colony: OpenColony, any_network: Any) -> None:
    first = await open_colony(any_network)
    pod = await first.create_pod("Café 日本 😀")
    for i, value in enumerate(TEXTS):
        await first.put_subject_data(pod.address, subject(i), {
            "@context": CTX, "schema:name": value, "schema:author": {"schema:name": value}})
    progress = ProgressLog()
    result = await first.upload_all(progress)
    assert result["status"] == "success" and result["pods_uploaded"] == 2
    assert result["message"] == "All pods uploaded successfully"
    assert progress.calls[-1][0] == progress.calls[-1][1]
    assert progress.calls[-1][2] == "Uploaded 2 of 2 pods"
    assert await first.updates() == {"update": [], "remove": []}

    second = await open_colony(any_network, device="2")
    result = await second.refresh_cache(ProgressLog())
    assert result["pods_refreshed"] == 2
    assert await second.list_pods() == await first.list_pods()
    assert await second.updates() == {"update": [], "remove": []}
    flat = [line for line in statements(first, pod.address) if b"_:" not in line]
    assert [line for line in statements(second, pod.address) if b"_:" not in line] == flat
    assert any("naïve".encode() in line for line in flat)  # raw UTF-8, no double encoding

    # Many round trips: edit on one device, upload, refresh on the other, and back.
    for turn in range(3):
        writer, reader = (second, first) if turn % 2 == 0 else (first, second)
        await writer.put_subject_data(pod.address, subject(99), {
            "@context": CTX, "schema:name": f"turn {turn} {TEXTS[turn]}"})
        await writer.upload_all(no_progress)
        result = await reader.refresh_cache(no_progress)
        assert result["pods_refreshed"] >= 1
        assert statements(reader, pod.address) != [] and [
            line for line in statements(reader, pod.address) if b"_:" not in line] == [
            line for line in statements(writer, pod.address) if b"_:" not in line]
    second_pods = await second.list_pods()
    assert [p.name for p in second_pods] == ["Café 日本 😀"]
    # The second device learned the keys: it can create a pod without reusing an index.
    new = await second.create_pod("From device 2")
    assert new.address not in {p.address for p in second_pods}


async def test_chunking_small_scratchpads(open_colony: OpenColony, any_network: Any) -> None:
    first = await open_colony(any_network, scratchpad_limit=2048)
    pod = await first.create_pod("Big")
    for i in range(300):
        await first.put_subject_data("Big", subject(i), {
            "@context": CTX, "schema:name": f"Item {i} {TEXTS[i % len(TEXTS)]}"})
    await first.add_pod_ref("Big", subject(7777))
    await first.upload_all(no_progress)
    pads = first.store.scratchpads(pod.address)
    assert len(pads) > 5
    if hasattr(any_network, "scratchpads"):
        assert all(len(any_network.scratchpads[p].data) <= 2048 for p in pads)
    second = await open_colony(any_network, device="2", scratchpad_limit=2048)
    await second.refresh_cache(no_progress)
    assert statements(second, pod.address) == statements(first, pod.address)
    assert len(statements(first, pod.address)) == 300 + 5  # header 4 + ref 1
    # The second device knows the scratchpads too, so it can upload the pod itself.
    await second.put_subject_data("Big", subject(1), {"@context": CTX, "schema:name": "new"})
    await second.upload_all(no_progress)
    await first.refresh_cache(no_progress)
    assert statements(second, pod.address) == statements(first, pod.address)


async def test_a_registry_that_outgrows_its_scratchpads_goes_out_whole(
        open_colony: OpenColony, any_network: Any) -> None:
    """The configuration pod registers its own new scratchpads before it is sent: what
    another device takes is every line of it, the new scratchpads and the new modified
    date included."""
    first = await open_colony(any_network, scratchpad_limit=2048)
    for i in range(12):
        await first.create_pod(f"Pod {i}")
    config = first.store.config
    assert len(first.store.scratchpads(config)) == 1
    await first.upload_all(no_progress)
    assert len(first.store.scratchpads(config)) > 1
    assert (await first.updates())["update"] == []
    second = await open_colony(any_network, device="2", scratchpad_limit=2048)
    await second.refresh_cache(no_progress)
    assert statements(second, config) == statements(first, config)


async def test_oversize_statement_is_refused(open_colony: OpenColony, any_network: Any) -> None:
    colony = await open_colony(any_network, scratchpad_limit=2048)
    await colony.create_pod("Small")
    with pytest.raises(InvalidInput, match="ant://" + subject(5)):
        await colony.put_subject_data("Small", subject(5), {
            "@context": CTX, "schema:name": "x" * 3000})
    assert colony.store.statements((await pods_by_name(colony))["Small"])
    assert (await colony.get_subject_data(subject(5)))["results"]["bindings"] == []


async def test_upload_failures_keep_the_failed_queued(open_colony: OpenColony,
                                                      any_network: Any) -> None:
    colony = await open_colony(any_network)
    pods = [await colony.create_pod(f"Pod {i}") for i in range(4)]
    any_network.fail_addresses.update({pods[1].address, pods[3].address})
    with pytest.raises(UploadFailed) as caught:
        await colony.upload_all(ProgressLog())
    assert set(caught.value.failed) == {pods[1].address, pods[3].address}
    assert {pods[0].address, pods[2].address} <= set(caught.value.uploaded)
    pending = (await colony.updates())["update"]
    assert pods[1].address in pending and pods[3].address in pending
    assert pods[0].address not in pending and pods[2].address not in pending
    any_network.fail_addresses.clear()
    result = await colony.upload_all(no_progress)
    # The two, and the configuration pod, which registers them only now.
    assert result["pods_uploaded"] == 3
    assert await colony.updates() == {"update": [], "remove": []}


async def test_upload_pod(open_colony: OpenColony, any_network: Any) -> None:
    colony = await open_colony(any_network)
    pod = await colony.create_pod("One")
    result = await colony.upload_pod("One", ProgressLog())
    assert result == {"status": "success", "address": pod.address,
                      "message": f"Uploaded pod {pod.address} successfully",
                      "timestamp": result["timestamp"]}
    assert pod.address not in (await colony.updates())["update"]
    any_network.fail_addresses.add(pod.address)
    with pytest.raises(UploadFailed):
        await colony.upload_pod(pod.address, no_progress)


async def test_edit_during_upload_stays_queued(open_colony: OpenColony,
                                               any_network: Any) -> None:
    observed = ObservedNetwork(any_network)
    colony = await open_colony(observed)
    pod = await colony.create_pod("Busy")
    await colony.put_subject_data("Busy", subject(1), {"@context": CTX, "schema:name": "before"})
    observed.close_gate()
    async with trio.open_nursery() as nursery:
        nursery.start_soon(colony.upload_all, no_progress)
        await observed.writing.wait()  # the pod's upload is planned, and being written
        await colony.put_subject_data("Busy", subject(2), {"@context": CTX,
                                                           "schema:name": "during"})
        observed.open_gate()
    assert pod.address in (await colony.updates())["update"]
    assert (await colony.get_subject_data(subject(2)))["results"]["bindings"]
    # A refresh now must not lose the edit either.
    await colony.refresh_cache(no_progress)
    assert (await colony.get_subject_data(subject(2)))["results"]["bindings"]
    await colony.upload_all(no_progress)
    assert await colony.updates() == {"update": [], "remove": []}
    other = await open_colony(any_network, device="2")
    await other.refresh_cache(no_progress)
    assert (await other.get_subject_data(subject(2)))["results"]["bindings"]


async def test_refresh_keeps_pods_with_local_changes(open_colony: OpenColony,
                                                     any_network: Any) -> None:
    first = await open_colony(any_network)
    pod = await first.create_pod("Shared")
    await first.upload_all(no_progress)
    second = await open_colony(any_network, device="2")
    await second.refresh_cache(no_progress)
    await second.put_subject_data("Shared", subject(1), {"@context": CTX,
                                                         "schema:name": "local edit"})
    await first.put_subject_data("Shared", subject(2), {"@context": CTX,
                                                        "schema:name": "remote edit"})
    await first.upload_all(no_progress)
    result = await second.refresh_cache(no_progress)
    assert result["pods_kept"] == [pod.address]
    assert (await second.get_subject_data(subject(1)))["results"]["bindings"]
    assert not (await second.get_subject_data(subject(2)))["results"]["bindings"]
    assert pod.address in (await second.updates())["update"]


async def test_remove_pod_clears_network(open_colony: OpenColony, any_network: Any) -> None:
    first = await open_colony(any_network)
    keep = await first.create_pod("Keep")
    gone = await first.create_pod("Gone")
    await first.upload_all(no_progress)
    second = await open_colony(any_network, device="2")
    await second.refresh_cache(no_progress)
    assert set(await pods_by_name(second)) == {"Keep", "Gone"}

    await first.remove_pod("Gone")
    assert (await first.updates())["remove"] == [gone.address]
    result = await first.upload_all(no_progress)
    assert result["pods_removed"] == 1
    assert await first.updates() == {"update": [], "remove": []}
    pointer = await any_network.get_pointer(gone.address)
    assert (await any_network.get_scratchpad(pointer.target)).data == b""
    await second.refresh_cache(no_progress)
    assert await pods_by_name(second) == {"Keep": keep.address}


async def make_identities(open_colony: OpenColony, network: Any) -> dict[str, Any]:
    """carol <- bob <- alice: bob's pod references carol's, alice's references bob's."""
    carol = await open_colony(network, who="carol")
    bob = await open_colony(network, who="bob")
    alice = await open_colony(network, who="alice")
    carol_pod = await carol.create_pod("Carol's")
    await carol.put_subject_data(carol_pod.address, subject(3), {
        "@context": CTX, "schema:name": "shared word from carol"})
    await carol.upload_all(no_progress)
    bob_pod = await bob.create_pod("Bob's")
    await bob.put_subject_data(bob_pod.address, subject(2), {
        "@context": CTX, "schema:name": "shared word from bob"})
    await bob.add_pod_ref(bob_pod.address, carol_pod.address)
    await bob.upload_all(no_progress)
    alice_pod = await alice.create_pod("Alice's")
    await alice.put_subject_data(alice_pod.address, subject(1), {
        "@context": CTX, "schema:name": "shared word from alice"})
    await alice.add_pod_ref(alice_pod.address, bob_pod.address)
    await alice.upload_all(no_progress)
    return {"alice": alice, "bob_pod": bob_pod.address, "carol_pod": carol_pod.address,
            "alice_pod": alice_pod.address}


async def test_refresh_ref_depths(open_colony: OpenColony, any_network: Any) -> None:
    world = await make_identities(open_colony, any_network)
    alice: Colony = world["alice"]
    progress = ProgressLog()
    result = await alice.refresh_ref(1, progress)
    assert result["depth_reached"] == 1 and result["skipped"] == []
    depths = {p.address: p.depth for p in await alice.list_pods()}
    assert depths == {world["alice_pod"]: 0, world["bob_pod"]: 1}

    result = await alice.refresh_ref(2, ProgressLog())
    assert result["depth_reached"] == 2
    depths = {p.address: p.depth for p in await alice.list_pods()}
    assert depths == {world["alice_pod"]: 0, world["bob_pod"]: 1, world["carol_pod"]: 2}

    await alice.remove_pod(world["bob_pod"])
    await alice.remove_pod(world["carol_pod"])
    progress = ProgressLog()
    result = await alice.refresh_ref(0, progress)
    assert result["depth_reached"] == 2 and result["pods_refreshed"] == 2
    depths = {p.address: p.depth for p in await alice.list_pods()}
    assert depths == {world["alice_pod"]: 0, world["bob_pod"]: 1, world["carol_pod"]: 2}
    assert progress.calls[-1][0] == progress.calls[-1][1]

    # Her own pod's match ranks above bob's and carol's equal matches.
    found = await alice.search({"type": "text", "text": "shared word"}, no_progress)
    graphs = [b["graph"]["value"] for b in found["sparql_results"]["results"]["bindings"]]
    assert graphs == ["ant://" + world[k] for k in ("alice_pod", "bob_pod", "carol_pod")]
    depth_values = [b["depth"]["value"] for b in found["sparql_results"]["results"]["bindings"]]
    assert depth_values == ["0", "1", "2"]


async def test_refresh_ref_skips_bad_references(open_colony: OpenColony,
                                                any_network: Any) -> None:
    alice = await open_colony(any_network)
    pod = await alice.create_pod("Mine")
    missing = "e" * 64
    await alice.add_pod_ref(pod.address, missing)
    # A malformed reference can only come from elsewhere; write one straight in the store.
    bad = NamedNode("http://bad/ref")
    alice.store.apply(Write(f"INSERT DATA {{ GRAPH {pod_node(pod.address)} {{ {bad} {RDF_TYPE} "
                            f"{REF} }} }}", {pod_node(pod.address): subjects(bad)}))
    await alice.upload_all(no_progress)
    result = await alice.refresh_ref(0, ProgressLog())
    reasons = {s["address"]: s["reason"] for s in result["skipped"]}
    assert set(reasons) == {missing, "http://bad/ref"}
    assert result["depth_reached"] == 0


async def test_refresh_ref_unreachable_reference(open_colony: OpenColony,
                                                 any_network: Any) -> None:
    world = await make_identities(open_colony, any_network)
    any_network.fail_addresses.add(world["carol_pod"])
    result = await world["alice"].refresh_ref(0, ProgressLog())
    assert [s["address"] for s in result["skipped"]] == [world["carol_pod"]]
    assert result["depth_reached"] == 1


async def test_edits_racing_sync_are_never_lost(open_colony: OpenColony,
                                                any_network: Any) -> None:
    observed = ObservedNetwork(any_network)
    colony = await open_colony(observed)
    pods = [await colony.create_pod(f"P{i}") for i in range(3)]
    await colony.upload_all(no_progress)
    other = await open_colony(any_network, device="2")
    await other.refresh_cache(no_progress)
    await other.put_subject_data("P0", subject(500), {"@context": CTX, "schema:name": "o"})
    await other.upload_all(no_progress)
    start = observed.calls

    async def syncs() -> None:
        try:
            await colony.upload_all(no_progress)
            await colony.refresh_cache(no_progress)
            await colony.upload_all(no_progress)
        finally:
            observed.release()

    async def edit(i: int) -> None:
        # Edits land all along the syncs: edit i once they made i network calls.
        await observed.reached(start + i)
        await colony.put_subject_data(pods[i % 3].address, subject(i), {
            "@context": CTX, "schema:name": f"edit {i}"})

    async with trio.open_nursery() as nursery:
        nursery.start_soon(syncs)
        for i in range(30):
            nursery.start_soon(edit, i)
    for i in range(30):
        assert (await colony.get_subject_data(subject(i)))["results"]["bindings"], i
    await colony.upload_all(no_progress)
    assert await colony.updates() == {"update": [], "remove": []}
    await other.refresh_cache(no_progress)
    for i in range(30):
        assert (await other.get_subject_data(subject(i)))["results"]["bindings"], i


async def test_a_new_device_never_reuses_a_claimed_key(open_colony: OpenColony,
                                                       any_network: Any) -> None:
    first = await open_colony(any_network)
    mine = await first.create_pod("First device's pod")
    await first.upload_all(no_progress)
    # The second device has the same mnemonic but has not refreshed yet.
    second = await open_colony(any_network, device="2")
    theirs = await second.create_pod("Second device's pod")
    assert theirs.address != mine.address
    await second.upload_all(no_progress)
    result = await first.refresh_cache(no_progress)
    assert result["status"] == "success"
    names = {p.name for p in await first.list_pods()}
    assert "First device's pod" in names


async def test_grouped_replace_skips_only_pods_with_local_changes(
        open_colony: OpenColony, network: Any) -> None:
    """A refresh stores the pods downloaded meanwhile in one transaction: pods with local
    changes in the group are still kept, the others replaced, with their depths."""
    colony = await open_colony(network)
    own = await colony.create_pod("Mine")
    graph = colony.store
    others = [subject(100 + i) for i in range(3)]
    p = pod_node(others[0])

    def work() -> list[bool]:
        stamp = "2025-01-01T00:00:00.000000Z"
        pods = [Replacement(address, PodData.of([Triple(pod_node(address), NAME,
                                                        Literal(f"pod {i}"))]), 1, 2)
                for i, address in enumerate(others)]
        kept = graph.statements(own.address)
        # The own pod has a pending edit: it is left alone, the others are stored.
        result = replace_pods(
            graph, [*pods[:2], Replacement(own.address, PodData.of([]), 5, 1), pods[2]], stamp)
        assert graph.statements(own.address) == kept
        assert graph.pointer_counter(own.address) is None
        return result

    assert await trio.to_thread.run_sync(work) == [True, True, False, True]
    assert graph.depths(others) == dict.fromkeys(others, 2)
    assert graph.pointer_counter(others[0]) == 1
    assert graph.triples(others[0]) == [Triple(p, NAME, Literal("pod 0"))]


async def test_pods_of_a_batch_that_never_ran_get_an_error(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Downloaded pods wait for the write lock together; the first to get it stores them
    all. If its worker call cannot even start, every pod of its batch fails, saying why
    (none is reported as kept, nor left out)."""
    graph, _ = open_graph(tmp_path, subject(1), fulltext=None)
    access = StoreAccess(graph)
    replacer = Replacer(access)
    body = f"<ant://{subject(1)}> <http://schema.org/name> \"x\" .\n".encode()
    real = threads.run_sync

    async def no_thread(fn: Any, *args: Any, **kwargs: Any) -> Any:
        if fn == replacer.store_batch:
            raise RuntimeError("can't start new thread")
        return await real(fn, *args, **kwargs)

    outcomes: dict[int, Any] = {}

    async def replace(i: int) -> None:
        try:
            outcomes[i] = await replacer.replace(subject(100 + i), [body], 1, 1)
        except Exception as exc:
            outcomes[i] = exc

    try:
        async with access.lock:
            monkeypatch.setattr(threads, "run_sync", no_thread)
            async with trio.open_nursery() as nursery:
                for i in range(4):
                    nursery.start_soon(replace, i)
                await trio.testing.wait_all_tasks_blocked()
                access.lock.release()
                await trio.testing.wait_all_tasks_blocked()
                await access.lock.acquire()
        assert sorted(outcomes) == [0, 1, 2, 3]
        assert all(isinstance(o, NetworkError) and "can't start new thread" in str(o)
                   for o in outcomes.values()), outcomes
        assert replacer.waiting == 0
    finally:
        monkeypatch.undo()
        await access.aclose()


async def test_a_chunk_past_the_inline_size_round_trips(open_colony: OpenColony,
                                                        any_network: Any) -> None:
    """A chunk larger than the loop reads inline has its index read, and the chunks are
    joined, in worker threads: the pod arrives whole."""
    first = await open_colony(any_network)
    pod = await first.create_pod("Big")
    big = "é" + "x" * (INLINE_MAX_BYTES + 1000)
    await first.put_subject_data(pod.address, subject(1), {"@context": CTX, "schema:text": big})
    await first.upload_all(no_progress)
    second = await open_colony(any_network, device="2")
    result = await second.refresh_cache(no_progress)
    assert result["pods_refreshed"] == 2
    assert statements(second, pod.address) == statements(first, pod.address)
    assert any(big.encode() in line for line in statements(second, pod.address))


async def test_refresh_progress_moves_steadily_as_pods_are_found(
        open_colony: OpenColony, tmp_path: Path) -> None:
    """A refresh whose work grows as it goes (on the real local network: alice's pod
    references bob's hub, which references 4 pods, each referencing 2): progress never
    goes back, and only reaches 0.9 once most of the pods are done."""
    network = local_network(tmp_path / "network")
    bob = await open_colony(network, who="bob")
    hub = await bob.create_pod("Hub")
    for i in range(4):
        middle = await bob.create_pod(f"Middle {i}")
        await bob.add_pod_ref(hub.address, middle.address)
        for j in range(2):
            leaf = await bob.create_pod(f"Leaf {i}.{j}")
            await bob.add_pod_ref(middle.address, leaf.address)
    await bob.upload_all(no_progress)
    alice = await open_colony(network, who="alice")
    own = await alice.create_pod("Alice's")
    await alice.add_pod_ref(own.address, hub.address)
    await alice.upload_all(no_progress)

    progress = ProgressLog()  # checks that done/total never decreases
    result = await alice.refresh_ref(3, progress)
    assert result["depth_reached"] == 3 and result["pods_refreshed"] == 13
    counts = [tuple(int(n) for n in re.findall(r"\d+", message)) for _, _, message in
              progress.calls]
    fractions = [done / total for done, total, _ in progress.calls]
    final_total = counts[-1][1]
    assert final_total == 15  # the configuration pod, her own, bob's 13
    assert fractions[-1] == 1.0 and counts[-1][0] == final_total
    assert fractions == sorted(fractions)
    assert len({m for _, m in counts}) >= 4, "the total grew with each generation"
    for fraction, (done, _) in zip(fractions, counts, strict=True):
        if fraction >= 0.9:
            assert done > final_total / 2, (fraction, done)
    assert fractions[0] < 0.5
    assert any(0.3 < f < 0.8 for f in fractions)
