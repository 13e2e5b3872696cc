"""The network record protocol: reading and writing signed records, downloading a pod.

Writes go above the counter last seen (or the one read from the network), and a write the
network finds stale is retried once above the newer counter: another device wrote since,
and the user's pending local change is what they asked to publish. A pod is downloaded
level by level of its chunk index, a bounded number of chunks from anyone else. At most
`concurrency` network calls run at once. This module must never touch the store, and
never block the event loop (signing and parsing megabytes run in worker threads).
"""

from __future__ import annotations

import functools
from collections.abc import Awaitable, Callable
from typing import Final, TypeVar

import trio
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from pyoxigraph import Triple

from colony_actor.colony import chunks
from colony_actor.colony.errors import BadSignature, InvalidInput, NetworkError, StaleCounter
from colony_actor.colony.network.base import Network, Pointer, RecordKind, Scratchpad
from colony_actor.colony.store.poddata import parse_statements
from colony_actor.colony.vocab import is_address
from colony_actor.runtime import threads
from colony_actor.runtime.concurrency import gather

T = TypeVar("T")

# A pod from someone else may claim any number of chunks; this many is plenty (16 GiB at
# the default 4 MiB) and bounds what one reference can make us fetch.
MAX_REMOTE_CHUNKS: Final = 4096


