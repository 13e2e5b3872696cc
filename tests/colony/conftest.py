"""Fixtures for the Colony tests: networks (in memory, observed), key stores, Colony
instances, and stores built directly."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest
import trio

from colony_actor.colony.errors import NetworkError, StaleCounter
from colony_actor.colony.facade import Colony
from colony_actor.colony.fulltext.index import FullTextIndex
from colony_actor.colony.keys.store import KeyStore
from colony_actor.colony.network.base import Pointer, Scratchpad
from colony_actor.colony.network.local import LocalNetwork
from colony_actor.colony.store import writes
from colony_actor.colony.store.graph import GraphStore
from colony_actor.colony.store.poddata import PodData
from colony_actor.colony.store.writes import Replacement
from colony_actor.colony.sync.replacing import replace_pods
from colony_actor.service import config, wiring

PASSWORD = "test password"
MNEMONICS = {
    # Fixed valid BIP39 phrases, so each identity has stable addresses across data dirs.
    "alice": "abandon abandon abandon abandon abandon abandon abandon abandon abandon "
             "abandon abandon about",
    "bob": "legal winner thank year wave sausage worth useful legal winner thank yellow",
    "carol": "letter advice cage absurd amount doctor acoustic avoid letter advice cage above",
}


class MemoryNetwork:
    """A dict-backed Network: verifies signatures, refuses stale counters, and can fail for
    chosen addresses (`fail_addresses`)."""

    def __init__(self) -> None:
        self.fail_addresses: set[str] = set()
        self.pointers: dict[str, Pointer] = {}
        self.scratchpads: dict[str, Scratchpad] = {}
        self.writes = 0

    async def _before(self, address: str) -> None:
        await trio.lowlevel.checkpoint()
        if address in self.fail_addresses:
            raise NetworkError(f"Injected failure for {address}")

    async def get_pointer(self, address: str) -> Pointer | None:
        await self._before(address)
        record = self.pointers.get(address)
        if record is not None:
            record.verify()
        return record

    async def put_pointer(self, pointer: Pointer) -> None:
        await self._before(pointer.address)
        pointer.verify()
        stored = self.pointers.get(pointer.address)
        if stored is not None and pointer.counter <= stored.counter:
            raise StaleCounter(f"stale pointer {pointer.address}")
        self.pointers[pointer.address] = pointer
        self.writes += 1

    async def get_scratchpad(self, address: str) -> Scratchpad | None:
        await self._before(address)
        record = self.scratchpads.get(address)
        if record is not None:
            record.verify()
        return record

    async def put_scratchpad(self, scratchpad: Scratchpad) -> None:
        await self._before(scratchpad.address)
        scratchpad.verify()
        stored = self.scratchpads.get(scratchpad.address)
        if stored is not None and scratchpad.counter <= stored.counter:
            raise StaleCounter(f"stale scratchpad {scratchpad.address}")
        self.scratchpads[scratchpad.address] = scratchpad
        self.writes += 1


class ObservedNetwork:
    """Wraps a network for tests that need to act at a given point of a sync: it counts
    the calls made (`await reached(n)`), and holds writes at its gate while the gate is
    closed (`await writing.wait()` returns once one waits there)."""

    def __init__(self, network: Any) -> None:
        self._network = network
        self.calls = 0
        self._waiters: list[tuple[int, trio.Event]] = []
        self._gate = trio.Event()
        self._gate.set()
        self.writing = trio.Event()

    def close_gate(self) -> None:
        self._gate = trio.Event()
        self.writing = trio.Event()

    def open_gate(self) -> None:
        self._gate.set()

    async def reached(self, calls: int) -> None:
        """Return once `calls` calls were made, or `release` was called."""
        if self.calls < calls:
            event = trio.Event()
            self._waiters.append((calls, event))
            await event.wait()

    def release(self) -> None:
        """Wake every `reached` waiting, and those to come."""
        self.calls = 1 << 62
        self._count()

    def _count(self) -> None:
        self.calls += 1
        for calls, event in self._waiters:
            if self.calls >= calls:
                event.set()

    async def _write(self) -> None:
        self._count()
        if not self._gate.is_set():
            self.writing.set()
            await self._gate.wait()

    async def get_pointer(self, address: str) -> Pointer | None:
        self._count()
        result: Pointer | None = await self._network.get_pointer(address)
        return result

    async def get_scratchpad(self, address: str) -> Scratchpad | None:
        self._count()
        result: Scratchpad | None = await self._network.get_scratchpad(address)
        return result

    async def put_pointer(self, pointer: Pointer) -> None:
        await self._write()
        await self._network.put_pointer(pointer)

    async def put_scratchpad(self, scratchpad: Scratchpad) -> None:
        await self._write()
        await self._network.put_scratchpad(scratchpad)


def no_progress(done: int, total: int, message: str) -> None:
    assert 0 <= done <= total, (done, total, message)


class ProgressLog:
    def __init__(self) -> None:
        self.calls: list[tuple[int, int, str]] = []

    def __call__(self, done: int, total: int, message: str) -> None:
        assert 0 <= done <= total, (done, total, message)
        if self.calls:
            assert done >= self.calls[-1][0], "progress went backwards"
        self.calls.append((done, total, message))


@pytest.fixture(params=["memory", "local"])
def any_network(request: pytest.FixtureRequest, tmp_path: Path) -> Any:
    """A network of each backend: sync tests run against both."""
    if request.param == "memory":
        return MemoryNetwork()
    return local_network(tmp_path / "network")


def local_network(directory: Path, **options: Any) -> LocalNetwork:
    """A LocalNetwork with the daemon's default settings, but for `options`."""
    defaults = config.NetworkSettings()
    return LocalNetwork(directory, **{"max_scratchpad_bytes": defaults.scratchpad_limit,
                                      "timeout_seconds": defaults.timeout_seconds, **options})


