"""Which pod a caller means, whether it is theirs, and which of their keys signs it.

A pod is named by its address (bare hex or `ant://...`) or by its name, which must be
unambiguous. Own pods are those the configuration pod registers; the configuration pod
itself is Colony's, never edited directly. Blocking (run in a worker thread; the key
lookup under the write lock, since it records what it finds). This module must never
touch the network.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from colony_actor.colony.errors import InvalidInput, PodNotFound
from colony_actor.colony.keys.store import KeyStore
from colony_actor.colony.store import writes
from colony_actor.colony.store.graph import GraphStore
from colony_actor.colony.store.reads import PodRow, StoreReads
from colony_actor.colony.vocab import is_address, normalize_address


@dataclass(frozen=True)
class PodInfo:
    address: str  # 64 lowercase hex, no ant:// prefix
    name: str
    created_at: str  # RFC 3339 UTC
    modified_at: str
    depth: int

    @classmethod
    def of(cls, row: PodRow) -> PodInfo:
        return cls(row.address, row.name, row.created_at, row.modified_at, row.depth)

    def to_json(self) -> dict[str, Any]:
        return {"address": self.address, "name": self.name, "created_at": self.created_at,
                "modified_at": self.modified_at, "depth": self.depth}


def info(reads: StoreReads, address: str) -> PodInfo:
    for row in reads.pod_rows(address):
        return PodInfo.of(row)
    raise PodNotFound(f"Pod not found: {address}")


def resolve(reads: StoreReads, pod: str) -> str:
    """The address of the pod named `pod` (an address, or an unambiguous name)."""
    if not isinstance(pod, str) or not pod:
        raise PodNotFound("Pod not found: an empty pod name or address")
    if is_address(pod):
        address = normalize_address(pod)
        if reads.pod_exists(address):
            return address
    try:
        found = reads.pods_named(pod)
    except (ValueError, SyntaxError, UnicodeError):
        found = []
    if len(found) == 1:
        return found[0]
    if len(found) > 1:
        raise InvalidInput(f"Several pods are named {pod!r:.100}: use an address "
                           f"({', '.join(found)})")
    raise PodNotFound(f"Pod not found: {pod!r:.120}")


def _check_own(reads: StoreReads, address: str, action: str) -> None:
    if not reads.is_own(address):
        raise InvalidInput(f"Pod {address} is not one of your pods; it cannot be {action}")


def resolve_editable(reads: StoreReads, pod: str) -> str:
    """The address of one of the user's pods, which they may edit."""
    address = resolve(reads, pod)
    if address == reads.config:
        raise InvalidInput("The configuration pod cannot be edited directly")
    _check_own(reads, address, "edited")
    return address


def resolve_uploadable(reads: StoreReads, pod: str) -> str:
    """The address of one of the user's pods, or of the configuration pod."""
    address = resolve(reads, pod)
    if address != reads.config:
        _check_own(reads, address, "uploaded")
    return address


def adopt_keys(graph: GraphStore, keys: KeyStore, addresses: Iterable[str]) -> dict[str, int]:
    """The key index of each of these addresses this user's keys sign. An index found by
    deriving (a key this mnemonic used on another device) is marked used in the key store,
    so it is never handed out again, and recorded in the store."""
    wanted = set(addresses)
    known = graph.key_indexes_of(wanted)
    found: dict[str, int] = {}
    for address in sorted(wanted - set(known)):
        index = keys.index_of(address)
        if index is not None:
            keys.mark_used(index)
            found[address] = index
    if found:
        graph.apply(writes.record_key_indexes(found))
    return {**known, **found}


def signing_keys(graph: GraphStore, keys: KeyStore,
                 addresses: Iterable[str]) -> Mapping[str, Ed25519PrivateKey]:
    """The key of each of these addresses; InvalidInput if one is not the user's."""
    wanted = list(addresses)
    indexes = adopt_keys(graph, keys, wanted)
    for address in wanted:
        if address not in indexes:
            raise InvalidInput(f"No key of this user signs {address}")
    return {address: keys.key(indexes[address]) for address in wanted}
