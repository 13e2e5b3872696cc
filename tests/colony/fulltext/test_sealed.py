"""The depth keys kept with the index's seal (fulltext/sealed.py, depths.py): after a clean
restart the first search ranks with them and reads no depth statement from the store; a
write to the configuration pod, or an open without the seal, reads them again."""

from __future__ import annotations

import contextlib
import sqlite3
from pathlib import Path

import pytest
import trio

from colony_actor.colony.facade import FULLTEXT_FILE, Colony
from colony_actor.colony.fulltext import rows
from colony_actor.colony.keys.store import KeyStore
from colony_actor.colony.store.changes import subjects
from colony_actor.colony.store.writes import Write
from colony_actor.colony.vocab import DEPTH, pod_node

from ..conftest import PASSWORD, SETTINGS, MemoryNetwork, OpenColony, no_progress
from .test_fulltext import assert_same, fill

QUERIES = ["beatles", "road", "beatles road a", "abbey"]


async def reopened(tmp_path: Path, network: MemoryNetwork) -> Colony:
    data_dir = tmp_path / "alice-1"
    keys = await trio.to_thread.run_sync(KeyStore.open, data_dir, PASSWORD)
    colony = await Colony.open(data_dir, network, keys, **SETTINGS)
    await colony.catch_up_index()
    return colony


def never(*_: object) -> dict[str, list[int]]:
    raise AssertionError("the depth statements were read from the store")


async def test_a_clean_restart_ranks_with_the_kept_depth_keys(
        open_colony: OpenColony, network: MemoryNetwork, tmp_path: Path,
        monkeypatch: pytest.MonkeyPatch) -> None:
    colony = await open_colony(network)
    pods = await fill(colony, pods=4)
    config = colony.store.config_node
    # Odd depths instead of the own pods' 0: the first pod twice (1 and 3), the second 1,
    # the others 2.
    await trio.to_thread.run_sync(colony.store.apply, Write(
        f"DELETE WHERE {{ GRAPH {config} {{ ?pod {DEPTH} ?depth }} }}; "
        f"INSERT DATA {{ GRAPH {config} {{ {pod_node(pods[0])} {DEPTH} \"1\", \"3\" . "
        f"{pod_node(pods[1])} {DEPTH} \"1\" . {pod_node(pods[2])} {DEPTH} \"2\" . "
        f"{pod_node(pods[3])} {DEPTH} \"2\" }} }}",
        {config: subjects(*(pod_node(p) for p in pods))}))
    before = [(await colony.search(q, no_progress))["sparql_results"] for q in QUERIES]
    await colony.aclose()
    # Kept as an earlier version kept them, with no index by graph (the next open adds it).
    with contextlib.closing(sqlite3.connect(tmp_path / "alice-1" / FULLTEXT_FILE)) as db:
        db.execute("DROP INDEX sealed_depths_iri")
        db.commit()

    with monkeypatch.context() as patched:
        patched.setattr(rows, "depth_keys", never)
        patched.setattr(rows, "queried_depth_keys", never)
        colony = await reopened(tmp_path, network)
        try:
            assert [(await colony.search(q, no_progress))["sparql_results"]
                    for q in QUERIES] == before
            await assert_same(colony, QUERIES)
            # Ranked with a view of them: nothing was copied into the reader.
            index = colony.fulltext
            assert index is not None
            with index._readers.reading(float("inf")) as reader:
                assert reader.execute("SELECT type FROM sqlite_temp_master WHERE name = "
                                      "'depth_keys'").fetchall() == [("view",)]
                assert reader.execute("SELECT count(*) FROM sqlite_master WHERE name = "
                                      "'sealed_depths_iri'").fetchone() == (1,)
        finally:
            await colony.aclose()

    # Sealed again at that close; then a write to the configuration pod outdates them:
    # neither that run nor the next (after a clean close with no search) ranks with them.
    colony = await reopened(tmp_path, network)
    try:
        # The last pod now ranks first (0); kept keys would still rank it at 2.
        await trio.to_thread.run_sync(colony.store.apply, Write(
            f"INSERT DATA {{ GRAPH {config} {{ {pod_node(pods[3])} {DEPTH} \"0\" }} }}",
            {config: subjects(pod_node(pods[3]))}))
    finally:
        await colony.aclose()
    colony = await reopened(tmp_path, network)
    try:
        await assert_same(colony, QUERIES)
        await trio.to_thread.run_sync(colony.store.apply, Write(
            f"DELETE DATA {{ GRAPH {config} {{ {pod_node(pods[0])} {DEPTH} \"3\" }} }}",
            {config: subjects(pod_node(pods[0]))}))
        await assert_same(colony, QUERIES)
    finally:
        await colony.aclose()


async def test_an_open_without_the_seal_reads_the_depth_keys(
        open_colony: OpenColony, network: MemoryNetwork, tmp_path: Path,
        monkeypatch: pytest.MonkeyPatch) -> None:
    colony = await open_colony(network)
    await fill(colony)
    await colony.search("beatles", no_progress)
    await colony.aclose()
    read: list[str] = []
    depth_keys = rows.depth_keys

    def counted(store: object, config: object) -> dict[str, list[int]]:
        read.append("store")
        return depth_keys(store, config)  # type: ignore[arg-type]

    monkeypatch.setattr(rows, "depth_keys", counted)
    colony = await reopened(tmp_path, network)
    try:
        await colony.search("beatles", no_progress)
        assert read == []  # sealed: kept keys
    finally:
        await colony.aclose()
    # No seal this time (as after a crash): a fresh read.
    colony = await reopened(tmp_path, network)
    assert colony.fulltext is not None
    colony.fulltext.seal = lambda: None  # type: ignore[method-assign]
    await colony.aclose()
    colony = await reopened(tmp_path, network)
    try:
        await colony.search("beatles", no_progress)
        assert read == ["store"]
    finally:
        await colony.aclose()
