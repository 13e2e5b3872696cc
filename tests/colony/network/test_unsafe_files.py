"""The local network's files are peer data: a record is read only from a regular file,
without following a link, without blocking and never past its cap, and a write creates
nothing outside the network directory."""

from __future__ import annotations

import contextlib
import errno
import os
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
import trio
import trio.testing
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from colony_actor.colony.errors import NetworkError
from colony_actor.colony.network.base import Pointer, Scratchpad, address_of
from colony_actor.colony.network.local import LocalNetwork, NetworkStatistics

from ..conftest import local_network

TARGET = "ab" * 32


def network(directory: Path, **options: object) -> LocalNetwork:
    return local_network(directory, **options)


@pytest.fixture
def net(tmp_path: Path) -> LocalNetwork:
    return network(tmp_path / "net")


@pytest.fixture
def key() -> Ed25519PrivateKey:
    return Ed25519PrivateKey.generate()


@contextlib.contextmanager
def fifo_at(path: Path) -> Iterator[None]:
    """A FIFO at `path`. A reader that opens it blocking would wait for a writer for
    ever; a helper thread plays that writer now and then (opening without blocking, so it
    never waits itself), so that a test of code that blocks fails instead of hanging."""
    path.parent.mkdir(parents=True, exist_ok=True)
    os.mkfifo(path)
    stop = threading.Event()

    def unblock() -> None:
        while not stop.wait(0.5):
            try:
                os.close(os.open(path, os.O_WRONLY | os.O_NONBLOCK))
            except OSError as exc:
                if exc.errno != errno.ENXIO:  # ENXIO: no reader at the moment
                    return

    thread = threading.Thread(target=unblock, daemon=True)
    thread.start()
    try:
        yield
    finally:
        stop.set()
        thread.join()


async def test_a_fifo_in_place_of_a_record_is_refused(net: LocalNetwork,
                                                      key: Ed25519PrivateKey) -> None:
    address = address_of(key)
    for kind, read in (("pointers", net.get_pointer), ("scratchpads", net.get_scratchpad)):
        with fifo_at(net.directory / kind / address), \
                pytest.raises(NetworkError, match="not a regular file") as info:
            await read(address)
        assert address in str(info.value)


async def test_a_link_to_dev_zero_is_refused_unread(net: LocalNetwork,
                                                    key: Ed25519PrivateKey) -> None:
    address = address_of(key)
    for kind in ("pointers", "scratchpads"):
        (net.directory / kind).mkdir(parents=True, exist_ok=True)
        (net.directory / kind / address).symlink_to("/dev/zero")
    with pytest.raises(NetworkError, match="symbolic link"):
        await net.get_scratchpad(address)
    with pytest.raises(NetworkError, match="symbolic link"):
        await net.get_pointer(address)


async def test_a_link_to_a_valid_record_is_refused_too(tmp_path: Path, net: LocalNetwork,
                                                       key: Ed25519PrivateKey) -> None:
    elsewhere = network(tmp_path / "elsewhere")
    await elsewhere.put_scratchpad(Scratchpad.signed(key, b"valid", 1))
    (net.directory / "scratchpads").mkdir(parents=True)
    (net.directory / "scratchpads" / address_of(key)).symlink_to(
        elsewhere.directory / "scratchpads" / address_of(key))
    with pytest.raises(NetworkError, match="symbolic link"):
        await net.get_scratchpad(address_of(key))


async def test_a_directory_in_place_of_a_record_is_refused(net: LocalNetwork,
                                                           key: Ed25519PrivateKey) -> None:
    (net.directory / "pointers" / address_of(key)).mkdir(parents=True)
    with pytest.raises(NetworkError, match="not a regular file"):
        await net.get_pointer(address_of(key))


async def test_a_linked_lock_file_creates_nothing_elsewhere(tmp_path: Path, net: LocalNetwork,
                                                            key: Ed25519PrivateKey) -> None:
    outside = tmp_path / "outside"
    outside.mkdir()
    address = address_of(key)
    (net.directory / "locks").mkdir(parents=True)
    (net.directory / "locks" / f"{address}.lock").symlink_to(outside / "planted")
    with pytest.raises(NetworkError, match="symbolic link"):
        await net.put_pointer(Pointer.signed(key, TARGET, 1))
    assert list(outside.iterdir()) == []
    assert await net.get_pointer(address) is None


