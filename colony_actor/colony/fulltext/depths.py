"""The depth keys a text search ranks graphs with, cached until the configuration pod is
written again: read from the store (rows.depth_keys) on the first search after such a
write, or primed from those kept with the index's seal (sealed.py).

Thread-safe enough for the index's use: a search that misses computes the keys itself, and
the last one to finish is kept. This module must never write to the store or the index.
"""

from __future__ import annotations

from pyoxigraph import NamedNode, Store

from colony_actor.colony.fulltext import rows


class DepthKeys:
    def __init__(self) -> None:
        self._writes: dict[str, int] = {}  # graph IRI -> writes seen since the index opened
        self._cache: tuple[tuple[str, int], dict[str, list[int]]] | None = None

    def wrote(self, graph: str) -> None:
        """A write to `graph` was followed (the caller holds the store's write lock)."""
        self._writes[graph] = self._writes.get(graph, 0) + 1

    def of(self, store: Store, config: NamedNode) -> dict[str, list[int]]:
        """The keys of `config`'s depth statements now (cached: the same dict until the
        configuration pod is written)."""
        stamp = (config.value, self._writes.get(config.value, 0))
        cached = self._cache
        if cached is not None and cached[0] == stamp:
            return cached[1]
        depths = rows.depth_keys(store, config)
        self._cache = (stamp, depths)
        return depths

    def current(self) -> tuple[str, dict[str, list[int]]] | None:
        """(configuration pod, keys) if the cached keys are still those of the store."""
        cached = self._cache
        if cached is None or cached[0][1] != self._writes.get(cached[0][0], 0):
            return None
        return cached[0][0], cached[1]

    def prime(self, config: str, depths: dict[str, list[int]]) -> None:
        """Take these as `config`'s keys (kept with a seal in step with the store)."""
        self._cache = ((config, self._writes.get(config, 0)), depths)

    def clear(self) -> None:
        self._writes.clear()
        self._cache = None
