"""Answering a search job: a parsed query run in a worker thread, bounded in time.

Searches get their own threads: a query abandoned at its timeout keeps its thread until
it finishes, and must not starve edits of theirs. This module must never block the event
loop, and never let a query's failure out as anything but a ColonyError.
"""

from __future__ import annotations

import functools
import time
from typing import Any, Final

import trio

from colony_actor.colony.errors import IndexNotReady, InvalidInput, SearchTimeout
from colony_actor.colony.fulltext.index import FullTextIndex
from colony_actor.colony.search.forms import SearchQuery
from colony_actor.colony.search.run import run
from colony_actor.colony.store.reads import StoreReads
from colony_actor.runtime import threads
from colony_actor.runtime.timestamps import now_stored

SEARCH_THREADS: Final = 2


class Searcher:
    def __init__(self, reads: StoreReads, index: FullTextIndex | None, timeout: float) -> None:
        # The store itself is looked up for each search: holding it here would keep it
        # open (and its directory locked) after the store is closed.
        self._reads = reads
        self._index = index
        self._timeout = timeout
        self._limiter = trio.CapacityLimiter(SEARCH_THREADS)

    async def answer(self, query: SearchQuery) -> dict[str, Any]:
        """The search result of API.md §5; SearchTimeout past the timeout, InvalidInput
        for a query the store refuses."""
        timeout = self._timeout
        deadline = time.monotonic() + timeout
        work = functools.partial(run, self._reads.store, query, self._reads.config_node,
                                 deadline, self._index)
        try:
            with trio.fail_after(timeout):
                results = await threads.run_sync(work, limiter=self._limiter,
                                                 abandon_on_cancel=True)
        except IndexNotReady:
            raise  # its message says why it waited, and how far the index got
        except (trio.TooSlowError, SearchTimeout):
            index = self._index
            if index is not None and index.usable and index.behind:
                raise index.not_ready() from None
            raise SearchTimeout(f"Search timed out after {timeout:g} seconds") from None
        except SyntaxError as exc:
            raise InvalidInput(f"Invalid SPARQL query: {str(exc)[:500]}") from None
        except (ValueError, TypeError) as exc:
            raise InvalidInput(f"Invalid search: {str(exc)[:500]}") from None
        # In a thread too: the rows path's form walks every row it found.
        out = await threads.run_sync(results.to_json)
        out["search_timestamp"] = now_stored()
        return out
