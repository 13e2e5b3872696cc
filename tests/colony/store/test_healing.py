"""The store's owner heals storage faults: RocksDB's sticky error after a full disk, a reopen
that cannot be done yet, a full-text index set aside. The real store on a real 20 MB tmpfs
(tests/disks.py: skipped, with the reason, where mounting is impossible)."""

from __future__ import annotations

import contextlib
import sqlite3
import threading
import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
import trio
from pyoxigraph import Literal, NamedNode, Store, Triple

from colony_actor.colony.errors import StorageFull, StorageUnavailable
from colony_actor.colony.store import writes
from colony_actor.colony.store.access import RETRY_FIRST_SECONDS, StoreAccess
from colony_actor.colony.store.faults import OUT_OF_SPACE, UNAVAILABLE
from colony_actor.colony.store.graph import GraphStore
from colony_actor.colony.vocab import NAME
from tests.disks import fill, no_new_descriptors, small_disk

from ..conftest import init_config, open_graph

CONFIG, PAD = "c" * 64, "d" * 64
STAMP = "2025-01-01T00:00:00.000000Z"
DESCRIPTION = NamedNode("http://schema.org/description")


def address(n: int) -> str:
    return f"{n:064x}"


async def create(access: StoreAccess, n: int) -> None:
    await access.write(access.graph.apply, writes.create_pod(
        CONFIG, address(n), address(1000 + n), 2 * n, 2 * n + 1, f"pod {n}", STAMP))


async def edit(access: StoreAccess, n: int, text: str) -> None:
    """A subject of pod `n` named `text` (one per text), with ten kilobytes more: always a
    new page of log, even where a small write would still fit in the last one."""
    subject = NamedNode(f"ant://{abs(hash(text)):064x}"[:70])
    triples = [Triple(subject, NAME, Literal(text)),
               Triple(subject, DESCRIPTION, Literal("x" * 10_000))]
    await access.write(access.graph.apply, writes.put_subject(address(n), subject, triples,
                                                              STAMP))


async def names(access: StoreAccess) -> list[str]:
    return [row.name for row in await access.read(access.graph.pod_rows)]


def texts(store: Store) -> set[str]:
    return {q.object.value for q in store.quads_for_pattern(None, NAME, None)}


@pytest.fixture
def disk(tmp_path: Path) -> Iterator[Path]:
    with small_disk(tmp_path / "disk") as mount:
        yield mount


@pytest.fixture
async def access(disk: Path) -> AsyncIterator[StoreAccess]:
    graph, _ = open_graph(disk, CONFIG)
    init_config(graph, PAD, STAMP)
    access = StoreAccess(graph)
    await create(access, 1)
    yield access
    await access.aclose()


async def full_then_freed(access: StoreAccess, disk: Path) -> None:
    """Fill the disk until the store fails (a sticky error), then free it."""
    filler = fill(disk)
    with pytest.raises(StorageFull):
        await edit(access, 1, "refused")
    filler.unlink()


async def test_out_of_space_is_refused_then_healed_by_the_next_write(access: StoreAccess,
                                                                     disk: Path) -> None:
    await edit(access, 1, "kept")
    queued = await access.read(access.graph.edit_seqs)
    filler = fill(disk)
    for n in (2, 3):
        with pytest.raises(StorageFull, match="Free some space"):
            await edit(access, 1, f"refused {n}")
        with pytest.raises(StorageFull):
            await create(access, n)
    stats = access.statistics()
    assert stats.fault is not None and stats.fault.kind == OUT_OF_SPACE
    # No reopen is tried while the filesystem has no room.
    assert stats.reopens == 0 and stats.failed_reopens == 0
    # Reads are served; nothing was half-written.
    assert await names(access) == ["pod 1"]
    assert await access.read(access.graph.edit_seqs) == queued
    assert "refused 2" not in await access.read(texts, access.graph.store)

    filler.unlink()
    await edit(access, 1, "after")  # no restart: the store is reopened first
    await create(access, 4)
    stats = access.statistics()
    assert stats.fault is None and stats.reopens == 1 and stats.writable
    assert stats.follower_usable
    assert await names(access) == ["pod 1", "pod 4"]
    assert {"kept", "after"} <= await access.read(texts, access.graph.store)


