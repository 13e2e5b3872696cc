"""Storing downloaded pods: grouped, checked for local changes under the write lock.

Whoever gets the write lock stores every pod waiting for it, in one store transaction
(runtime/batching.py), so a refresh's work under the lock does not grow one transaction
(nor one thread hop) per pod. Each pod is still checked for local changes in the
transaction that would replace it: a pod waiting for upload is kept, never replaced. This
module must never do network I/O, and never let one bad pod fail the others.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from colony_actor.colony.errors import NetworkError
from colony_actor.colony.store import writes
from colony_actor.colony.store.access import StoreAccess
from colony_actor.colony.store.graph import GraphStore
from colony_actor.colony.store.poddata import PodData
from colony_actor.colony.store.writes import Replacement
from colony_actor.colony.sync.outcome import PodOutcome
from colony_actor.colony.sync.records import parse_downloaded
from colony_actor.runtime.batching import Batches
from colony_actor.runtime.timestamps import now_stored

_KEPT = PodOutcome.kept()


@dataclass(eq=False)
class Downloaded:
    """A downloaded pod waiting to be parsed and stored, and then its outcome."""
    address: str
    chunks: list[bytes]  # as downloaded, in order
    counter: int
    depth: int | None
    done: bool = False
    outcome: PodOutcome = _KEPT
    error: Exception | None = None


def _unstored(item: Downloaded, exc: Exception) -> Exception:
    return NetworkError(f"The pod could not be stored: {exc}")


class Replacer:
    def __init__(self, access: StoreAccess) -> None:
        self._graph = access.graph
        self._batches = Batches(self.store_batch, failed=_unstored, lock=access.lock,
                                limiter=access.limiter)

    @property
    def waiting(self) -> int:
        """Pods submitted and not yet taken into a transaction."""
        return self._batches.waiting

    async def replace(self, address: str, chunks: list[bytes], counter: int,
                      depth: int | None) -> PodOutcome:
        """Parse and store a downloaded pod: refreshed, kept (local changes wait for
        upload), or skipped (the pod was removed by its owner); raises what failed."""
        item = Downloaded(address, chunks, counter, depth)
        await self._batches.run(item)
        if item.error is not None:
            raise item.error
        return item.outcome

    def store_batch(self, batch: list[Downloaded]) -> None:
        """(In a thread, under the lock.) Parse each pod, then store those with something
        to store in one transaction; if that fails, pod by pod, so that one bad pod does
        not fail the others. A pod left without an outcome fails (`Batches`)."""
        ready: list[tuple[Downloaded, PodData]] = []
        for item in batch:
            try:
                data = parse_downloaded(item.address, item.chunks, PodData.parse)
            except Exception as exc:  # that pod only
                item.error, item.done = exc, True
                continue
            if not data.count and item.depth is not None:
                item.outcome = PodOutcome.skipped("The pod was removed by its owner")
                item.done = True
                continue
            ready.append((item, data))
        if not ready:
            return
        stamp = now_stored()
        try:
            stored = replace_pods(self._graph, [
                Replacement(item.address, data, item.counter, item.depth)
                for item, data in ready], stamp)
        except Exception as exc:
            if len(ready) == 1:
                ready[0][0].error = exc
                return
            stored = []
            for item, data in ready:
                try:
                    stored += replace_pods(self._graph, [
                        Replacement(item.address, data, item.counter, item.depth)], stamp)
                except Exception as one:
                    item.error, item.done = one, True
                    stored.append(False)
        for (item, _), replaced in zip(ready, stored, strict=True):
            if item.error is None:
                item.outcome = PodOutcome.refreshed() if replaced else PodOutcome.kept()
            item.done = True


def replace_pods(graph: GraphStore, pods: Sequence[Replacement], timestamp: str) -> list[bool]:
    """Replace each pod's graph with its downloaded data in one transaction, unless it
    waits for upload (False at its position)."""
    pending = set(graph.edit_seqs([p.address for p in pods]))
    known = graph.depths([p.address for p in pods
                          if p.depth is not None and p.address not in pending])
    write, stored = writes.replace_pods(graph.config, pods, pending=pending,
                                        known_depths=known, timestamp=timestamp)
    graph.apply(write)
    return stored
