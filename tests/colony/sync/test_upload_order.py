"""The registry an upload publishes (the configuration pod) lists only pods whose records
are on the network: a pod created while the upload runs, or one whose upload failed,
goes out with a later upload. Made deterministic with a network that holds writes at a
gate."""

from __future__ import annotations

from typing import Any

import trio

from colony_actor.colony.errors import UploadFailed
from colony_actor.colony.facade import Colony

from ..conftest import ObservedNetwork, OpenColony, ProgressLog, no_progress


async def names_seen_by(colony: Colony) -> tuple[set[str], dict[str, Any]]:
    """What another device of the same user lists after a refresh, and that refresh."""
    result = await colony.refresh_cache(ProgressLog())
    return {p.name for p in await colony.list_pods()}, result


async def test_a_pod_created_during_an_upload_goes_out_with_the_next(
        open_colony: OpenColony, any_network: Any) -> None:
    observed = ObservedNetwork(any_network)
    colony = await open_colony(observed)
    await colony.create_pod("First")
    observed.close_gate()
    async with trio.open_nursery() as nursery:
        nursery.start_soon(colony.upload_all, no_progress)
        await observed.writing.wait()  # First's records are being written
        late = await colony.create_pod("Late")
        observed.open_gate()
    other = await open_colony(any_network, device="2")
    names, result = await names_seen_by(other)
    assert result["skipped"] == [], result
    assert names == {"First"}
    pending = (await colony.updates())["update"]
    assert late.address in pending
    assert colony.store.config in pending  # the registry still owes Late

    assert (await colony.upload_all(no_progress))["pods_uploaded"] == 2  # Late, the config
    assert await colony.updates() == {"update": [], "remove": []}
    names, result = await names_seen_by(other)
    assert names == {"First", "Late"}
    assert result["skipped"] == [], result


async def test_a_pod_whose_first_upload_failed_is_not_registered(
        open_colony: OpenColony, any_network: Any) -> None:
    colony = await open_colony(any_network)
    await colony.create_pod("Fine")
    broken = await colony.create_pod("Broken")
    any_network.fail_addresses.add(broken.address)
    try:
        await colony.upload_all(no_progress)
    except UploadFailed as exc:
        assert set(exc.failed) == {broken.address}
    else:
        raise AssertionError("the upload of Broken should have failed")
    other = await open_colony(any_network, device="2")
    names, result = await names_seen_by(other)
    assert result["skipped"] == [], result
    assert names == {"Fine"}

    any_network.fail_addresses.clear()
    await colony.upload_all(no_progress)
    names, result = await names_seen_by(other)
    assert names == {"Fine", "Broken"}
