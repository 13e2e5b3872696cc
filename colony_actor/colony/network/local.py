"""The `local` network backend: one directory, one file per record.

`<dir>/pointers/<address>` and `<dir>/scratchpads/<address>` each hold one signed record,
replaced atomically. Several daemon processes may share the directory: a write takes an
exclusive `flock` on `<dir>/locks/<address>.lock` while it compares counters and renames,
so a stale write never replaces a newer one, across processes as well as tasks.
Latency, failure and stall injection make it stand in for a slow, flaky or stuck network
in tests, demos and benchmarks.

recordfile.py holds the records' file format.

What others put in the directory is peer data (files.py opens it): a record is read only
from a regular file, never past the largest record there can be (a scratchpad of
`max_scratchpad_bytes`, a pointer of `POINTER_CONTENT_MAX`). Reads are grouped into
worker-thread calls (reads.py) that are given up on past `timeout_seconds` or when their
caller is cancelled, so a read stuck on a hung disk or mount fails and holds no job.

This module must never block the event loop (all file work runs in worker threads), never
accept or return a record whose signature does not verify, never let an address name
anything but a file directly inside its kind's directory, and never wait on a read past
its deadline.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import re
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Final

import trio

from colony_actor.colony.errors import NetworkError, StaleCounter
from colony_actor.colony.network import files, recordfile
from colony_actor.colony.network.base import Pointer, RecordKind, Scratchpad
from colony_actor.colony.network.faults import FaultInjector
from colony_actor.colony.network.reads import Call, GroupedReads
from colony_actor.colony.network.recordfile import Record
from colony_actor.runtime import threads

_ADDRESS: Final = re.compile(r"[0-9a-f]{64}")
_DIRECTORIES: Final[dict[RecordKind, str]] = {"pointer": "pointers",
                                               "scratchpad": "scratchpads"}
_LOCKS: Final = "locks"
# A pointer holds a 64-hex-digit address; past this it is no pointer of ours.
POINTER_CONTENT_MAX: Final = 1024
# Threads reading records at once, those abandoned to a stuck read included: a disk or
# mount that hangs holds at most these, and later reads time out waiting for one.
READ_THREADS: Final = 4
# How often a write waiting for another writer's lock tries again, in seconds.
_LOCK_RETRY: Final = 0.005


def _check_address(address: object) -> str:
    # The address becomes a file name: only the exact form is accepted, never
    # uppercase (a second file for the same key) nor anything with a separator in it.
    if not isinstance(address, str) or not _ADDRESS.fullmatch(address):
        raise NetworkError(f"Invalid address {address!r}: expected 64 lowercase hex digits")
    return address


@dataclass(frozen=True)
class NetworkStatistics:
    """What a `LocalNetwork` holds (`LocalNetwork.statistics`), for tests and operators."""

    reads_waiting: int  # reads asked for and not yet taken into a thread call
    reads_abandoned: int  # thread calls given up on (stuck past their deadline) still running
    reads_stalled: int  # reads held at an injected stall (`stall`)


class LocalNetwork:
    """The `Network` protocol over a directory that several processes may share.

    `max_scratchpad_bytes`: the largest scratchpad content read or written (a larger
    record is refused unread); `timeout_seconds`: how long one record read, or a write's
    wait for its lock, may take before it fails.

    `fail_addresses` and `fail_all` may be changed at any time by tests: any get or put
    for a matching address then raises NetworkError (after the simulated latency), and so
    does a call `faults` draws to fail (the `network.failure_rate` settings).
    `stall(address)` makes reads of that address hang in their worker thread, as on a
    stuck disk, until `release_stalls()`.
    """

    def __init__(self, directory: Path, *, max_scratchpad_bytes: int, timeout_seconds: float,
                 latency_ms: float = 0, faults: FaultInjector | None = None) -> None:
        if latency_ms < 0:
            raise ValueError("latency_ms must not be negative")
        if max_scratchpad_bytes < 0:
            raise ValueError("max_scratchpad_bytes must not be negative")
        if not timeout_seconds > 0:
            raise ValueError("timeout_seconds must be positive")
        self.directory = Path(directory)
        self.latency_ms = latency_ms
        self.faults = faults
        self.max_scratchpad_bytes = max_scratchpad_bytes
        self.timeout_seconds = timeout_seconds
        self.fail_addresses: set[str] = set()
        self.fail_all: bool = False
        self._stalled: set[str] = set()
        self._unstalled = threading.Event()
        self._held = 0  # reads held at a stall now (changed by worker threads)
        self._held_lock = threading.Lock()
        self._reads: GroupedReads[tuple[RecordKind, str], Record] = GroupedReads(
            self._read_call, timeout_seconds=timeout_seconds, threads=READ_THREADS,
            timed_out=self._timed_out, stuck=self._stuck)
        self._ready = False

    def __repr__(self) -> str:
        return f"LocalNetwork({str(self.directory)!r}, latency_ms={self.latency_ms})"

    def statistics(self) -> NetworkStatistics:
        reads = self._reads.statistics()
        return NetworkStatistics(reads_waiting=reads.waiting, reads_abandoned=reads.abandoned,
                                 reads_stalled=self._held)

    def stall(self, *addresses: str) -> None:
        if self._unstalled.is_set():
            self._unstalled = threading.Event()
        self._stalled.update(addresses)

    def release_stalls(self) -> None:
        self._stalled.clear()
        self._unstalled.set()

    async def get_pointer(self, address: str) -> Pointer | None:
        record = await self._get("pointer", address)
        assert record is None or isinstance(record, Pointer)
        return record

    async def put_pointer(self, pointer: Pointer) -> None:
        await self._put("pointer", pointer)

    async def get_scratchpad(self, address: str) -> Scratchpad | None:
        record = await self._get("scratchpad", address)
        assert record is None or isinstance(record, Scratchpad)
        return record

    async def put_scratchpad(self, scratchpad: Scratchpad) -> None:
        await self._put("scratchpad", scratchpad)

    def _content_cap(self, kind: RecordKind) -> int:
        return POINTER_CONTENT_MAX if kind == "pointer" else self.max_scratchpad_bytes

    async def _before(self, operation: str, address: str) -> None:
        if self.latency_ms > 0:
            await trio.sleep(self.latency_ms / 1000)
        if self.fail_all or address in self.fail_addresses:
            raise NetworkError(f"Injected failure for {address}")
        if self.faults is not None:
            self.faults.check(operation, address)

    async def _get(self, kind: RecordKind, address: str) -> Record | None:
        address = _check_address(address)
        await self._before(f"get_{kind}", address)
        return await self._reads.read((kind, address))

    def _timed_out(self, key: tuple[RecordKind, str]) -> Exception:
        kind, address = key
        return NetworkError(f"Reading the {kind} at {address} took more than "
                            f"{self.timeout_seconds:g} s")

    @staticmethod
    def _stuck(key: tuple[RecordKind, str]) -> Exception:
        kind, address = key
        return NetworkError(f"Cannot read {kind} at {address}: the {READ_THREADS} threads "
                            f"that read records are stuck on earlier reads")

    async def _put(self, kind: RecordKind, record: Record) -> None:
        address = _check_address(record.address)
        size, cap = len(recordfile.content(record)), self._content_cap(kind)
        if size > cap:
            raise NetworkError(f"Cannot write {kind} at {address}: {size} bytes, more than "
                               f"the {cap} a {kind} may hold")
        await self._before(f"put_{kind}", address)
        await threads.run_sync(self._write, kind, record)

    # Everything below runs in a worker thread.

    def _read_call(self, call: Call[tuple[RecordKind, str]]) -> None:
        try:
            with self._directories(*{kind for kind, _ in call.keys}) as fds:
                for kind, address in call.keys:
                    try:
                        call.outcomes.append((self._read_one(fds[kind], kind, address), None))
                    except Exception as exc:  # that read only
                        call.outcomes.append((None, exc))
        except Exception as exc:  # a kind directory that cannot be opened
            for kind, address in call.keys[len(call.outcomes):]:
                call.outcomes.append((None, _unreadable(kind, address, exc)))

    def _stall_here(self) -> None:
        unstalled = self._unstalled
        with self._held_lock:
            self._held += 1
        try:
            unstalled.wait()
        finally:
            with self._held_lock:
                self._held -= 1

    def _read_one(self, dir_fd: int | None, kind: RecordKind, address: str) -> Record | None:
        if address in self._stalled:
            self._stall_here()
        if dir_fd is None:
            return None
        cap = recordfile.max_file_size(self._content_cap(kind))
        try:
            raw = files.read_capped(dir_fd, address, cap)
        except (OSError, files.Refused) as exc:
            raise _unreadable(kind, address, exc) from None
        if raw is None:
            return None
        record = recordfile.decode(kind, address, raw)
        recordfile.verify(kind, record)
        return record

    @contextlib.contextmanager
    def _directories(self, *kinds: RecordKind) -> Iterator[dict[RecordKind, int | None]]:
        """Descriptors of these kinds' directories (None for one that does not exist),
        none of them a symbolic link."""
        fds: dict[RecordKind, int | None] = {}
        try:
            for kind in kinds:
                fds[kind] = files.open_directory(self.directory, _DIRECTORIES[kind])
            yield fds
        finally:
            for fd in fds.values():
                if fd is not None:
                    os.close(fd)

    def _ensure_directories(self) -> None:
        if self._ready:
            return
        for name in (*_DIRECTORIES.values(), _LOCKS):
            (self.directory / name).mkdir(parents=True, exist_ok=True)
        self._ready = True

    @contextlib.contextmanager
    def _locked(self, address: str) -> Iterator[None]:
        # flock belongs to the open file description, so it excludes other threads of
        # this process as well as other processes. Lock files are never deleted: removing
        # one while another writer waits on it would let two writers in at once. The lock
        # is tried rather than waited for, so that a holder that never lets go fails this
        # write after `timeout_seconds` instead of holding it for good.
        locks = files.open_directory(self.directory, _LOCKS)
        if locks is None:
            raise FileNotFoundError(f"{self.directory / _LOCKS} is missing")
        try:
            fd = files.open_lock(locks, f"{address}.lock")
        finally:
            os.close(locks)
        try:
            deadline = time.monotonic() + self.timeout_seconds
            while True:
                try:
                    fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                    break
                except BlockingIOError:
                    if time.monotonic() > deadline:
                        raise NetworkError(
                            f"The lock of {address} was held by another writer for more "
                            f"than {self.timeout_seconds:g} s") from None
                    time.sleep(_LOCK_RETRY)
            yield
        finally:
            os.close(fd)

    def _stored_counter(self, dir_fd: int, kind: RecordKind, address: str) -> int | None:
        header = files.read_head(dir_fd, address, recordfile.HEADER.size)
        if header is None:
            return None
        # A damaged stored record refuses the write rather than risk replacing a newer
        # counter with an older one; an operator can delete the file named here.
        counter, _, _ = recordfile.parse_header(kind, address, header)
        return counter

    def _write(self, kind: RecordKind, record: Record) -> None:
        address = record.address
        # Verified before taking the lock: a forged record must not cost other writers time.
        recordfile.verify(kind, record)
        data = recordfile.encode(kind, record)
        try:
            self._ensure_directories()
            with self._locked(address), self._directories(kind) as fds:
                dir_fd = fds[kind]
                if dir_fd is None:
                    raise FileNotFoundError(f"{self.directory / _DIRECTORIES[kind]} is missing")
                stored = self._stored_counter(dir_fd, kind, address)
                if stored is not None and record.counter <= stored:
                    raise StaleCounter(
                        f"Stale {kind} write at {address}: counter {record.counter} is not "
                        f"above the stored {stored}")
                # Records are public, signed data; other local users sharing the
                # directory must be able to read them.
                files.replace_file(dir_fd, address, data, 0o644)
        except files.Refused as exc:
            what = f"its file {exc.why}" if exc.name == address else exc
            raise NetworkError(f"Cannot write {kind} at {address}: {what}") from None
        except OSError as exc:
            raise NetworkError(f"Cannot write {kind} at {address}: "
                               f"{exc.strerror or exc}") from None


def _unreadable(kind: RecordKind, address: str, exc: Exception) -> NetworkError:
    reason: object = exc
    if isinstance(exc, files.Refused) and exc.name == address:
        reason = f"its file {exc.why}"
    elif isinstance(exc, OSError) and exc.strerror:
        reason = exc.strerror
    return NetworkError(f"Cannot read {kind} at {address}: {reason}")
