"""The index's write-ahead log is copied into its file by a checkpoint of its own, never by
a commit under the store's write lock (checkpoints.py)."""

from __future__ import annotations

from pathlib import Path

import pytest
import trio
from pyoxigraph import Literal, NamedNode, Triple

from colony_actor.colony.fulltext import running
from colony_actor.colony.fulltext.index import FullTextIndex
from colony_actor.colony.store.poddata import PodData
from colony_actor.colony.vocab import NAME

from ..conftest import init_config, open_graph, replace_pod

CONFIG, PAD = f"{1:064x}", f"{2:064x}"
STAMP = "2025-01-01T00:00:00.000000Z"
# SQLite's automatic checkpoint copies the log once it holds this many pages.
AUTOMATIC_PAGES = 1000


def pod(n: int) -> PodData:
    return PodData.of([Triple(NamedNode(f"ant://thing/{n}/{k}"), NAME,
                              Literal(f"word{n}x{k} other{k * n} text of thing {n}"))
                       for k in range(20)])


def test_no_commit_copies_the_log_a_checkpoint_does(tmp_path: Path) -> None:
    graph, index = open_graph(tmp_path, CONFIG)
    assert index is not None
    try:
        init_config(graph, PAD, STAMP)
        for n in range(300):
            replace_pod(graph, f"{n + 100:064x}", pod(n), 1, 1, STAMP)
        logged, copied = index.checkpoint()
        # A commit that checkpointed would have started the log again past 1000 pages.
        assert logged > AUTOMATIC_PAGES and copied == logged
    finally:
        graph.close()


async def test_the_log_is_copied_every_few_seconds_once_written(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(running, "CHECKPOINT_SECONDS", 0.01)
    graph, index = open_graph(tmp_path, CONFIG)
    assert index is not None
    copied = trio.Event()
    checkpoint = index.checkpoint

    def watched() -> tuple[int, int]:  # the real checkpoint, seen to copy the write
        logged, done = checkpoint()
        if done > 0:
            trio.from_thread.run_sync(copied.set)
        return logged, done

    monkeypatch.setattr(index, "checkpoint", watched)
    try:
        async with trio.open_nursery() as nursery:
            await nursery.start(running.checkpointing, index)
            await trio.to_thread.run_sync(init_config, graph, PAD, STAMP)
            with trio.fail_after(10):
                await copied.wait()
            nursery.cancel_scope.cancel()
        logged, done = checkpoint()
        assert done == logged > 0  # nothing left that the task did not copy
    finally:
        graph.close()


def test_a_catch_up_is_copied_too(tmp_path: Path) -> None:
    """A catch-up's batches are written without a store write: the checkpoint copies
    them all the same."""
    graph, _ = open_graph(tmp_path, CONFIG, fulltext=None)
    try:
        init_config(graph, PAD, STAMP)
        for n in range(20):
            replace_pod(graph, f"{n + 100:064x}", pod(n), 1, 1, STAMP)
        index = FullTextIndex.open(tmp_path / "ft.sqlite3", graph.store)  # to be built
        try:
            assert index.behind
            index.checkpoint()
            index.catch_up(graph.store)
            logged, copied = index.checkpoint()
            assert logged > 0 and copied == logged
        finally:
            index.close()
    finally:
        graph.close()
