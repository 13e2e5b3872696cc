"""The configuration pod on the network: taking a newer copy into the local registry.

Another device with the same mnemonic may have registered pods since we last looked: a
refresh takes them in, and an upload folds them in before overwriting the network copy
(which would otherwise drop them from the registry). The key indexes the registry reveals
are adopted, so this device can sign for pods made elsewhere. This module must never hold
the write lock across network I/O.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from pyoxigraph import Triple

from colony_actor.colony import pods
from colony_actor.colony.keys.store import KeyStore
from colony_actor.colony.network.base import Pointer
from colony_actor.colony.store import writes
from colony_actor.colony.store.access import StoreAccess
from colony_actor.colony.store.graph import GraphStore
from colony_actor.colony.sync.records import Records
from colony_actor.runtime.timestamps import now_stored


class ConfigPod:
    def __init__(self, access: StoreAccess, records: Records, keys: KeyStore) -> None:
        self._access = access
        self._records = records
        self._keys = keys
        self.address = access.graph.config

    async def pointer(self) -> Pointer | None:
        """The network's pointer to it; None if the user has nothing on the network yet."""
        return await self._records.get_pointer(self.address)

    async def is_newer(self, pointer: Pointer) -> bool:
        """Whether `pointer` leads to a newer copy than the one held."""
        seen = await self._access.read(self._access.graph.pointer_counter, self.address)
        return seen is None or pointer.counter > seen

    async def take(self, pointer: Pointer) -> set[str]:
        """Download the copy `pointer` leads to into the registry; the own addresses."""
        triples = await self._records.fetch_triples(self.address, pointer)
        owned = await self._access.write(load_config, self._access.graph, triples,
                                         pointer.counter)
        await self.adopt(owned)
        return owned

    async def adopt(self, addresses: Iterable[str]) -> None:
        """Mark the key indexes of these own addresses as used (see pods.adopt_keys)."""
        await self._access.write(pods.adopt_keys, self._access.graph, self._keys, addresses)

    async def merge_newer(self) -> None:
        """Fold a newer network copy into the registry held, if there is one."""
        pointer = await self.pointer()
        if pointer is not None and await self.is_newer(pointer):
            await self.take(pointer)


def load_config(graph: GraphStore, remote: Sequence[Triple], counter: int) -> set[str]:
    """(In a thread, under the write lock.) Store a newer configuration pod (writes.py
    says how it merges); the own addresses."""
    write, owned = writes.load_config(
        graph.config, remote, counter, now_stored(), local=graph.triples(graph.config),
        pending=set(graph.edit_seqs()), removed=set(graph.removed()))
    graph.apply(write)
    return owned
