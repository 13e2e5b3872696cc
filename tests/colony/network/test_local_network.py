"""Tests for the local network backend: signatures, counters, files, latency, failures."""

from __future__ import annotations

import fcntl
import inspect
import math
import os
import stat
import sys
import textwrap
from pathlib import Path

import pytest
import trio
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import (
    Encoding,
    NoEncryption,
    PrivateFormat,
)

from colony_actor.colony.errors import BadSignature, NetworkError, StaleCounter
from colony_actor.colony.network.base import Network, Pointer, Scratchpad, address_of
from colony_actor.colony.network.local import LocalNetwork

from ..conftest import local_network

TARGET = "ab" * 32
REPO_ROOT = Path(__file__).resolve().parents[3]


@pytest.fixture
def net(tmp_path: Path) -> LocalNetwork:
    return local_network(tmp_path / "net")


@pytest.fixture
def key() -> Ed25519PrivateKey:
    return Ed25519PrivateKey.generate()


def test_local_network_satisfies_the_protocol(net: LocalNetwork) -> None:
    backend: Network = net  # mypy checks the signatures
    wanted = [name for name, value in vars(Network).items()
              if not name.startswith("_") and inspect.iscoroutinefunction(value)]
    assert sorted(wanted) == ["get_pointer", "get_scratchpad", "put_pointer", "put_scratchpad"]
    for name in wanted:
        assert inspect.iscoroutinefunction(getattr(backend, name)), name


async def test_absent_records_read_as_none(net: LocalNetwork, key: Ed25519PrivateKey) -> None:
    assert await net.get_pointer(address_of(key)) is None
    assert await net.get_scratchpad(address_of(key)) is None


async def test_pointer_round_trip(net: LocalNetwork, key: Ed25519PrivateKey) -> None:
    await net.put_pointer(Pointer.signed(key, TARGET, 1))
    got = await net.get_pointer(address_of(key))
    assert got == Pointer.signed(key, TARGET, 1)
    # Same address, other kind: a separate record.
    assert await net.get_scratchpad(address_of(key)) is None


async def test_scratchpad_round_trip_is_compact(net: LocalNetwork,
                                                key: Ed25519PrivateKey) -> None:
    data = bytes(range(256)) * 8192  # 2 MiB, every byte value
    await net.put_scratchpad(Scratchpad.signed(key, data, 3))
    got = await net.get_scratchpad(address_of(key))
    assert got is not None
    assert (got.data, got.counter, got.address) == (data, 3, address_of(key))
    path = net.directory / "scratchpads" / address_of(key)
    assert path.stat().st_size < len(data) + 256
    assert stat.S_IMODE(path.stat().st_mode) == 0o644
    # No temporary files are left behind.
    assert os.listdir(net.directory / "scratchpads") == [address_of(key)]


async def test_empty_scratchpad_round_trip(net: LocalNetwork, key: Ed25519PrivateKey) -> None:
    await net.put_scratchpad(Scratchpad.signed(key, b"", 1))
    got = await net.get_scratchpad(address_of(key))
    assert got is not None and got.data == b""


@pytest.mark.parametrize("counter", [5, 4, 0])
async def test_stale_counter_is_refused(net: LocalNetwork, key: Ed25519PrivateKey,
                                        counter: int) -> None:
    await net.put_scratchpad(Scratchpad.signed(key, b"newer", 5))
    await net.put_pointer(Pointer.signed(key, TARGET, 5))
    with pytest.raises(StaleCounter):
        await net.put_scratchpad(Scratchpad.signed(key, b"older", counter))
    with pytest.raises(StaleCounter):
        await net.put_pointer(Pointer.signed(key, "cd" * 32, counter))
    pad = await net.get_scratchpad(address_of(key))
    pointer = await net.get_pointer(address_of(key))
    assert pad is not None and (pad.data, pad.counter) == (b"newer", 5)
    assert pointer is not None and (pointer.target, pointer.counter) == (TARGET, 5)
    await net.put_scratchpad(Scratchpad.signed(key, b"newest", 6))
    pad = await net.get_scratchpad(address_of(key))
    assert pad is not None and pad.data == b"newest"


