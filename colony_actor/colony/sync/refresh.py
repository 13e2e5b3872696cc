"""refresh_cache and refresh_ref: the user's pods, then the pods they reference, from the
network into the store.

refresh_cache reads the configuration pod's pointer (nothing on the network: a new user,
done), takes a newer registry, then every own pod whose pointer counter is above the one
held. refresh_ref then walks the references breadth first (generations.py), each
generation's pods fetched at once (a bounded number in flight), each pod stored at the
least depth it was reached at. A pod with local changes waiting for upload is never
replaced; a pod that cannot be fetched is skipped and reported, never fatal. Peers choose
what they publish and reference, so the walk is bounded (`PeerLimits`): a referenced pod
over its size cap is skipped, and references past the fan-out caps are not followed, each
reported. This module must never hold the write lock across network I/O.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from colony_actor.colony.errors import ColonyError, InvalidInput
from colony_actor.colony.store import writes
from colony_actor.colony.store.access import StoreAccess
from colony_actor.colony.store.graph import GraphStore
from colony_actor.colony.store.reads import HeldCopy
from colony_actor.colony.sync import generations
from colony_actor.colony.sync.configpod import ConfigPod
from colony_actor.colony.sync.outcome import (
    Outcome,
    PodOutcome,
    Tally,
    counted,
    tally,
    with_malformed,
    with_skipped,
)
from colony_actor.colony.sync.progress import Progress, ProgressReporter
from colony_actor.colony.sync.records import Records
from colony_actor.colony.sync.replacing import Replacer
from colony_actor.runtime.concurrency import gather
from colony_actor.runtime.timestamps import now_stored


@dataclass(frozen=True)
class PeerLimits:
    """How much of other people's data a refresh takes in."""

    max_pod_bytes: int  # a referenced pod larger than this is skipped
    max_refs_per_pod: int  # references of one pod looked at
    max_refs_per_refresh: int  # references followed in one refresh_ref


class Refresher:
    def __init__(self, access: StoreAccess, records: Records, config: ConfigPod,
                 replacer: Replacer, limits: PeerLimits) -> None:
        self._access = access
        self._graph = access.graph
        self._records = records
        self._config = config
        self._replacer = replacer
        self._limits = limits

    async def refresh_cache(self, progress: ProgressReporter) -> dict[str, Any]:
        tracker = Progress(progress, "Refreshed")
        own = await self._refresh_own(tracker) or Tally()
        tracker.finish()
        return {"status": "success", "message": "Cache refreshed successfully",
                "timestamp": now_stored(), **own.to_json()}

    async def refresh_ref(self, depth: int, progress: ProgressReporter) -> dict[str, Any]:
        if isinstance(depth, bool) or not isinstance(depth, int) or depth < 0:
            raise InvalidInput("depth must be a non-negative integer")
        # A stage for the user's own pods, then one for each generation of references.
        tracker = Progress(progress, "Refreshed", stages=1 + generations.bound(depth))
        result = await self._refresh_own(tracker) or Tally()
        tracker.next_stage()
        frontier = await self._access.read(self._graph.own_pods)
        visited = frozenset({self._config.address, *frontier})
        generation = 0
        reached = 0
        budget = self._limits.max_refs_per_refresh
        while frontier and generation < generations.bound(depth):
            generation += 1
            references = await self._access.read(references_by_pod, self._graph, frontier)
            found = generations.next_generation(
                references, visited, per_pod=self._limits.max_refs_per_pod, budget=budget)
            budget -= len(found.following) + len(found.malformed)
            result = with_skipped(with_malformed(result, found.malformed), found.cut)
            visited = found.visited
            if not found.following:
                break
            tracker.grow(len(found.following))
            outcomes = await self._refresh_pods(found.following, generation, tracker)
            result = tally(result, found.following, outcomes)
            tracker.next_stage()
            frontier = generations.reached(found.following, outcomes)
            if frontier:
                reached = generation
        tracker.finish()
        return {"status": "success", "message": "All pods refreshed successfully",
                "timestamp": now_stored(), **result.to_json(depth_reached=reached)}

    async def _refresh_own(self, tracker: Progress) -> Tally | None:
        """The refresh_cache work; None if the user has nothing on the network yet."""
        tracker.grow(1)
        pointer = await self._config.pointer()
        if pointer is None:
            tracker.step()
            return None
        if await self._config.is_newer(pointer):
            await self._config.take(pointer)
            result = counted(Tally(), refreshed=1)
        else:
            await self._config.adopt(await self._access.read(self._graph.own_addresses))
            result = counted(Tally(), unchanged=1)
        own = await self._access.read(self._graph.own_pods)
        tracker.grow(len(own))  # before the step: the configuration pod is 1 of 1 + own
        tracker.step()
        return tally(result, own, await self._refresh_pods(own, None, tracker))

    async def _refresh_pods(self, addresses: Sequence[str], depth: int | None,
                            tracker: Progress) -> list[PodOutcome]:
        """`_refresh_pod` of each, all at once; the depth of each unchanged pod is set
        afterwards in one write."""
        held = await self._access.read(self._graph.held_copies, addresses)

        async def one(address: str) -> PodOutcome:
            try:
                outcome = await self._refresh_pod(address, depth, held[address])
            except Exception as exc:  # a bug or a store failure: that pod only
                outcome = PodOutcome.failed(exc)
            tracker.step()
            return outcome

        outcomes = [o if not isinstance(o, Exception) else PodOutcome.failed(o)
                    for o in await gather([functools.partial(one, a) for a in addresses],
                                          self._records.pods_at_once)]
        if depth is not None:
            unchanged = {a: depth for a, o in zip(addresses, outcomes, strict=True)
                         if o.outcome is Outcome.UNCHANGED}
            if unchanged:
                try:
                    await self._access.write(set_depths, self._graph, unchanged)
                except Exception as exc:  # as if each had failed on its own
                    outcomes = [PodOutcome.failed(exc) if a in unchanged else o
                                for a, o in zip(addresses, outcomes, strict=True)]
        return outcomes

    async def _refresh_pod(self, address: str, depth: int | None,
                           held: HeldCopy) -> PodOutcome:
        """`held` was read before the download: the replace step checks for local changes
        again, under the lock."""
        try:
            pointer = await self._records.get_pointer(address)
        except ColonyError as exc:
            return PodOutcome.failed(exc)
        if pointer is None:
            return PodOutcome.skipped("No pod at this address on the network")
        seen = held.pointer_counter
        if held.has_data and seen is not None and pointer.counter <= seen:
            return PodOutcome.unchanged()
        if held.pending:
            return PodOutcome.kept()
        # The user's own pods (no depth) are theirs to size; a referenced one is capped.
        cap = None if depth is None else self._limits.max_pod_bytes
        try:
            downloaded = await self._records.download(address, pointer, cap)
            return await self._replacer.replace(address, downloaded, pointer.counter, depth)
        except ColonyError as exc:
            return PodOutcome.failed(exc)


def references_by_pod(graph: GraphStore, addresses: Sequence[str]) -> dict[str, list[str]]:
    """(In a thread.) Each pod's raw references, in order, for the next generation."""
    return {address: graph.refs_of([address]) for address in addresses}


def set_depths(graph: GraphStore, depths: dict[str, int]) -> None:
    """(In a thread, under the write lock.) Record the depths these pods were reached at."""
    graph.apply(writes.set_depths(graph.config, depths, known=graph.depths(depths),
                                  timestamp=now_stored()))
