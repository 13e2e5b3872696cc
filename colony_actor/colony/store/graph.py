"""The pyoxigraph store on disk, and the one way to write to it: `GraphStore.apply`.

`apply` runs a write description (writes.py) as one store request, with the generation
tokens of the graphs it changes set in the same request; then whatever follows the store's
writes (the full-text index) follows this one. Everything is synchronous and blocking; async
callers run it in worker threads and serialise writes with one lock (access.py). This
module must never write anything but a `Write`, and never upload or search the local graph.
"""

from __future__ import annotations

from collections.abc import Mapping
from contextlib import AbstractContextManager
from pathlib import Path
from typing import Protocol

from pyoxigraph import NamedNode, Store

from colony_actor.colony.store.changes import Changes, generation_sparql
from colony_actor.colony.store.reads import StoreReads
from colony_actor.colony.store.rows import GraphRows
from colony_actor.colony.store.writes import Write


class Follower(Protocol):
    """What follows the store's writes (the full-text index)."""

    def writing(self, store: Store, changes: Changes,
                written: Mapping[NamedNode, GraphRows] | None = None
                ) -> AbstractContextManager[None]:
        """Around the store request making `changes`: follow it once it is done."""

    def close(self) -> None: ...


class GraphStore(StoreReads):
    def __init__(self, path: Path, config_address: str) -> None:
        """The store in directory `path`, whose configuration pod is at `config_address`."""
        path.mkdir(parents=True, exist_ok=True)
        super().__init__(Store(str(path)), config_address)
        self.path = path
        # Writes applied so far: a reader that opened the store elsewhere (a query worker)
        # opens it again when this has moved.
        self.generation = 0
        self._follower: Follower | None = None
        self._closed = False

    def follow(self, follower: Follower) -> None:
        """Have `follower` follow every write from now on (and close with the store)."""
        if self._follower is not None:
            raise RuntimeError("the store is already followed")
        self._follower = follower

    @property
    def closed(self) -> bool:
        return self._closed

    def close(self) -> None:
        """Flush and release the store (its directory lock goes with the last reference)."""
        if self._follower is not None:
            self._follower.close()
        self.store.flush()
        self._closed = True
        del self.store

    def apply(self, write: Write) -> None:
        """Run `write` as one store transaction; then the follower follows it."""
        if not write.sparql.strip():
            return
        try:
            self._apply(write)
        finally:
            # After the write, never before: a reader that sees the new count sees it.
            self.generation += 1

    def _apply(self, write: Write) -> None:
        if not write.changes:
            self.store.update(write.sparql)
            return
        sparql = write.sparql
        if not sparql.rstrip().endswith(";"):
            sparql += " ;\n"
        sparql += generation_sparql(write.changes)
        if self._follower is None:
            self.store.update(sparql)
            return
        with self._follower.writing(self.store, write.changes, write.written):
            self.store.update(sparql)
