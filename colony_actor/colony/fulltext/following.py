"""Following one store write in the index, in one SQLite transaction committed after the
store's.

Most of a refresh's writes replace pods wholly with data parsed beforehand: their rows and
generation tokens are known before the store request runs, so they are written into the
index (`ahead`, in a thread of their own) while the store writes its statements (oxigraph
lets go of the GIL meanwhile); the rest of the write (graphs read back from the store:
blank nodes, subjects, a registry) is followed once the store request is done. The
transaction commits only then, so the index never shows rows the store does not hold:
if the store request fails, the transaction is rolled back and the index is as it was.

Blocking: it runs in the writer's worker thread (the store's write lock and the index's
own lock held), and must never write to the store, never index the local graph, and never
run the ahead work on the writer's connection while that thread uses it.
"""

from __future__ import annotations

import contextlib
import sqlite3
from collections.abc import Mapping
from concurrent.futures import Future, ThreadPoolExecutor

from pyoxigraph import NamedNode, Store

from colony_actor.colony.fulltext import rows
from colony_actor.colony.fulltext.upkeep import Upkeep
from colony_actor.colony.store.changes import Changes
from colony_actor.colony.store.rows import GraphRows
from colony_actor.colony.vocab import LOCAL_GRAPH
from colony_actor.runtime import threads


def ahead_pool() -> ThreadPoolExecutor:
    """The one thread that writes rows ahead, at a worker thread's lowered priority."""
    return ThreadPoolExecutor(max_workers=1, thread_name_prefix="fulltext-ahead",
                              initializer=threads.lower_this_thread)


class Following:
    """The follow of one write: `start` before the store request, then `finish` once it
    is done, or `abandon` if it failed. The caller holds the index's lock throughout."""

    def __init__(self, upkeep: Upkeep, pool: ThreadPoolExecutor,
                 tokens: Mapping[NamedNode, str],
                 written: Mapping[NamedNode, GraphRows]) -> None:
        self._upkeep = upkeep
        self._pool = pool
        self._tokens = tokens
        # Graphs whose rows are all known before the write (blank nodes are renamed by the
        # store, so their rows can only be read back after it).
        self._known = {graph: found.rows for graph, found in written.items()
                       if not found.blank and graph != LOCAL_GRAPH and graph in tokens}
        # (A graph written with data holds its token: the store sets it when not empty.)
        self._written = written
        self._ahead: Future[None] | None = None
        # Why the transaction could not be opened (kept as text: an exception kept would
        # keep the frames it passed through, and with them the store).
        self._failed: str | None = None

    def start(self) -> None:
        """Open the transaction and write the known rows in the ahead thread. Never
        raises: a failure is raised by `finish`."""
        try:
            self._upkeep.db.execute("BEGIN IMMEDIATE")
            if self._known:
                self._ahead = self._pool.submit(self._write_known)
        except (sqlite3.Error, RuntimeError) as exc:  # RuntimeError: the pool is shut
            self._failed = repr(exc)

    def _write_known(self) -> None:
        for graph, found in self._known.items():
            self._upkeep.put_rows(graph.value, self._tokens[graph], found)

    def _wait(self) -> None:
        """Wait for the ahead work; raise what it raised."""
        ahead, self._ahead = self._ahead, None
        try:
            if ahead is not None:
                ahead.result()
        finally:
            del ahead  # the future holds the error, whose frames would hold it: a cycle

    def abandon(self) -> None:
        """The store request failed (nothing written): undo the index's part of it."""
        with contextlib.suppress(Exception):
            self._wait()
        self._rollback()

    def finish(self, store: Store, changes: Changes, before: Mapping[NamedNode, set[str]]
               ) -> None:
        """The store request succeeded: follow the rest of it, then commit. Raises what
        kept the index from following (the transaction rolled back)."""
        try:
            if self._failed is not None:
                raise sqlite3.OperationalError(self._failed)
            self._wait()
            rest = [g for g in changes if g != LOCAL_GRAPH and g not in self._known]
            # Read back: a graph the write emptied without dropping it keeps no token.
            tokens = rows.generations(store, rest) if rest else {}
            for graph in self._known:
                # Written ahead as the write's rows; a graph it left empty is gone.
                if not store.contains_named_graph(graph):
                    self._upkeep.drop_graph(graph.value)
            for graph in rest:
                self._upkeep.follow(store, graph, changes[graph], tokens.get(graph.value, ""),
                                    before.get(graph, set()), self._written.get(graph))
            self._upkeep.db.execute("COMMIT")
        except BaseException:
            self._rollback()
            raise

    def _rollback(self) -> None:
        if self._upkeep.db.in_transaction:
            with contextlib.suppress(sqlite3.Error):
                self._upkeep.db.execute("ROLLBACK")
        # Ids read during the transaction (predicates) may be gone with it.
        self._upkeep.forget()
