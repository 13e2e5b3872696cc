"""Running the full-text index's catch-up on the event loop's side: the plan and each batch
in worker threads, each batch under the store's write lock, and a log line every few
seconds saying how far it got. When most of a large store is to be read (a first start,
a lost index), the whole index is first built by a child process (builder.py) from a
read-only view of the store, and adopted; the batches then re-read only the graphs written
since the child's view.

Edits and searches go on meanwhile (searches wait for the index, edits for one batch at
most). This module must never block the event loop, nor hold the write lock across more
than one batch.
"""

from __future__ import annotations

import contextlib
import json
import os
import sqlite3
import subprocess
import sys
import time
from typing import Final

import structlog
import trio

from colony_actor.colony.fulltext.index import FullTextIndex
from colony_actor.colony.store.access import StoreAccess
from colony_actor.runtime import children, threads

log = structlog.get_logger("colony_actor.colony.fulltext")

# How often a catch-up says how far it got.
LOG_EVERY_SECONDS: Final = 3.0
# How often the index's write-ahead log is copied into its file.
CHECKPOINT_SECONDS: Final = 2.0
# From this many graphs to re-read, and at least half of all, a child builds the index.
CHILD_BUILD_GRAPHS: Final = 2000
_STDERR_KEPT: Final = 4096
_LINE_MOST: Final = 1 << 16


async def checkpointing(index: FullTextIndex, *,
                        task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED) -> None:
    """Every CHECKPOINT_SECONDS, copy what the index's write-ahead log took since into
    its file (checkpoints.py), in a worker thread, never under the store's write lock
    (with nothing to copy, a checkpoint neither writes nor syncs).
    Runs until cancelled; a failure is logged and tried again at the next turn."""
    task_status.started()
    while True:
        await trio.sleep(CHECKPOINT_SECONDS)
        try:
            await threads.run_sync(index.checkpoint)
        except sqlite3.Error as exc:
            log.warning("fulltext_checkpoint_failed", path=str(index.path), error=str(exc))


async def catching_up(access: StoreAccess, index: FullTextIndex,
                      child_from: int = CHILD_BUILD_GRAPHS) -> None:
    try:
        await _catch_up(access, index, child_from)
    except Exception as exc:  # a storage failure: searches scan until the store heals
        index.set_aside(f"could not catch up with the store: {exc!r}")


async def _catch_up(access: StoreAccess, index: FullTextIndex, child_from: int) -> None:
    started = time.monotonic()
    kind = index.behind
    plan = await access.read(lambda: index.catch_up_plan(access.graph.store))
    log.info("fulltext_catch_up_started", path=str(index.path), kind=kind,
             pods=len(plan.stale),
             seconds=round(time.monotonic() - started, 2))
    if (len(plan.stale) >= child_from and 2 * len(plan.stale) >= plan.graphs
            and await _built_in_child(access, index, started)):
        plan = await access.read(lambda: index.catch_up_plan(access.graph.store))
        log.info("fulltext_built_in_child", path=str(index.path),
                 pods_written_since=len(plan.stale),
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


async def _built_in_child(access: StoreAccess, index: FullTextIndex, started: float) -> bool:
    """The whole index built by a child process and adopted (under the write lock); False
    if the child could not (the batches then read every graph themselves)."""
    built = index.path.with_name(index.path.name + ".build")
    # The child's read-only view holds every write made so far.
    await threads.run_sync(access.graph.store.flush)
    try:
        process = await trio.lowlevel.open_process(
            [sys.executable, "-m", "colony_actor.colony.fulltext.builder",
             str(access.graph.path), str(built), str(os.getpid())],
            stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
            env=children.environment(RUST_BACKTRACE="0"))
    except OSError as exc:  # no process to spare (descriptors, memory): the batches do it
        log.warning("fulltext_child_build_failed", path=str(index.path), error=str(exc))
        return False
    stderr = bytearray()
    try:
        async with trio.open_nursery() as nursery:
            nursery.start_soon(_keep_head, process.stderr, stderr)
            done = await _follow_child(process.stdout, index, started)
        code = await process.wait()
    finally:
        with trio.CancelScope(shield=True):
            if process.returncode is None:
                process.kill()
                await process.wait()
            for stream in (process.stdout, process.stderr):
                if stream is not None:
                    await stream.aclose()
            if process.returncode != 0:
                await threads.run_sync(_remove, built)
    if not done or code != 0:
        log.warning("fulltext_child_build_failed", path=str(index.path), returncode=code,
                    stderr=bytes(stderr).decode(errors="replace"))
        return False
    await access.write(lambda: index.adopt(built))
    return True


async def _follow_child(stdout: trio.abc.ReceiveStream | None, index: FullTextIndex,
                        started: float) -> bool:
    """Relay the child's progress lines to the index and the log; whether it said done."""
    assert stdout is not None
    pending, done, logged = b"", False, time.monotonic()
    while True:
        chunk = b""
        with trio.move_on_after(LOG_EVERY_SECONDS):
            chunk = bytes(await stdout.receive_some())
            if not chunk:
                return done
        *lines, pending = (pending + chunk).split(b"\n")
        if len(pending) > _LINE_MOST:
            return False  # not the child's frame
        for line in lines:
            try:
                message = json.loads(line)
                if message.get("done"):
                    done = True
                    log.info("fulltext_child_built", path=str(index.path),
                             rows=int(message["rows"]), priority=str(message["priority"]))
                else:
                    index.building(int(message["graphs_done"]),
                                   int(message["graphs_total"]), int(message["rows"]))
            except (ValueError, KeyError, TypeError, AttributeError):
                return False  # not the child's frame
        if time.monotonic() - logged >= LOG_EVERY_SECONDS:
            logged = time.monotonic()
            _log_progress("fulltext_catching_up", index, started)


async def _keep_head(stream: trio.abc.ReceiveStream | None, head: bytearray) -> None:
    assert stream is not None
    async for chunk in stream:
        head.extend(chunk[:max(0, _STDERR_KEPT - len(head))])


def _remove(path: os.PathLike[str]) -> None:
    for suffix in ("", "-journal"):
        with contextlib.suppress(OSError):  # a next build replaces what is left
            os.unlink(os.fspath(path) + suffix)


def _log_progress(event: str, index: FullTextIndex, started: float) -> None:
    done = index.catch_up_progress()
    seconds = max(time.monotonic() - started, 1e-9)
    log.info(event, path=str(index.path), pods_done=done.graphs_done,
             pods_total=done.graphs_total, literals=done.rows_done,
             literals_per_second=round(done.rows_done / seconds),
             seconds=round(seconds, 2))
