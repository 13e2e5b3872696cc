"""Answering a search job: a parsed query run where it can be stopped, bounded in time.

The built-in forms run their own SPARQL in worker threads of their own (a query abandoned
at its timeout keeps its thread until it finishes, and must not starve edits of theirs).
An advanced query, whose cost the client controls, is parsed and run in a query worker
process (process.py), killed at the deadline; the store is flushed before a worker opens
it anew, so the worker sees every write the daemon made. This module must never block the
event loop, and never let a query's failure out as anything but a ColonyError.
"""

from __future__ import annotations

import functools
import time
from typing import Any, Final

import trio
from pyoxigraph import NamedNode, Store

from colony_actor.colony.errors import ColonyError, IndexNotReady, InvalidInput, SearchTimeout
from colony_actor.colony.fulltext.index import FullTextIndex
from colony_actor.colony.search.forms import SearchQuery
from colony_actor.colony.search.process import QueryWorkers, WorkerDied
from colony_actor.colony.search.run import run
from colony_actor.colony.search.sparql_json import Serialized
from colony_actor.colony.store.graph import GraphStore
from colony_actor.runtime import threads
from colony_actor.runtime.timestamps import now_stored

SEARCH_THREADS: Final = 2
# Parsing alone is quick whatever the text (at most 100,000 characters): this bounds a
# check that also starts a worker on a busy machine, never a query's evaluation.
CHECK_SECONDS: Final = 15.0
_SHOWN: Final = 500


class QueryFailed(ColonyError):
    """An advanced query that its worker could not answer (memory, a crash)."""


class Searcher:
    def __init__(self, graph: GraphStore, index: FullTextIndex | None, timeout: float,
                 workers: QueryWorkers, cpu_seconds: int) -> None:
        # The store itself is looked up for each search: holding it here would keep it
        # open (and its directory locked) after the store is closed.
        self._graph = graph
        self._index = index
        self._timeout = timeout
        self._workers = workers
        self._cpu_seconds = cpu_seconds
        self._flushed = -1
        self._limiter = trio.CapacityLimiter(SEARCH_THREADS)

    @property
    def workers(self) -> QueryWorkers:
        return self._workers

    async def check(self, query: SearchQuery) -> None:
        """InvalidInput if an advanced query's SPARQL does not parse, or crashes the
        parser (in a worker process, killed past CHECK_SECONDS)."""
        if query.form != "advanced":
            return
        try:
            with trio.fail_after(CHECK_SECONDS):
                header, _ = await self._workers.call({"op": "check", "sparql": query.sparql,
                                                      "cpu_seconds": self._cpu_seconds})
        except trio.TooSlowError:
            raise InvalidInput(f"The SPARQL query could not be parsed within {CHECK_SECONDS:g} "
                               "seconds; it is refused") from None
        except WorkerDied as exc:
            if exc.starting:
                raise QueryFailed(f"A query worker could not start: {exc.reason}") from None
            raise InvalidInput(f"The SPARQL query crashed the SPARQL parser ({exc.reason}); "
                               "it is refused") from None
        if header.get("syntax_error"):
            raise InvalidInput(f"Invalid SPARQL query: {str(header['syntax_error'])[:_SHOWN]}")

    async def answer(self, query: SearchQuery) -> dict[str, Any]:
        """The search result of API.md §5; SearchTimeout past the timeout, InvalidInput
        for a query the store refuses, QueryFailed for one its worker could not answer."""
        timeout = self._timeout
        try:
            with trio.fail_after(timeout):
                if query.form == "advanced":
                    results = await self._advanced(query.sparql, timeout)
                    # A small answer is parsed on the loop: a thread would cost it more.
                    out = await threads.run_sized(len(results.text), results.to_json)
                else:
                    out = await self._in_thread(query, time.monotonic() + timeout)
        except IndexNotReady:
            raise  # its message says why it waited, and how far the index got
        except (trio.TooSlowError, SearchTimeout):
            index = self._index
            if index is not None and index.usable and index.behind:
                raise index.not_ready() from None
            raise SearchTimeout(f"Search timed out after {timeout:g} seconds") from None
        except SyntaxError as exc:
            raise InvalidInput(f"Invalid SPARQL query: {str(exc)[:_SHOWN]}") from None
        except (ValueError, TypeError) as exc:
            raise InvalidInput(f"Invalid search: {str(exc)[:_SHOWN]}") from None
        out["search_timestamp"] = now_stored()
        return out

    async def aclose(self) -> None:
        await self._workers.aclose()

    async def _in_thread(self, query: SearchQuery, deadline: float) -> dict[str, Any]:
        """A built-in form's answer, found and put in its JSON form in one worker-thread
        call (the form walks every row found; a second call would cost the loop a
        hand-off per search)."""
        work = functools.partial(_answer, self._graph.store, query, self._graph.config_node,
                                 deadline, self._index)
        return await threads.run_sync(work, limiter=self._limiter, abandon_on_cancel=True)

    async def _advanced(self, sparql: str, seconds: float) -> Serialized:
        generation = self._graph.generation
        if generation != self._flushed:
            # A worker opens the store read-only; what it sees is what is on disk.
            await threads.run_sync(self._graph.store.flush)
            self._flushed = generation
        request = {"op": "run", "sparql": sparql, "store_path": str(self._graph.path),
                   "generation": generation, "seconds": seconds,
                   "cpu_seconds": self._cpu_seconds}
        try:
            header, body = await self._workers.call(request)
        except WorkerDied as exc:
            raise QueryFailed(f"The query stopped its worker process: {exc.reason}. "
                              "The daemon serves on; try a smaller query") from None
        error = header.get("error")
        if error == "timeout":
            raise SearchTimeout(str(header.get("message", "")))
        if error in ("syntax", "invalid"):
            raise InvalidInput(f"Invalid SPARQL query: {str(header.get('message'))[:_SHOWN]}")
        if error == "memory":
            raise QueryFailed("The query needed more memory than a query may have "
                              "(search.worker_memory_bytes)")
        if error is not None:
            raise QueryFailed(f"The query failed: {str(header.get('message'))[:_SHOWN]}")
        return Serialized(body, int(header["count"]), list(header["pods_found"]),
                          bool(header["truncated"]))


def _answer(store: Store, query: SearchQuery, config: NamedNode, deadline: float,
            index: FullTextIndex | None) -> dict[str, Any]:
    """(Blocking.) A built-in form's search result, as `Searcher.answer` returns it."""
    return run(store, query, config, deadline, index).to_json()