@pytest.fixture
def network() -> MemoryNetwork:
    return MemoryNetwork()


OpenColony = Callable[..., Awaitable[Colony]]
# Colony.open's settings, as the daemon gives them by default.
SETTINGS: dict[str, Any] = {
    "scratchpad_limit": config.NetworkSettings().scratchpad_limit,
    "concurrency": config.NetworkSettings().concurrency,
    "search_timeout": config.SearchSettings().timeout_seconds,
    "claim_timeout": config.NetworkSettings().claim_timeout_seconds,
    "peer_limits": wiring.peer_limits(config.Settings()),
    "query_limits": wiring.query_limits(config.Settings()),
    "query_workers": config.SearchSettings().workers,
}


@pytest.fixture
async def open_colony(tmp_path: Path) -> AsyncIterator[OpenColony]:
    """open_colony(network, who="alice", device="1", **options) -> Colony, closed after."""
    opened: list[Colony] = []

    async def make(network: Any, who: str = "alice", device: str = "1",
                   **options: Any) -> Colony:
        data_dir = tmp_path / f"{who}-{device}"
        if KeyStore.exists(data_dir):
            keys = await trio.to_thread.run_sync(KeyStore.open, data_dir, PASSWORD)
        else:
            keys = await trio.to_thread.run_sync(KeyStore.create, data_dir, PASSWORD,
                                                 MNEMONICS[who])
        colony = await Colony.open(data_dir, network, keys, **{**SETTINGS, **options})
        opened.append(colony)
        await colony.catch_up_index()
        return colony

    yield make
    for colony in opened:
        await check_fulltext(colony)
        await colony.aclose()


async def check_fulltext(colony: Colony) -> None:
    """Whatever a test did, the full-text index still mirrors the store (unless the test
    made it unusable on purpose, or already closed the colony)."""
    graph = colony.store
    index = colony.fulltext
    if index is None or not index.usable or graph.closed:
        return
    problems = await trio.to_thread.run_sync(index.differences, graph.store)
    assert problems == [], problems


def open_graph(tmp_path: Path, config: str, fulltext: str | None = "ft.sqlite3",
               name: str = "store") -> tuple[GraphStore, FullTextIndex | None]:
    """A store under `tmp_path` whose configuration pod is at `config`, followed by a
    full-text index in the file `fulltext` beside it (none if None)."""
    graph = GraphStore(tmp_path / name, config)
    index = None
    if fulltext is not None:
        index = FullTextIndex.open(tmp_path / fulltext, graph.store, graph.opened_seal)
        index.catch_up(graph.store)
        graph.follow(index)
    return graph, index


def init_config(graph: GraphStore, scratchpad: str, timestamp: str) -> None:
    graph.apply(writes.init_config(graph.config, scratchpad, timestamp))


def replace_pod(graph: GraphStore, address: str, data: PodData, counter: int,
                depth: int | None, timestamp: str) -> bool:
    return replace_pods(graph, [Replacement(address, data, counter, depth)], timestamp)[0]