async def test_readers_never_meet_a_closed_store_while_it_reopens(access: StoreAccess,
                                                                  disk: Path) -> None:
    await full_then_freed(access, disk)
    reads = 0
    healed = False
    searching = trio.Event()
    search_ended = threading.Event()

    async def reader() -> None:
        nonlocal reads
        while not healed:
            assert await names(access) == ["pod 1"]
            reads += 1

    def search(store: Store) -> None:
        # As a search does: the store taken outside the reader gate, read for a while.
        trio.from_thread.run_sync(searching.set)
        for _ in range(20):
            assert "pod 1" in texts(store)
            time.sleep(0.01)
        search_ended.set()

    async with trio.open_nursery() as nursery:
        for _ in range(3):
            nursery.start_soon(reader)
        nursery.start_soon(trio.to_thread.run_sync, search, access.graph.store)
        await searching.wait()
        await access.heal()
        # The old handle was released only once the search let go of it.
        assert search_ended.is_set()
        healed = True
    assert reads > 0
    stats = access.statistics()
    assert stats.reopens == 1 and stats.fault is None and stats.reading == 0
    await edit(access, 1, "written")


async def test_a_store_still_held_open_serves_reads_read_only_until_it_reopens(
        access: StoreAccess, disk: Path) -> None:
    await full_then_freed(access, disk)
    # A result still being iterated holds the store's directory lock (not a Python
    # reference): the store cannot be opened again yet.
    solutions = access.graph.store.query("SELECT ?s WHERE { GRAPH ?g { ?s ?p ?o } }")
    with pytest.raises(StorageUnavailable) as refused:
        await access.heal()
    assert refused.value.retry_after is not None
    stats = access.statistics()
    assert not stats.writable and stats.failed_reopens == 1
    assert stats.fault is not None and stats.fault.kind == UNAVAILABLE
    assert await names(access) == ["pod 1"]  # a read-only handle serves reads meanwhile
    with pytest.raises(StorageUnavailable):
        await edit(access, 1, "too early")  # the next attempt is not due yet

    del solutions
    await trio.sleep(RETRY_FIRST_SECONDS)
    await edit(access, 1, "written")
    stats = access.statistics()
    assert stats.writable and stats.reopens == 1 and stats.fault is None
    assert "written" in await access.read(texts, access.graph.store)


async def test_a_reopen_without_descriptors_is_unavailable_then_heals(access: StoreAccess,
                                                                      disk: Path) -> None:
    await full_then_freed(access, disk)
    with no_new_descriptors(), pytest.raises(StorageUnavailable, match="file descriptors"):
        await access.heal()
    stats = access.statistics()
    assert stats.writable and stats.failed_reopens == 1 and stats.reopens == 0
    assert await names(access) == ["pod 1"]  # the store it had still serves reads
    await trio.sleep(RETRY_FIRST_SECONDS)
    await edit(access, 1, "written")
    assert access.statistics().reopens == 1


async def test_closing_on_a_full_disk_keeps_every_acknowledged_write(access: StoreAccess,
                                                                     disk: Path) -> None:
    await edit(access, 1, "acknowledged")
    filler = fill(disk)
    with pytest.raises(StorageFull):
        await edit(access, 1, "refused")
    await access.aclose()  # the flush fails; the close does not
    with pytest.raises(StorageUnavailable, match="stopping"):
        await names(access)
    filler.unlink()
    graph = GraphStore(disk / "store", CONFIG)
    try:
        assert [row.name for row in graph.pod_rows()] == ["pod 1"]
        assert "acknowledged" in texts(graph.store) and "refused" not in texts(graph.store)
    finally:
        graph.close()


async def test_an_index_set_aside_is_rebuilt_in_place_by_the_next_write(tmp_path: Path
                                                                        ) -> None:
    graph, index = open_graph(tmp_path, CONFIG)
    assert index is not None
    init_config(graph, PAD, STAMP)
    access = StoreAccess(graph)
    try:
        await create(access, 1)
        # The file loses a table behind the index's back: it cannot follow the next write.
        with contextlib.closing(sqlite3.connect(tmp_path / "ft.sqlite3")) as db:
            db.execute("DROP TABLE literals")
            db.commit()
        await edit(access, 1, "first")
        assert not index.usable and not access.statistics().follower_usable
        assert access.statistics().fault is None  # the store's write stands
        await edit(access, 1, "second")
        assert index.usable and access.statistics().follower_usable
        assert await access.read(index.differences, graph.store) == []
    finally:
        await access.aclose()