class Records:
    def __init__(self, network: Network, concurrency: int) -> None:
        self._network = network
        self._concurrency = concurrency
        self._limiter = trio.CapacityLimiter(concurrency)

    @property
    def pods_at_once(self) -> int:
        """Pods in flight in a bulk operation: enough to keep every network slot busy while
        others wait for the store, few enough that starting them is no burst of work for
        the event loop (hundreds of tasks stepping in one go delay every request)."""
        return 2 * self._concurrency

    async def _net(self, fn: Callable[..., Awaitable[T]], *args: object) -> T:
        async with self._limiter:
            return await fn(*args)

    async def get_pointer(self, address: str) -> Pointer | None:
        return await self._net(self._network.get_pointer, address)

    async def get_scratchpad(self, address: str) -> Scratchpad | None:
        return await self._net(self._network.get_scratchpad, address)

    async def put_scratchpad(self, key: Ed25519PrivateKey, address: str, data: bytes,
                             known: int | None) -> int:
        """Write `data` at `address` (whose counter was last seen at `known`); the counter
        written."""
        async def signed(counter: int) -> Scratchpad:
            return await threads.run_sized(len(data), Scratchpad.signed, key, data, counter)

        return await self._put("scratchpad", address, known, signed,
                               self._network.put_scratchpad)

    async def put_pointer(self, key: Ed25519PrivateKey, address: str, target: str,
                          known: int | None) -> int:
        """Point `address` (whose counter was last seen at `known`) at `target`; the
        counter written."""
        async def signed(counter: int) -> Pointer:
            return Pointer.signed(key, target, counter)

        return await self._put("pointer", address, known, signed, self._network.put_pointer)

    async def _put(self, kind: RecordKind, address: str, known: int | None,
                   signed: Callable[[int], Awaitable[T]],
                   put: Callable[[T], Awaitable[None]]) -> int:
        counter = known + 1 if known is not None else await self._next_counter(kind, address)
        try:
            await self._net(put, await signed(counter))
        except StaleCounter:
            # Another device wrote since we last saw it: the user's pending local change
            # is what they asked to publish, so it goes above the newer one.
            counter = await self._next_counter(kind, address)
            await self._net(put, await signed(counter))
        return counter

    async def _next_counter(self, kind: RecordKind, address: str) -> int:
        record: Pointer | Scratchpad | None = (
            await self.get_pointer(address) if kind == "pointer"
            else await self.get_scratchpad(address))
        return 0 if record is None else record.counter + 1

    async def claimed(self, address: str, give_up_after: float) -> bool:
        """Whether the network holds a record at `address`. A network that cannot tell
        within `give_up_after` seconds (offline, or slow) counts as saying no."""
        taken = False
        with trio.move_on_after(give_up_after):
            try:
                taken = (await self.get_pointer(address) is not None
                         or await self.get_scratchpad(address) is not None)
            except BadSignature:
                taken = True
            except NetworkError:
                taken = False
        return taken

    async def fetch_triples(self, address: str, pointer: Pointer) -> list[Triple]:
        """A pod's triples from the records its pointer leads to."""
        downloaded = await self.download(address, pointer)
        return await threads.run_sync(parse_downloaded, address, downloaded, parse_statements)

    async def download(self, address: str, pointer: Pointer,
                       max_bytes: int | None = None) -> list[bytes]:
        """A pod's chunks, in order, from the records its pointer leads to (each chunk's
        index read in a thread past the inline size: a chunk may hold megabytes). Past
        `max_bytes` of chunks, NetworkError: chunks are then fetched `concurrency` at a
        time, so that at most that many more are read before the cap stops it."""
        if not is_address(pointer.target) or pointer.target != pointer.target.lower():
            raise NetworkError(f"Pod {address}'s pointer has a malformed target")
        first = await self.get_scratchpad(pointer.target)
        if first is None:
            raise NetworkError(f"Pod {address}'s first chunk {pointer.target} is missing")
        size = _within(address, len(first.data), max_bytes)
        # Chunk 0 lists the first chunks, which may list more: read level by level.
        datas: dict[int, bytes] = {0: first.data}
        positions: dict[int, str] = {}
        fresh = [first.data]
        while fresh:
            listed: dict[int, str] = {}
            try:
                for data in fresh:
                    index = await threads.run_sized(len(data), chunks.read_index, data)
                    for position, chunk_address in index.items():
                        if positions.setdefault(position, chunk_address) != chunk_address:
                            raise InvalidInput(f"position {position} is listed twice")
                        listed[position] = chunk_address
            except InvalidInput as exc:
                raise NetworkError(f"Pod {address} has a malformed chunk index: {exc}") \
                    from None
            if len(positions) >= MAX_REMOTE_CHUNKS:
                raise NetworkError(f"Pod {address} lists more than {MAX_REMOTE_CHUNKS} chunks")
            wanted = sorted(p for p in listed if p not in datas)
            if not wanted:
                break
            fresh = []
            step = len(wanted) if max_bytes is None else self._concurrency
            for start in range(0, len(wanted), step):
                part = wanted[start:start + step]
                results = await gather([functools.partial(self.get_scratchpad, listed[p])
                                        for p in part])
                for position, result in zip(part, results, strict=True):
                    if isinstance(result, Exception):
                        raise NetworkError(
                            f"Pod {address}'s chunk {listed[position]}: {result}")
                    if result is None:
                        raise NetworkError(
                            f"Pod {address}'s chunk {listed[position]} is missing")
                    size = _within(address, size + len(result.data), max_bytes)
                    datas[position] = result.data
                    fresh.append(result.data)
        try:
            chunks.check_sequence(positions, MAX_REMOTE_CHUNKS)
        except InvalidInput as exc:
            raise NetworkError(f"Pod {address} has a malformed chunk index: {exc}") from None
        return [datas[p] for p in sorted(datas)]


def _within(address: str, size: int, max_bytes: int | None) -> int:
    """`size`, the bytes of a pod downloaded so far, if within `max_bytes`."""
    if max_bytes is not None and size > max_bytes:
        raise NetworkError(f"Pod {address} holds more than {max_bytes} bytes, the cap for a "
                           f"referenced pod (network.max_pod_bytes)")
    return size


def parse_downloaded(address: str, downloaded: list[bytes], parse: Callable[[bytes], T]) -> T:
    """(Blocking.) A downloaded pod's chunks joined and parsed by `parse`; NetworkError if
    they do not parse."""
    try:
        return parse(chunks.join(downloaded))
    except (SyntaxError, ValueError) as exc:
        raise NetworkError(f"Pod {address} holds data that does not parse: "
                           f"{str(exc)[:200]}") from None