@pytest.mark.parametrize("kind", ["pointers", "scratchpads", "locks"])
async def test_a_linked_kind_directory_creates_nothing_elsewhere(
        tmp_path: Path, net: LocalNetwork, key: Ed25519PrivateKey, kind: str) -> None:
    outside = tmp_path / "outside"
    outside.mkdir()
    net.directory.mkdir()
    (net.directory / kind).symlink_to(outside, target_is_directory=True)
    writes = {"pointers": net.put_pointer(Pointer.signed(key, TARGET, 1)),
              "scratchpads": net.put_scratchpad(Scratchpad.signed(key, b"data", 1))}
    for uses, write in writes.items():
        if kind in (uses, "locks"):
            with pytest.raises(NetworkError, match="symbolic link"):
                await write
        else:
            await write
    assert list(outside.iterdir()) == []


async def test_a_fifo_in_place_of_a_stored_record_or_lock_refuses_the_write(
        net: LocalNetwork, key: Ed25519PrivateKey) -> None:
    with fifo_at(net.directory / "scratchpads" / address_of(key)), \
            pytest.raises(NetworkError, match="not a regular file"):
        await net.put_scratchpad(Scratchpad.signed(key, b"data", 1))
    other = Ed25519PrivateKey.generate()
    with fifo_at(net.directory / "locks" / f"{address_of(other)}.lock"), \
            pytest.raises(NetworkError, match="not a regular file"):
        await net.put_pointer(Pointer.signed(other, TARGET, 1))


async def test_a_record_larger_than_any_there_can_be_is_refused_unread(
        tmp_path: Path, key: Ed25519PrivateKey) -> None:
    # A peer whose records are larger than this network's scratchpads may be (a
    # validly signed 200 MiB one, here scaled down).
    roomy = network(tmp_path / "net", max_scratchpad_bytes=1 << 20)
    small = network(tmp_path / "net", max_scratchpad_bytes=1024)
    await roomy.put_scratchpad(Scratchpad.signed(key, b"x" * 1024, 1))
    other = Ed25519PrivateKey.generate()
    await roomy.put_scratchpad(Scratchpad.signed(other, b"x" * 1025, 1))
    got = await small.get_scratchpad(address_of(key))
    assert got is not None and len(got.data) == 1024
    with pytest.raises(NetworkError, match=r"its file is \d+ bytes, more than the \d+ allowed"):
        await small.get_scratchpad(address_of(other))
    # Nor does it write one.
    with pytest.raises(NetworkError, match="more than the 1024 a scratchpad may hold"):
        await small.put_scratchpad(Scratchpad.signed(other, b"x" * 1025, 2))
    # A pointer is tiny whatever the scratchpads' size.
    with pytest.raises(NetworkError, match="more than the 1024 a pointer may hold"):
        await roomy.put_pointer(Pointer.signed(key, "ab" * 513, 1))


async def test_a_stuck_read_times_out_and_leaves_the_others_alone(
        tmp_path: Path) -> None:
    net = network(tmp_path / "net", timeout_seconds=0.5)
    stuck, fine = Ed25519PrivateKey.generate(), Ed25519PrivateKey.generate()
    for key in (stuck, fine):
        await net.put_pointer(Pointer.signed(key, TARGET, 1))
    net.stall(address_of(stuck))
    got: dict[str, object] = {}

    async def read(key: Ed25519PrivateKey) -> None:
        try:
            got[address_of(key)] = await net.get_pointer(address_of(key))
        except NetworkError as exc:
            got[address_of(key)] = exc

    try:
        async with trio.open_nursery() as nursery:
            nursery.start_soon(read, stuck)
            nursery.start_soon(read, fine)
        failure = got[address_of(stuck)]
        assert isinstance(failure, NetworkError)
        assert str(failure) == (f"Reading the pointer at {address_of(stuck)} took more "
                                f"than 0.5 s")
        # The read that shared the stuck thread call was read again by itself.
        assert got[address_of(fine)] == Pointer.signed(fine, TARGET, 1)
        assert net.statistics().reads_abandoned >= 1
        assert await net.get_pointer(address_of(fine)) == Pointer.signed(fine, TARGET, 1)
    finally:
        net.release_stalls()
    # Once the stuck call ends, nothing of it is left.
    for _ in range(500):
        if not net.statistics().reads_abandoned:
            break
        await trio.sleep(0.01)
    assert net.statistics() == NetworkStatistics(reads_waiting=0, reads_abandoned=0,
                                                 reads_stalled=0)


async def test_a_read_stuck_in_its_thread_ends_at_once_when_cancelled(
        net: LocalNetwork, key: Ed25519PrivateKey) -> None:
    await net.put_pointer(Pointer.signed(key, TARGET, 1))
    net.stall(address_of(key))
    try:
        with trio.CancelScope() as scope:
            async with trio.open_nursery() as nursery:
                nursery.start_soon(net.get_pointer, address_of(key))
                await trio.testing.wait_all_tasks_blocked()
                scope.cancel()
        assert scope.cancelled_caught
    finally:
        net.release_stalls()
