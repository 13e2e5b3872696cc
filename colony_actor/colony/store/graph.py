"""The pyoxigraph store on disk, and the one way to write to it: `GraphStore.apply`.

`apply` runs a write description (writes.py) as one store request, with the generation
tokens of the graphs it changes set in the same request; then whatever follows the store's
writes (the full-text index) follows this one. A storage failure is recorded as the
store's `fault` and raised as a StorageError (faults.py); `reopen` heals what RocksDB
keeps failing after (its sticky background error), in place: the same object, the same
directory, the same follower. Everything is synchronous and blocking; async callers run it
in worker threads, serialise writes with one lock and hold readers back while it reopens
(access.py). This module must never write anything but a `Write`, and never upload or
search the local graph.
"""

from __future__ import annotations

import contextlib
import gc
import sys
import threading
import time
from collections.abc import Mapping
from contextlib import AbstractContextManager
from pathlib import Path
from typing import Final, Protocol

import structlog
from pyoxigraph import Literal, NamedNode, Store

from colony_actor.colony.errors import StorageError
from colony_actor.colony.store.changes import Changes, generation_sparql, new_tokens
from colony_actor.colony.store.faults import Fault, classify
from colony_actor.colony.store.reads import StoreReads
from colony_actor.colony.store.rows import GraphRows
from colony_actor.colony.store.writes import Write
from colony_actor.colony.vocab import INDEX_SEAL, LOCAL_GRAPH

log = structlog.get_logger("colony_actor.colony.store")

# How long a reopen waits for readers that took the store without the access gate (a
# search's thread) to let go of it: RocksDB's directory lock goes with the last reference.
RELEASE_WAIT_SECONDS: Final = 2.0
_POLL_SECONDS: Final = 0.01


class Follower(Protocol):
    """What follows the store's writes (the full-text index)."""

    def writing(self, store: Store, changes: Changes, tokens: Mapping[NamedNode, str],
                written: Mapping[NamedNode, GraphRows] | None = None
                ) -> AbstractContextManager[None]:
        """Around the store request making `changes` and giving the graphs that are not
        left empty these generation `tokens`: follow it once it is done."""

    @property
    def usable(self) -> bool:
        """False once it could not follow a write (it was set aside)."""

    def reopened(self, store: Store) -> None:
        """The store is open again (or still): a follower set aside catches up with it.
        Raises what kept it from doing so."""

    def seal(self) -> str | None:
        """At a clean close: a token saying it is in step, for the store to keep (None if
        it is not in step)."""

    def close(self) -> None: ...