async def test_forged_writes_are_refused(net: LocalNetwork, key: Ed25519PrivateKey) -> None:
    victim = address_of(key)
    forger = Ed25519PrivateKey.generate()
    forged_pad = Scratchpad.signed(forger, b"evil", 9)
    forged_pointer = Pointer.signed(forger, TARGET, 9)
    with pytest.raises(BadSignature):
        await net.put_scratchpad(Scratchpad(victim, b"evil", 9, forged_pad.signature))
    with pytest.raises(BadSignature):
        await net.put_pointer(Pointer(victim, TARGET, 9, forged_pointer.signature))
    # A genuine signature replayed with altered content or counter fails as well.
    genuine = Scratchpad.signed(key, b"good", 1)
    with pytest.raises(BadSignature):
        await net.put_scratchpad(Scratchpad(victim, b"evil", 1, genuine.signature))
    with pytest.raises(BadSignature):
        await net.put_scratchpad(Scratchpad(victim, b"good", 2, genuine.signature))
    assert await net.get_scratchpad(victim) is None
    assert await net.get_pointer(victim) is None


async def test_tampered_files_fail_verification(net: LocalNetwork,
                                                key: Ed25519PrivateKey) -> None:
    other = Ed25519PrivateKey.generate()
    await net.put_scratchpad(Scratchpad.signed(key, b"hello world", 1))
    await net.put_scratchpad(Scratchpad.signed(other, b"other", 1))
    path = net.directory / "scratchpads" / address_of(key)
    raw = bytearray(path.read_bytes())
    raw[-1] ^= 0x01
    path.write_bytes(bytes(raw))
    with pytest.raises(BadSignature):
        await net.get_scratchpad(address_of(key))
    # A valid record moved to another address is not valid there.
    (net.directory / "scratchpads" / address_of(other)).replace(path)
    with pytest.raises(BadSignature):
        await net.get_scratchpad(address_of(key))


async def test_corrupt_files_raise_network_error(net: LocalNetwork,
                                                 key: Ed25519PrivateKey) -> None:
    address = address_of(key)
    await net.put_scratchpad(Scratchpad.signed(key, b"some data here", 1))
    await net.put_pointer(Pointer.signed(key, TARGET, 1))
    pad_path = net.directory / "scratchpads" / address
    pointer_path = net.directory / "pointers" / address
    full = pad_path.read_bytes()
    for damaged in (full[:-3], full[:10], b"", full + b"x", b"garbage" * 10):
        pad_path.write_bytes(damaged)
        with pytest.raises(NetworkError) as info:
            await net.get_scratchpad(address)
        assert address in str(info.value)
        assert not isinstance(info.value, BadSignature)
    # A record of the wrong kind is corrupt too.
    pointer_path.write_bytes(full)
    with pytest.raises(NetworkError, match=address):
        await net.get_pointer(address)
    # A damaged stored record refuses writes rather than guess its counter.
    pad_path.write_bytes(b"junk")
    with pytest.raises(NetworkError, match=address) as refused:
        await net.put_scratchpad(Scratchpad.signed(key, b"new", 2))
    assert not isinstance(refused.value, StaleCounter)


@pytest.mark.parametrize("address", [
    "../" * 20 + "etc/passwd",
    "AB" * 32,
    "ab" * 31,
    "ab" * 33,
    "ab" * 31 + "/x",
    "g" * 64,
    "",
])
async def test_invalid_addresses_are_refused(net: LocalNetwork, address: str) -> None:
    with pytest.raises(NetworkError, match="Invalid address"):
        await net.get_pointer(address)
    with pytest.raises(NetworkError, match="Invalid address"):
        await net.get_scratchpad(address)
    with pytest.raises(NetworkError, match="Invalid address"):
        await net.put_scratchpad(Scratchpad(address, b"x", 1, b"\0" * 64))
    with pytest.raises(NetworkError, match="Invalid address"):
        await net.put_pointer(Pointer(address, TARGET, 1, b"\0" * 64))


