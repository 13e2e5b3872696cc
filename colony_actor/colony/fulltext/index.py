"""The full-text index of the pods' literals: SQLite FTS5 beside the store, so that a text
search reads a few subjects instead of scanning every literal of every pod.

It answers one question, `candidates`: which (graph, subject) groups can hold the first
rows of a text search. For that it
  1. lower-cases the terms with oxigraph's LCASE;
  2. asks SQLite which groups contain which terms (ranking.groups_query), or, for one
     common term, reads the graphs in ranking order until the limit is reached (walk.py),
     or, for several one-word terms, reads it from their words' postings (exact.py);
  3. ranks the groups as the query does (match_count, depth key from the config pod,
     graph) and keeps those that can hold the first LIMIT rows (ranking.py, choosing.py).
It also lists the pod graphs in IRI order (`graphs_after`, for search/typed.py).
The search itself (search/text.py) then runs the reference query on those groups only,
so rows, order, match_count and depth come from the very query a full scan runs.

The store is the truth. Every write that changes a pod graph also sets that graph's
generation token (INDEX_GENERATION in the local graph) in the same store transaction; the
index follows under the same write lock and records the token it reflects. A clean close
seals the index and the store with one token; an open that finds them sealed alike is in
step at once, whatever the size. Otherwise (a crash between the two; a missing, outdated
or unreadable file, replaced by an empty one) the index is behind until the catch-up
(catchup.py, run by running.py once the daemon listens) has re-read the graphs whose token
differs, in batches; searches wait for it meanwhile. Candidates carry the index's version
(even while no write is in progress), so a search that overlapped a write knows to ask
again; an index that cannot follow a write is no longer used (searches scan) and is
rebuilt at the next open, or once the store's owner finds the storage in working order
again (`reopened`).

Everything here is blocking: it must only ever run in worker threads, never on the event
loop. It must never run a search query nor be the source of a search result's rows, never
index or reveal the local graph, never paste a user string into SPARQL (terms are
pyoxigraph Literals) or SQL (terms are bound parameters), and never write to the store.
"""

from __future__ import annotations

import contextlib
import sqlite3
import threading
import time
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path

import structlog
from pyoxigraph import NamedNode, Store

from colony_actor.colony.errors import IndexNotReady, SearchTimeout
from colony_actor.colony.fulltext import catchup, check, choosing, rows, schema, sealed, walk
from colony_actor.colony.fulltext.checkpoints import Checkpointer
from colony_actor.colony.fulltext.depths import DepthKeys
from colony_actor.colony.fulltext.following import Following, ahead_pool
from colony_actor.colony.fulltext.order import GraphOrder
from colony_actor.colony.fulltext.ranking import Candidates
from colony_actor.colony.fulltext.readers import Readers
from colony_actor.colony.fulltext.state import CatchUp, IndexStatistics
from colony_actor.colony.fulltext.upkeep import Upkeep
from colony_actor.colony.fulltext.words import look_up
from colony_actor.colony.store.changes import WHOLE, Changes
from colony_actor.colony.store.rows import GraphRows

log = structlog.get_logger("colony_actor.colony.fulltext")


