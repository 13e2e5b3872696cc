"""Running the full-text index's catch-up on the event loop's side: the plan and each batch
in worker threads, each batch under the store's write lock, and a log line every few
seconds saying how far it got.

Edits and searches go on meanwhile (searches wait for the index, edits for one batch at
most). This module must never block the event loop, nor hold the write lock across more
than one batch.
"""

from __future__ import annotations

import time
from typing import Final

import structlog
import trio

from colony_actor.colony.fulltext.index import FullTextIndex
from colony_actor.colony.store.access import StoreAccess

log = structlog.get_logger("colony_actor.colony.fulltext")

# How often a catch-up says how far it got.
LOG_EVERY_SECONDS: Final = 3.0


async def catching_up(access: StoreAccess, index: FullTextIndex) -> None:
    try:
        await _catch_up(access, index)
    except Exception as exc:  # a storage failure: searches scan until the store heals
        index.set_aside(f"could not catch up with the store: {exc!r}")


async def _catch_up(access: StoreAccess, index: FullTextIndex) -> None:
    started = time.monotonic()
    kind = index.behind
    plan = await access.read(lambda: index.catch_up_plan(access.graph.store))
    log.info("fulltext_catch_up_started", path=str(index.path), kind=kind,
             pods=len(plan.stale),
             seconds=round(time.monotonic() - started, 2))
    logged = time.monotonic()
    for batch in plan.batches():
        await access.write(lambda batch=batch: index.catch_up_batch(access.graph.store, batch))
        # Between batches, whatever waits for the loop or the lock goes first.
        await trio.lowlevel.checkpoint()
        now = time.monotonic()
        if now - logged >= LOG_EVERY_SECONDS:
            logged = now
            _log_progress("fulltext_catching_up", index, started)
    index.caught_up()
    _log_progress("fulltext_rebuilt" if kind == "build" else "fulltext_reconciled", index,
                  started)


def _log_progress(event: str, index: FullTextIndex, started: float) -> None:
    done = index.catch_up_progress()
    seconds = max(time.monotonic() - started, 1e-9)
    log.info(event, path=str(index.path), pods_done=done.graphs_done,
             pods_total=done.graphs_total, literals=done.rows_done,
             literals_per_second=round(done.rows_done / seconds),
             seconds=round(seconds, 2))