async def test_counter_out_of_range_is_refused(net: LocalNetwork,
                                               key: Ed25519PrivateKey) -> None:
    genuine = Scratchpad.signed(key, b"x", 1)
    with pytest.raises(NetworkError, match="counter"):
        await net.put_scratchpad(Scratchpad(address_of(key), b"x", -1, genuine.signature))
    with pytest.raises(NetworkError, match="counter"):
        await net.put_scratchpad(Scratchpad(address_of(key), b"x", 2**64, genuine.signature))


async def test_latency_is_applied_before_each_call(tmp_path: Path, key: Ed25519PrivateKey,
                                                   autojump_clock: trio.testing.MockClock,
                                                   ) -> None:
    # No read deadline: the mock clock would jump to it while a read waits for its thread.
    net = local_network(tmp_path / "net", latency_ms=1000, timeout_seconds=math.inf)
    path = net.directory / "pointers" / address_of(key)
    start = trio.current_time()
    async with trio.open_nursery() as nursery:
        nursery.start_soon(net.put_pointer, Pointer.signed(key, TARGET, 1))
        await trio.sleep(0.5)
        assert not path.exists()
    assert path.exists()
    assert trio.current_time() - start >= 1.0
    start = trio.current_time()
    assert await net.get_pointer(address_of(key)) is not None
    assert await net.get_scratchpad(address_of(key)) is None
    assert trio.current_time() - start >= 2.0


async def test_injected_failures(net: LocalNetwork, key: Ed25519PrivateKey) -> None:
    address = address_of(key)
    healthy = Ed25519PrivateKey.generate()
    net.fail_addresses.add(address)
    with pytest.raises(NetworkError, match=f"Injected failure for {address}"):
        await net.put_pointer(Pointer.signed(key, TARGET, 1))
    with pytest.raises(NetworkError, match=f"Injected failure for {address}"):
        await net.get_scratchpad(address)
    await net.put_pointer(Pointer.signed(healthy, TARGET, 1))
    assert not (net.directory / "pointers" / address).exists()

    net.fail_addresses.clear()
    net.fail_all = True
    with pytest.raises(NetworkError, match="Injected failure"):
        await net.get_pointer(address_of(healthy))
    with pytest.raises(NetworkError, match="Injected failure"):
        await net.put_scratchpad(Scratchpad.signed(healthy, b"x", 1))
    net.fail_all = False
    assert await net.get_pointer(address_of(healthy)) is not None


async def test_concurrent_writers_end_with_the_highest_counter(
        net: LocalNetwork, key: Ed25519PrivateKey) -> None:
    stale = 0

    async def writer(counters: range) -> None:
        nonlocal stale
        for counter in counters:
            try:
                await net.put_scratchpad(Scratchpad.signed(key, b"%d" % counter, counter))
            except StaleCounter:
                stale += 1

    async with trio.open_nursery() as nursery:
        for first in range(1, 5):
            nursery.start_soon(writer, range(first, 61, 4))
    got = await net.get_scratchpad(address_of(key))
    assert got is not None and (got.counter, got.data) == (60, b"60")
    assert stale < 60


async def test_a_write_waits_for_another_holder_of_the_lock(
        net: LocalNetwork, key: Ed25519PrivateKey) -> None:
    await net.put_pointer(Pointer.signed(key, TARGET, 1))
    lock_path = net.directory / "locks" / f"{address_of(key)}.lock"
    # A separate open file description behaves like another process's lock.
    fd = os.open(lock_path, os.O_RDWR)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        async with trio.open_nursery() as nursery:
            nursery.start_soon(net.put_pointer, Pointer.signed(key, TARGET, 2))
            # The write is in its worker thread, which cannot get past the lock held here.
            await trio.testing.wait_all_tasks_blocked()
            got = await net.get_pointer(address_of(key))
            assert got is not None and got.counter == 1
            fcntl.flock(fd, fcntl.LOCK_UN)
    finally:
        os.close(fd)
    got = await net.get_pointer(address_of(key))
    assert got is not None and got.counter == 2