class GraphStore(StoreReads):
    def __init__(self, path: Path, config_address: str) -> None:
        """The store in directory `path`, whose configuration pod is at `config_address`."""
        path.mkdir(parents=True, exist_ok=True)
        super().__init__(Store(str(path)), config_address)
        self.path = path
        self.opened_seal = self._take_seal()
        # Writes applied so far: a reader that opened the store elsewhere (a query worker)
        # opens it again when this has moved.
        self.generation = 0
        self._follower: Follower | None = None
        self._closed = False
        # False while a read-only handle stands in for a store that could not be reopened.
        self._writable = True
        self._fault: Fault | None = None
        self._fault_lock = threading.Lock()

    def _take_seal(self) -> str | None:
        """The follower's seal left by the last clean close, removed from the store now:
        any write from here on may leave the follower behind until it is sealed again."""
        found = [q.object.value for q in self.store.quads_for_pattern(
            LOCAL_GRAPH, INDEX_SEAL, None, LOCAL_GRAPH) if isinstance(q.object, Literal)]
        if not found:
            return None
        try:
            self.store.update(f"DELETE WHERE {{ GRAPH {LOCAL_GRAPH} {{ {LOCAL_GRAPH} "
                              f"{INDEX_SEAL} ?v }} }}")
        except OSError:
            return None  # still sealed: writes fail here, and the seal is not trusted
        return found[0] if len(found) == 1 else None

    def follow(self, follower: Follower) -> None:
        """Have `follower` follow every write from now on (and close with the store)."""
        if self._follower is not None:
            raise RuntimeError("the store is already followed")
        self._follower = follower

    @property
    def closed(self) -> bool:
        return self._closed

    @property
    def writable(self) -> bool:
        return self._writable

    @property
    def follower_usable(self) -> bool:
        return self._follower is None or self._follower.usable

    def close(self) -> None:
        """Flush and release the store (its directory lock goes with the last reference).
        A store that cannot flush is released all the same: its write-ahead log holds
        every write it acknowledged, and the next open replays it."""
        seal = None
        if self._follower is not None:
            seal = self._follower.seal() if self._writable and self._fault is None else None
            self._follower.close()
        if self._writable:
            try:
                if seal is not None:
                    self.store.update(f"INSERT DATA {{ GRAPH {LOCAL_GRAPH} {{ {LOCAL_GRAPH} "
                                      f"{INDEX_SEAL} {Literal(seal)} }} }}")
                self.store.flush()
            except OSError as exc:
                log.warning("store_closed_unflushed", path=str(self.path), error=str(exc))
        self._closed = True
        del self.store

    # -- faults ----------------------------------------------------------------------

    @property
    def fault(self) -> Fault | None:
        """The storage failure last met, until a write or a reopen succeeds."""
        return self._fault

    def failed(self, exc: BaseException) -> StorageError:
        """Record `exc`, a failure of this store's storage; the error to raise for it."""
        fault = classify(exc, self.path.parent)
        with self._fault_lock:
            known, self._fault = self._fault, fault
        if known != fault:
            log.error("storage_fault", path=str(self.path), kind=fault.kind, error=fault.cause)
        return fault.error()

    def _healthy(self) -> None:
        with self._fault_lock:
            known, self._fault = self._fault, None
        if known is not None:
            log.info("storage_recovered", path=str(self.path), was=known.kind)

    # -- writing ---------------------------------------------------------------------

    def apply(self, write: Write) -> None:
        """Run `write` as one store transaction; then the follower follows it.
        StorageError (and nothing written) if the storage fails."""
        if not write.sparql.strip():
            return
        if not self._writable:
            fault = self._fault
            raise (fault.error() if fault is not None
                   else self.failed(OSError("the store is open read-only")))
        try:
            try:
                self._apply(write)
            finally:
                # After the write, never before: a reader that sees the new count sees it.
                self.generation += 1
        except OSError as exc:
            error = self.failed(exc)
        else:
            if self._fault is not None:
                self._healthy()
            return
        # Raised outside the handler, with no context: the failure's traceback holds the
        # frames that held the store, which a reopen waits to see released.
        raise error

    def _apply(self, write: Write) -> None:
        if not write.changes:
            self.store.update(write.sparql)
            return
        sparql = write.sparql
        if not sparql.rstrip().endswith(";"):
            sparql += " ;\n"
        tokens = new_tokens(write.changes)
        sparql += generation_sparql(tokens)
        if self._follower is None:
            self.store.update(sparql)
            return
        with self._follower.writing(self.store, write.changes, tokens, write.written):
            self.store.update(sparql)

    # -- healing ---------------------------------------------------------------------

    def reopen(self) -> None:
        """Close the store and open it again, which clears what RocksDB refuses every write
        after (a background error: a full disk, a missing descriptor), then have the
        follower catch up. Call with the write lock held and no reader of the access
        gate running: readers that took the store otherwise keep the one they hold, or
        get a read-only handle meanwhile, never a closed store. StorageError if it cannot
        be done now: the store keeps serving reads (read-only if it could not be opened
        again) and the fault stays."""
        # Raised from here, whose frame holds no store: an error's traceback keeps the
        # frames it went through, and a handle kept so would hold the directory's lock.
        error = self._reopen()
        if error is not None:
            raise error
        self.resume_follower()

    def _reopen(self) -> StorageError | None:
        started = time.monotonic()
        deadline = started + RELEASE_WAIT_SECONDS
        try:
            standin = Store.read_only(str(self.path))
        except OSError as exc:
            return self.failed(exc)
        old, self.store = self.store, standin
        if not _released(old, deadline):
            self.store = old
            return self.failed(OSError("the store is still in use by a reader"))
        if self._writable:
            # The write-ahead log keeps what the memory table held if this fails.
            with contextlib.suppress(OSError):
                old.flush()
        del old
        try:
            fresh = _open(self.path, deadline)
        except OSError as exc:
            self._writable = False  # the stand-in serves reads until the next reopen
            log.error("store_reopen_failed", path=str(self.path), error=str(exc))
            return self.failed(exc)
        self.store, self._writable = fresh, True
        log.info("store_reopened", path=str(self.path),
                 seconds=round(time.monotonic() - started, 3))
        self._healthy()
        return None

    def resume_follower(self) -> None:
        """Have a follower that was set aside catch up with the store (the full-text
        index is rebuilt from it); logged, never raised, if it cannot yet."""
        if self._follower is None or self._follower.usable or not self._writable:
            return
        try:
            self._follower.reopened(self.store)
        except Exception as exc:
            log.error("follower_resume_failed", path=str(self.path), error=str(exc))


def _released(store: Store, deadline: float) -> bool:
    """Whether the caller's is the last reference to `store` (waiting until `deadline`)."""
    collected = False
    # Three: the caller's name for it, this function's argument, getrefcount's own.
    while sys.getrefcount(store) > 3:
        if not collected:
            # A reference may only be left in a cycle (a traceback's frames, say).
            gc.collect()
            collected = True
            continue
        if time.monotonic() > deadline:
            return False
        time.sleep(_POLL_SECONDS)
    return True


def _open(path: Path, deadline: float) -> Store:
    """The store at `path`, read-write; waits until `deadline` for a handle of this
    process that is still being released."""
    while True:
        try:
            return Store(str(path))
        except OSError as exc:
            if "lock hold by current process" not in str(exc) or time.monotonic() > deadline:
                raise
            time.sleep(_POLL_SECONDS)