class FullTextIndex:
    """Use `FullTextIndex.open`. Writes come from GraphStore under its caller's write lock;
    searches from any worker thread."""

    def __init__(self, path: Path, db: sqlite3.Connection, behind: str = "") -> None:
        self.path = path
        self._progress = CatchUp(behind, 0, 0, 0)
        self._upkeep = Upkeep(db)  # the writer's connection
        self._db_lock = threading.Lock()
        self._readers = Readers(path)
        self._checkpoints = Checkpointer(path)
        # Odd while a write is in progress; a search that saw it change asks again.
        self._version = 0
        self._waiting = 0
        self._changed = threading.Condition()
        self._depths = DepthKeys()
        self._usable = True
        self._graphs = GraphOrder()
        self._ahead = ahead_pool()
        self.common_matches = walk.COMMON_MATCHES  # tests lower both to walk small data
        self.walk_budget = walk.WALK_BUDGET

    # -- opening ---------------------------------------------------------------------

    @classmethod
    def open(cls, path: Path, store: Store, seal: str | None = None) -> FullTextIndex:
        """Open the index beside `store` (blocking, and quick whatever the size): in step
        if it was sealed with `seal` (the token the store kept from the index's last clean
        close), else behind until `catch_up` has run; a missing, outdated or unreadable
        file is replaced by an empty one, which the catch-up fills."""
        try:
            db = schema.open_existing(path)
        except schema.IndexUnusable as exc:
            log.warning("fulltext_rebuild", path=str(path), reason=str(exc))
            return cls(path, schema.create_empty(path), behind="build")
        if seal is not None and schema.read_seal(db) == seal:  # open_existing read meta
            index = cls(path, db)
            kept = sealed.read(db)
            if kept is not None:
                index._depths.prime(*kept)
                index._readers.sealed = kept[1]
            return index
        return cls(path, db, behind="reconcile")

    # -- catching up (the caller holds the store's write lock for each batch) ---------

    def catch_up_plan(self, store: Store) -> catchup.Plan:
        """Which graphs the catch-up re-reads (no write lock needed)."""
        with self._db_lock:
            found = catchup.plan(store, self._upkeep)
        with self._changed:
            self._progress = CatchUp(self._progress.kind, 0, len(found.stale), 0)
        return found

    def catch_up_batch(self, store: Store, graphs: Sequence[NamedNode]) -> None:
        """Re-read these graphs of the plan whole (with the store's write lock held)."""
        with self._db_lock:
            try:
                written = catchup.replace_batch(store, self._upkeep.db, self._upkeep, graphs)
            except Exception:
                self._upkeep.forget()
                raise
        with self._changed:
            known = self._progress
            self._progress = CatchUp(known.kind, known.graphs_done + len(graphs),
                                     known.graphs_total, known.rows_done + written)

    def caught_up(self) -> None:
        """Every graph of the plan is in step: searches use the index from now on."""
        with self._changed:
            self._progress = CatchUp("", self._progress.graphs_done,
                                     self._progress.graphs_total, self._progress.rows_done)
            self._changed.notify_all()

    def set_aside(self, reason: str) -> None:
        """Stop using the index (searches scan) until `reopened` rebuilds it."""
        self._give_up(reason)
        self.caught_up()

    def catch_up(self, store: Store) -> None:
        """The whole catch-up at once (blocking; for callers with no concurrent writes)."""
        for batch in self.catch_up_plan(store).batches() if self.behind else []:
            self.catch_up_batch(store, batch)
        self.caught_up()

    @property
    def behind(self) -> str:
        """Why the index is behind its store ("build", "reconcile"), or "" once in step."""
        return self._progress.kind

    def catch_up_progress(self) -> CatchUp:
        return self._progress

    def seal(self) -> str | None:
        """At a clean close: a token for the store to keep (sealed.py), None if not in step."""
        if not self._usable or self.behind:
            return None
        try:
            with self._db_lock:
                return sealed.seal(self._upkeep.db, *(self._depths.current() or (None, None)))
        except sqlite3.Error as exc:
            log.warning("fulltext_not_sealed", path=str(self.path), error=str(exc))
            return None

    def close(self) -> None:
        self._readers.close()
        self._checkpoints.close()
        self._ahead.shutdown()
        with self._db_lock:
            self._upkeep.db.close()

    # -- following the store's writes (the caller holds the store's write lock) -------

    @contextlib.contextmanager
    def writing(self, store: Store, changes: Changes, tokens: Mapping[NamedNode, str],
                written: Mapping[NamedNode, GraphRows] | None = None) -> Iterator[None]:
        """Around a store write that makes `changes` and gives the graphs it does not leave
        empty these generation `tokens`: the index follows it (following.py). `written`
        may give the rows of some graphs the write replaces wholly (written meanwhile).
        The body must be the one store transaction; if it raises, the index is untouched
        (the store is too). If the index cannot follow, it is marked unusable: searches
        scan, and the next open rebuilds it."""
        before: dict[NamedNode, set[str]] = {}
        if self._usable:
            for graph, touch in changes.items():
                if touch.trees and not touch.whole:
                    before[graph] = rows.tree_subjects(store, graph, touch.trees)
        with self._changed:
            self._version += 1
        failed = ""
        try:
            if not self._usable:
                yield
                return
            if self.behind:
                # A graph the catch-up has not reached may hold rows from before a crash:
                # a write re-reads it whole, so its new generation vouches for all of it.
                changes = {graph: WHOLE for graph in changes}
            with self._db_lock:
                follow = Following(self._upkeep, self._ahead, tokens, written or {})
                follow.start()
                try:
                    yield
                except BaseException:
                    follow.abandon()
                    raise
                for graph in changes:
                    self._depths.wrote(graph.value)  # the config pod's counts
                try:
                    follow.finish(store, changes, before)
                except Exception as exc:  # the store's write stands: it is the truth
                    failed = f"could not follow a write: {exc!r}"
            if failed:
                self._give_up(failed)
        finally:
            with self._changed:
                self._version += 1
                self._changed.notify_all()

    def _give_up(self, reason: str) -> None:
        self._usable = False
        log.error("fulltext_unusable", path=str(self.path), reason=reason)
        try:
            with self._db_lock:
                schema.mark_outdated(self._upkeep.db)
        except sqlite3.Error as exc:
            # Its generations still tell the next open what is stale.
            log.error("fulltext_mark_failed", path=str(self.path), error=str(exc))

    @property
    def usable(self) -> bool:
        return self._usable

    def reopened(self, store: Store) -> None:
        """The store is in working order again (reopened after a storage fault): an index
        set aside is rebuilt from it, in place, and used again. Call as a write is made:
        with the store's write lock held. Raises what kept the rebuild from finishing
        (the index then stays set aside, searches scan)."""
        if self._usable:
            return
        with self._changed:
            self._version += 1
        try:
            self._use(schema.rebuild(self.path, store))
            self._depths.clear()
            self._usable = True
            log.warning("fulltext_resumed", path=str(self.path))
        finally:
            with self._changed:
                self._version += 1
                self._changed.notify_all()

    def adopt(self, built: Path) -> None:
        """Use the whole index file `built` (builder.py wrote it from the store as it was)
        instead of the one the catch-up fills; the graphs written since look stale to the
        next plan. Call with the store's write lock held."""
        with self._changed:
            self._version += 1
        try:
            self._use(schema.move_in_place(built, self.path))
        finally:
            with self._changed:
                self._version += 1
                self._changed.notify_all()

    def building(self, graphs_done: int, graphs_total: int, rows_done: int) -> None:
        """How far a build in another process got (for `not_ready` and the log)."""
        with self._changed:
            self._progress = CatchUp(self._progress.kind, graphs_done, graphs_total, rows_done)

    def _use(self, db: sqlite3.Connection) -> None:
        """Write through `db` from now on, and read its file."""
        with self._db_lock:
            old, self._upkeep = self._upkeep, Upkeep(db)
            old.db.close()
        # Pooled readers (and the checkpoints' connection) still see the file replaced.
        readers, self._readers = self._readers, Readers(self.path)
        readers.close()
        self._checkpoints.close()
        self._checkpoints = Checkpointer(self.path)

    def statistics(self) -> IndexStatistics:
        with self._changed:
            return IndexStatistics(self._usable, self._version % 2 == 1, self._waiting,
                                   self._version)

    def checkpoint(self) -> tuple[int, int]:
        """Copy the write-ahead log into the file (checkpoints.py): (logged, copied)."""
        return self._checkpoints.run()

    # -- answering -------------------------------------------------------------------

    def changed_since(self, version: int) -> bool:
        """Whether a write began since `version` (a `Candidates.version`)."""
        return self._version != version

    def candidates(self, store: Store, terms: Sequence[str], limit: int, config: NamedNode,
                   deadline: float) -> Candidates | None:
        """The (graph, subject) groups holding every row of the first `limit` of a text
        search for `terms` (distinct, not empty), with what makes the scan's own order of
        their rows arbitrary; None when the index cannot answer (the caller scans).
        Waits for a write in progress, and for the catch-up after a start; SearchTimeout
        (IndexNotReady) past `deadline`."""
        if not self._usable:
            return None
        self._wait_caught_up(deadline)
        if not self._usable:
            return None
        version = self._stable_version(deadline)
        try:
            return self._candidates(store, terms, limit, config, deadline, version)
        except sqlite3.OperationalError as exc:
            if time.monotonic() > deadline:
                raise SearchTimeout("The search ran out of time") from None
            log.error("fulltext_search_failed", path=str(self.path), error=str(exc))
        except sqlite3.Error as exc:
            log.error("fulltext_search_failed", path=str(self.path), error=str(exc))
        return None

    def _wait_caught_up(self, deadline: float) -> None:
        """Wait for the catch-up to end; IndexNotReady, saying how far it got, past
        `deadline`."""
        with self._changed:
            wait = None if deadline == float("inf") else max(0.0, deadline - time.monotonic())
            if not self._changed.wait_for(lambda: not self.behind or not self._usable,
                                          timeout=wait):
                raise self.not_ready()

    def not_ready(self) -> IndexNotReady:
        """The error of a search that ran out of time waiting for the catch-up."""
        done = self._progress
        return IndexNotReady(f"The full-text index is still being built after a start "
                             f"({done.graphs_done} of {done.graphs_total} pods indexed): "
                             f"the search can be asked again in a moment")

    def _stable_version(self, deadline: float) -> int:
        with self._changed:
            wait = None if deadline == float("inf") else max(0.0, deadline - time.monotonic())
            self._waiting += 1
            try:
                if not self._changed.wait_for(lambda: self._version % 2 == 0, timeout=wait):
                    raise SearchTimeout("The search ran out of time")
            finally:
                self._waiting -= 1
            return self._version

    def _candidates(self, store: Store, terms: Sequence[str], limit: int, config: NamedNode,
                    deadline: float, version: int) -> Candidates:
        lowered = rows.lcase(store, terms)
        depths = self._depths.of(store, config)
        with self._readers.reading(deadline) as reader:
            looked_up = look_up(reader, lowered)
            found = choosing.exact_candidates(reader, lowered, looked_up, limit, depths,
                                              version)
            if found is not None:
                return found
            in_sql = self._readers.load_depth_keys(reader, depths)
            # A one-term search for a common term walks the graphs (walk.py).
            return choosing.candidates(
                reader, lowered, looked_up, limit, depths, version, in_sql,
                lambda term, words: walk.first_literals(
                    reader, self._graphs.order(reader, depths, version), term, limit,
                    self.walk_budget) if walk.is_common(reader, words, self.common_matches)
                else None)

    def graphs_after(self, after: str, count: int, deadline: float
                     ) -> tuple[list[str], int] | None:
        """Up to `count` IRIs of the store's pod graphs after `after`, in IRI order, with the
        version they were read at; None while the index is not in step."""
        if not self._usable or self.behind:
            return None
        version = self._stable_version(deadline)
        try:
            with self._readers.reading(deadline) as reader:
                return [str(i) for i, in reader.execute(
                    "SELECT iri FROM graphs WHERE iri > ? ORDER BY iri LIMIT ?",
                    (after, count))], version
        except sqlite3.Error:
            if time.monotonic() > deadline:
                raise SearchTimeout("The search ran out of time") from None
            return None

    def differences(self, store: Store) -> list[str]:
        """(Tests, diagnostics.) How the index differs from the store (empty when in
        step); reads everything."""
        return check.differences(self._upkeep, self._db_lock, store)


def open_beside(path: Path, store: Store, seal: str | None = None) -> FullTextIndex | None:
    """The index at `path` (behind `store` until caught up, unless sealed with `seal`);
    None (searches scan, nothing else depends on the index) when it cannot be opened nor
    created."""
    try:
        return FullTextIndex.open(path, store, seal)
    except (sqlite3.Error, OSError) as exc:
        log.error("fulltext_unavailable", path=str(path), error=str(exc))
        return None