_WRITER = textwrap.dedent("""
    import sys, trio
    from pathlib import Path
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
    from colony_actor.colony.errors import StaleCounter
    from colony_actor.colony.network.base import Scratchpad
    from colony_actor.colony.network.local import LocalNetwork

    async def main() -> None:
        net = LocalNetwork(Path(sys.argv[1]), max_scratchpad_bytes=1 << 20,
                           timeout_seconds=60)
        key = Ed25519PrivateKey.from_private_bytes(bytes.fromhex(sys.argv[2]))
        for counter in range(int(sys.argv[3]), 81, 2):
            try:
                await net.put_scratchpad(Scratchpad.signed(key, b"%d" % counter, counter))
            except StaleCounter:
                pass

    trio.run(main)
""")


async def test_two_processes_sharing_a_directory(net: LocalNetwork,
                                                 key: Ed25519PrivateKey) -> None:
    secret = key.private_bytes(Encoding.Raw, PrivateFormat.Raw, NoEncryption()).hex()
    path = os.pathsep.join(filter(None, [str(REPO_ROOT), os.environ.get("PYTHONPATH")]))
    env = {**os.environ, "PYTHONPATH": path}

    async def run_writer(first: str) -> None:
        await trio.run_process(
            [sys.executable, "-c", _WRITER, str(net.directory), secret, first],
            env=env, check=True)

    # One writes the odd counters, the other the even ones, at the same time.
    async with trio.open_nursery() as nursery:
        nursery.start_soon(run_writer, "1")
        nursery.start_soon(run_writer, "2")
    got = await net.get_scratchpad(address_of(key))
    assert got is not None and (got.counter, got.data) == (80, b"80")


async def test_reads_at_once_each_get_their_own_record_or_error(
        net: LocalNetwork) -> None:
    # Reads asked for together are done together (see LocalNetwork._get); each reader
    # still gets its own record, None, or its own error, never another's.
    keys = [Ed25519PrivateKey.generate() for _ in range(40)]
    for n, key in enumerate(keys):
        await net.put_scratchpad(Scratchpad.signed(key, f"pad {n}".encode(), n + 1))
    tampered = net.directory / "scratchpads" / address_of(keys[7])
    tampered.write_bytes(tampered.read_bytes()[:-1] + b"?")
    (net.directory / "scratchpads" / address_of(keys[9])).write_bytes(b"junk")
    missing = address_of(Ed25519PrivateKey.generate())
    got: dict[str, object] = {}

    async def read(address: str) -> None:
        try:
            got[address] = await net.get_scratchpad(address)
        except NetworkError as exc:
            got[address] = exc

    async with trio.open_nursery() as nursery:
        for address in [*map(address_of, keys), missing]:
            nursery.start_soon(read, address)
    assert got.pop(missing) is None
    assert isinstance(got.pop(address_of(keys[7])), BadSignature)
    corrupt = got.pop(address_of(keys[9]))
    assert isinstance(corrupt, NetworkError) and not isinstance(corrupt, BadSignature)
    assert address_of(keys[9]) in str(corrupt)
    for n, key in enumerate(keys):
        if n not in (7, 9):
            assert got[address_of(key)] == Scratchpad.signed(key, f"pad {n}".encode(), n + 1)


async def test_a_cancelled_read_leaves_the_others_alone(net: LocalNetwork) -> None:
    keys = [Ed25519PrivateKey.generate() for _ in range(20)]
    for key in keys:
        await net.put_pointer(Pointer.signed(key, TARGET, 1))
    got: dict[str, Pointer | None] = {}
    scopes: list[trio.CancelScope] = []

    async def read(address: str, scope: trio.CancelScope | None = None) -> None:
        with scope or trio.CancelScope():
            got[address] = await net.get_pointer(address)

    async with trio.open_nursery() as nursery:
        for n, key in enumerate(keys):
            scope = trio.CancelScope() if n % 2 else None
            if scope is not None:
                scopes.append(scope)
            nursery.start_soon(read, address_of(key), scope)
        await trio.lowlevel.checkpoint()  # one read is in a thread call, others wait
        for scope in scopes:
            scope.cancel()
    for n, key in enumerate(keys):
        if n % 2 == 0:
            assert got[address_of(key)] == Pointer.signed(key, TARGET, 1)
    # Nothing is left behind for a reader that is gone, and the next read goes through.
    assert await net.get_pointer(address_of(keys[1])) == Pointer.signed(keys[1], TARGET, 1)
