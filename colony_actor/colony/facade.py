"""The pod operations and sync: the async face of the Colony domain.

`Colony` is what the rest of the daemon calls: quick pod edits and reads, and the long
operations (refresh_cache, refresh_ref, upload_all, upload_pod, search, get_subject_data).
Every blocking store call runs in a worker thread (`threads.run_sync`) through a CapacityLimiter.
Writes to the store (edits, the replace step of a refresh, the bookkeeping step of an
upload) hold one `trio.Lock` across their worker-thread call, and each is one store
transaction, so an edit made while a sync runs is never lost nor half-applied; network
I/O never happens under the lock. Work under the lock is O(the pod at hand), never O(all
pods), and a refresh stores the pods downloaded meanwhile in one transaction (`_replace`).
It must never import jobs/ or api/, and never block the event loop.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Final, TypeVar

import trio
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from colony_actor.colony import chunks
from colony_actor.colony.errors import (
    BadSignature,
    ColonyError,
    InvalidInput,
    NetworkError,
    PodNotFound,
    StaleCounter,
    UploadFailed,
)
from colony_actor.colony.fulltext.index import FullTextIndex, open_beside
from colony_actor.colony.jsonld import SubjectData
from colony_actor.colony.jsonld import prepare as prepare_subject
from colony_actor.colony.keys.store import KeyStore
from colony_actor.colony.network.base import Network, Pointer, Scratchpad
from colony_actor.colony.search.forms import parse_query
from colony_actor.colony.search.run import subject_data
from colony_actor.colony.search.searcher import Searcher
from colony_actor.colony.store import writes
from colony_actor.colony.store.graph import GraphStore
from colony_actor.colony.store.poddata import PodData, parse_statements, serialize_lines
from colony_actor.colony.store.reads import HeldCopy
from colony_actor.colony.store.writes import Replacement
from colony_actor.colony.vocab import (
    check_pod_name,
    is_address,
    normalize_address,
    normalize_subject,
)
from colony_actor.runtime import threads
from colony_actor.runtime.batching import Batches
from colony_actor.runtime.concurrency import gather
from colony_actor.runtime.timestamps import now_stored

# (done, total, message): pods handled out of pods to handle, and the current step.
ProgressReporter = Callable[[int, int, str], None]

T = TypeVar("T")

STORE_THREADS: Final = 4
MIN_SCRATCHPAD: Final = 1024
# A pod from someone else may claim any number of chunks; this many is plenty (16 GiB at
# the default 4 MiB) and bounds what one reference can make us fetch.
MAX_REMOTE_CHUNKS: Final = 4096
# The full-text index of the pods' literals, beside the store (rebuilt from it if lost).
FULLTEXT_FILE: Final = "fulltext.sqlite3"
KEPT: Final = "Local changes wait for upload"
# How long creating a pod waits for the network to tell whether a fresh key is claimed
# (seconds); past it the key is taken as free, as when offline.
CLAIM_PROBE_TIMEOUT: Final = 2.0


@dataclass(frozen=True)
class PodInfo:
    address: str  # 64 lowercase hex, no ant:// prefix
    name: str
    created_at: str  # RFC 3339 UTC
    modified_at: str
    depth: int

    def to_json(self) -> dict[str, Any]:
        return {"address": self.address, "name": self.name, "created_at": self.created_at,
                "modified_at": self.modified_at, "depth": self.depth}


@dataclass
class _Plan:
    """One pod's upload, fixed under the lock: its chunks and where they go."""
    address: str
    seq: int | None
    chunks: list[bytes]
    scratchpads: list[str]  # one per chunk; chunks[0] goes to scratchpads[0]
    pointer_counter: int | None
    scratchpad_counters: dict[str, int]
    keys: dict[str, Ed25519PrivateKey]


@dataclass(eq=False)
class _Replace:
    """A downloaded pod waiting to be parsed and stored (see `Colony._replace`)."""
    address: str
    chunks: list[bytes]  # as downloaded, in order
    counter: int
    depth: int | None
    done: bool = False
    outcome: tuple[str, str] = ("kept", KEPT)
    error: Exception | None = None


@dataclass
class _Written:
    pointer_counter: int | None = None
    scratchpad_counters: dict[str, int] = field(default_factory=dict)
    error: str | None = None


class _Progress:
    """Pods handled out of pods known; `done` never decreases and total stays >= done."""

    def __init__(self, report: ProgressReporter, verb: str) -> None:
        self._report = report
        self._verb = verb
        self.done = 0
        self.total = 0

    def grow(self, count: int) -> None:
        self.total += count

    def step(self) -> None:
        self.done += 1
        self.total = max(self.total, self.done)
        self._report(self.done, self.total, f"{self._verb} {self.done} of {self.total} pods")

    def note(self, message: str) -> None:
        self._report(self.done, max(self.total, self.done), message)


class Colony:
    def __init__(self, graph: GraphStore, index: FullTextIndex | None, network: Network,
                 keys: KeyStore, *,
                 scratchpad_limit: int, concurrency: int, search_timeout: float,
                 claim_timeout: float = CLAIM_PROBE_TIMEOUT) -> None:
        # Use `Colony.open`.
        self._claim_timeout = claim_timeout
        self._graph = graph
        self._index = index
        self._network = network
        self._keys = keys
        self._scratchpad_limit = scratchpad_limit
        self._searcher = Searcher(graph, index, search_timeout)
        self._store_limiter = trio.CapacityLimiter(STORE_THREADS)
        self._concurrency = concurrency
        self._net_limiter = trio.CapacityLimiter(concurrency)
        self._lock = trio.Lock()
        # Downloaded pods are stored in groups, under the write lock (see `_replace`).
        self._replacing = Batches(self._replace_batch, failed=_unstored, lock=self._lock,
                                  limiter=self._store_limiter)
        self._config = graph.config
        self._closed = False

    @classmethod
    async def open(cls, data_dir: Path, network: Network, keys: KeyStore, *,
                   scratchpad_limit: int = 4 * 1024 * 1024, concurrency: int = 16,
                   search_timeout: float = 30.0,
                   claim_timeout: float = CLAIM_PROBE_TIMEOUT) -> Colony:
        if scratchpad_limit < MIN_SCRATCHPAD:
            raise InvalidInput(f"scratchpad_limit must be at least {MIN_SCRATCHPAD} bytes")
        if concurrency < 1:
            raise InvalidInput("concurrency must be at least 1")
        if not search_timeout > 0:
            raise InvalidInput("search_timeout must be positive")
        if not claim_timeout > 0:
            raise InvalidInput("claim_timeout must be positive")

        def start() -> tuple[GraphStore, FullTextIndex | None]:
            graph = GraphStore(Path(data_dir) / "store", keys.address(0))
            index = open_beside(Path(data_dir) / FULLTEXT_FILE, graph.store)
            if index is not None:
                graph.follow(index)
            if not graph.pod_exists(graph.config):
                graph.apply(writes.init_config(graph.config, keys.address(1), now_stored()))
            return graph, index

        graph, index = await threads.run_sync(start)
        return cls(graph, index, network, keys, scratchpad_limit=scratchpad_limit,
                   concurrency=concurrency, search_timeout=search_timeout,
                   claim_timeout=claim_timeout)

    @property
    def store(self) -> GraphStore:
        """The store, for tests and diagnostics: read it in a worker thread, and never
        write to it (writes go through the methods here, under their lock)."""
        return self._graph

    @property
    def fulltext(self) -> FullTextIndex | None:
        """The full-text index (None when it could not be opened), for tests and
        diagnostics."""
        return self._index

    async def aclose(self) -> None:
        async with self._lock:
            if not self._closed:
                self._closed = True
                await threads.run_sync(self._graph.close)

    # -- plumbing --------------------------------------------------------------------

    async def _read(self, fn: Callable[..., T], *args: Any) -> T:
        return await threads.run_sync(fn, *args, limiter=self._store_limiter)

    async def _write(self, fn: Callable[..., T], *args: Any) -> T:
        # Held across the thread call; a cancelled caller still waits for the thread, so a
        # write is never left running unlocked.
        async with self._lock:
            return await threads.run_sync(fn, *args, limiter=self._store_limiter)

    async def _net(self, fn: Callable[..., Awaitable[T]], *args: Any) -> T:
        async with self._net_limiter:
            return await fn(*args)

    def _pods_at_once(self) -> int:
        # Pods in flight in a bulk operation: enough to keep every network slot busy while
        # others wait for the store, few enough that starting them is no burst of work for
        # the event loop (hundreds of tasks stepping in one go delay every request).
        return 2 * self._concurrency

    # -- resolution (sync, in a thread) ------------------------------------------------

    def _resolve(self, pod: str) -> str:
        if not isinstance(pod, str) or not pod:
            raise PodNotFound("Pod not found: an empty pod name or address")
        if is_address(pod):
            address = normalize_address(pod)
            if self._graph.pod_exists(address):
                return address
        try:
            found = self._graph.pods_named(pod)
        except (ValueError, SyntaxError, UnicodeError):
            found = []
        if len(found) == 1:
            return found[0]
        if len(found) > 1:
            raise InvalidInput(f"Several pods are named {pod!r:.100}: use an address "
                               f"({', '.join(found)})")
        raise PodNotFound(f"Pod not found: {pod!r:.120}")

    def _resolve_own(self, pod: str) -> str:
        address = self._resolve(pod)
        if address == self._config:
            raise InvalidInput("The configuration pod cannot be edited directly")
        if address not in self._graph.own_pods():
            raise InvalidInput(f"Pod {address} is not one of your pods; it cannot be edited")
        return address

    def _info(self, address: str) -> PodInfo:
        for row in self._graph.pod_rows(address):
            return PodInfo(row.address, row.name, row.created_at, row.modified_at, row.depth)
        raise PodNotFound(f"Pod not found: {address}")

    # -- quick edits and reads ---------------------------------------------------------

    async def list_pods(self) -> list[PodInfo]:
        """Own and referenced pods (not the configuration pod), own first, with depth."""
        rows = await self._read(self._graph.pod_rows)
        return [PodInfo(r.address, r.name, r.created_at, r.modified_at, r.depth) for r in rows]

    async def create_pod(self, name: str) -> PodInfo:
        name = check_pod_name(name)

        pod_index = await self._unclaimed_index()
        scratch_index = await self._unclaimed_index()

        def work() -> PodInfo:
            address = self._keys.address(pod_index)
            self._graph.apply(writes.create_pod(
                self._config, address, self._keys.address(scratch_index), pod_index,
                scratch_index, name, now_stored()))
            return self._info(address)

        return await self._write(work)

    async def rename_pod(self, pod: str, name: str) -> PodInfo:
        name = check_pod_name(name)

        def work() -> PodInfo:
            address = self._resolve_own(pod)
            self._graph.apply(writes.rename_pod(address, name, now_stored()))
            return self._info(address)

        return await self._write(work)

    async def remove_pod(self, pod: str) -> None:
        def work() -> None:
            address = self._resolve(pod)
            if address == self._config:
                raise InvalidInput("The configuration pod cannot be removed")
            own = address in self._graph.own_pods()
            self._graph.apply(writes.remove_pod(
                self._config, address, self._graph.scratchpads(address) if own else None,
                now_stored()))

        await self._write(work)

    async def put_subject_data(self, pod: str, subject: str, jsonld: Any) -> dict[str, Any]:
        def prepare() -> SubjectData:
            data = prepare_subject(subject, jsonld)
            # Refused now rather than failing every later upload of the pod.
            chunks.check_fits(serialize_lines(data.triples), self._scratchpad_limit,
                              len(chunks.header(now_stored())))
            return data

        # A document may be as large as a request body: it is expanded and measured in a
        # worker thread (on the loop, 1 MB of JSON-LD held it for about 100 ms).
        data = await threads.run_sync(prepare)

        def work() -> None:
            address = self._resolve_own(pod)
            if data.subject.value == "ant://" + address:
                raise InvalidInput("A pod's own subject is kept by Colony; describe other "
                                   "subjects in it")
            self._graph.apply(writes.put_subject(address, data.subject, data.triples,
                                                 now_stored()))

        await self._write(work)
        return data.document

    async def add_pod_ref(self, pod: str, ref: str) -> None:
        await self._set_ref(pod, ref, present=True)

    async def remove_pod_ref(self, pod: str, ref: str) -> None:
        await self._set_ref(pod, ref, present=False)

    async def _set_ref(self, pod: str, ref: str, present: bool) -> None:
        target = normalize_address(ref)

        def work() -> None:
            address = self._resolve_own(pod)
            if present and target == address:
                raise InvalidInput("A pod cannot reference itself")
            self._graph.apply(writes.set_ref(address, target, present, now_stored()))

        await self._write(work)

    async def updates(self) -> dict[str, list[str]]:
        def work() -> dict[str, list[str]]:
            return {"update": sorted(self._graph.edit_seqs()), "remove": self._graph.removed()}

        return await self._read(work)

    async def get_subject_data(self, subject: str) -> dict[str, Any]:
        node = normalize_subject(subject)
        return await self._read(subject_data, self._graph.store, node)

    # -- search ------------------------------------------------------------------------

    async def search(self, query: Mapping[str, Any] | str,
                     progress: ProgressReporter) -> dict[str, Any]:
        parsed = parse_query(query)
        progress(0, 1, "Searching")
        out = await self._searcher.answer(parsed)
        progress(1, 1, f"Found {out['result_count']} results")
        return out

    # -- network records ---------------------------------------------------------------

    async def _unclaimed_index(self) -> int:
        """A fresh key index whose address holds no record on the network.

        The same mnemonic on another device hands out the same indexes; a device that has
        not refreshed yet would otherwise reuse one and overwrite that device's pod.
        Offline, the index is taken as free: creating a pod must not need the network. A
        slow network counts as offline: the probe gives up after `claim_timeout` seconds,
        so a pod edit stays quick.
        """
        while True:
            index = await threads.run_sync(self._keys.allocate)
            address = self._keys.address(index)
            taken = False
            with trio.move_on_after(self._claim_timeout):
                try:
                    taken = (await self._net(self._network.get_pointer, address) is not None
                             or await self._net(self._network.get_scratchpad, address)
                             is not None)
                except BadSignature:
                    taken = True
                except NetworkError:
                    taken = False
            if not taken:
                return index

    async def _next_counter(self, kind: str, address: str) -> int:
        if kind == "pointer":
            record: Pointer | Scratchpad | None = await self._net(
                self._network.get_pointer, address)
        else:
            record = await self._net(self._network.get_scratchpad, address)
        return 0 if record is None else record.counter + 1

    async def _put_scratchpad(self, key: Ed25519PrivateKey, address: str, data: bytes,
                              known: int | None) -> int:
        counter = known + 1 if known is not None else await self._next_counter(
            "scratchpad", address)
        for attempt in range(2):
            record = await threads.run_sized(len(data), Scratchpad.signed, key, data, counter)
            try:
                await self._net(self._network.put_scratchpad, record)
                return counter
            except StaleCounter:
                # Another device wrote since we last saw it: the user's pending local
                # change is what they asked to publish, so it goes above the newer one.
                if attempt:
                    raise
                counter = await self._next_counter("scratchpad", address)
        raise AssertionError("unreachable")

    async def _put_pointer(self, key: Ed25519PrivateKey, address: str, target: str,
                           known: int | None) -> int:
        counter = known + 1 if known is not None else await self._next_counter(
            "pointer", address)
        try:
            await self._net(self._network.put_pointer, Pointer.signed(key, target, counter))
        except StaleCounter:
            counter = await self._next_counter("pointer", address)
            await self._net(self._network.put_pointer, Pointer.signed(key, target, counter))
        return counter

    async def _fetch(self, address: str, pointer: Pointer) -> list[Any]:
        """A pod's triples from the records its pointer leads to."""
        return await threads.run_sync(_parse, address, await self._download(address, pointer))

    async def _download(self, address: str, pointer: Pointer) -> list[bytes]:
        """A pod's chunks, in order, from the records its pointer leads to (joined and
        parsed in a thread: a chunk may hold megabytes)."""
        if not is_address(pointer.target) or pointer.target != pointer.target.lower():
            raise NetworkError(f"Pod {address}'s pointer has a malformed target")
        first = await self._net(self._network.get_scratchpad, pointer.target)
        if first is None:
            raise NetworkError(f"Pod {address}'s first chunk {pointer.target} is missing")
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
            results = await gather([functools.partial(
                self._net, self._network.get_scratchpad, listed[p]) for p in wanted])
            fresh = []
            for position, result in zip(wanted, results, strict=True):
                if isinstance(result, Exception):
                    raise NetworkError(f"Pod {address}'s chunk {listed[position]}: {result}")
                if result is None:
                    raise NetworkError(f"Pod {address}'s chunk {listed[position]} is missing")
                datas[position] = result.data
                fresh.append(result.data)
        try:
            chunks.check_sequence(positions, MAX_REMOTE_CHUNKS)
        except InvalidInput as exc:
            raise NetworkError(f"Pod {address} has a malformed chunk index: {exc}") from None
        return [datas[p] for p in sorted(datas)]

    # -- upload ------------------------------------------------------------------------

    def _keys_for(self, addresses: Sequence[str]) -> dict[str, Ed25519PrivateKey]:
        """The signing keys of own addresses (sync; under the lock: it may record indexes)."""
        known = self._graph.key_indexes_of(addresses)
        found: dict[str, int] = {}
        out = {}
        for address in addresses:
            index = known.get(address)
            if index is None:
                index = self._keys.index_of(address)
                if index is None:
                    raise InvalidInput(f"No key of this user signs {address}")
                found[address] = index
            out[address] = self._keys.key(index)
        if found:
            self._graph.apply(writes.record_key_indexes(found))
        return out

    def _plan(self, address: str) -> _Plan:
        """Snapshot a pod and fix its chunks, allocating scratchpads if it needs more."""
        while True:
            snap = self._graph.snapshot(address)
            head = chunks.header(now_stored())
            count = chunks.layout(snap.statements, self._scratchpad_limit, len(head))
            missing = count - len(snap.scratchpads)
            if missing <= 0:
                break
            new = []
            for _ in range(missing):
                index = self._keys.allocate()
                new.append((self._keys.address(index), index))
            # Registered in the config pod, so another device knows them (and they are
            # overwritten if the pod is removed). For the config pod itself this changes
            # the snapshot, hence the loop.
            self._graph.apply(writes.add_scratchpads(self._config, address, new, now_stored()))
        pads = snap.scratchpads[:count]
        rendered = chunks.render(snap.statements, head, pads, self._scratchpad_limit)
        return _Plan(address, snap.seq, rendered, pads, snap.pointer_counter,
                     snap.scratchpad_counters, self._keys_for([address, *pads]))

    async def _send(self, plan: _Plan) -> _Written:
        """Scratchpads first, then the pointer: a reader never follows a pointer to data
        that is not there yet."""
        written = _Written()

        def writer(position: int) -> Callable[[], Awaitable[int]]:
            pad = plan.scratchpads[position]
            return lambda: self._put_scratchpad(plan.keys[pad], pad, plan.chunks[position],
                                                plan.scratchpad_counters.get(pad))

        results = await gather([writer(i) for i in range(len(plan.chunks))])
        for pad, result in zip(plan.scratchpads, results, strict=True):
            if isinstance(result, Exception):
                written.error = written.error or _reason(result)
            else:
                written.scratchpad_counters[pad] = result
        if written.error is None:
            try:
                written.pointer_counter = await self._put_pointer(
                    plan.keys[plan.address], plan.address, plan.scratchpads[0],
                    plan.pointer_counter)
            except (ColonyError, OSError) as exc:
                written.error = _reason(exc)
        return written

    async def _upload_one(self, address: str, raise_invalid: bool = False) -> str | None:
        """Upload one pod; None on success, else the reason it failed."""
        try:
            plan = await self._write(self._plan, address)
        except InvalidInput as exc:
            if raise_invalid:
                raise
            return str(exc)
        written = await self._send(plan)
        await self._write(self._graph.apply, writes.finish_upload(
            address, plan.seq, written.pointer_counter, written.scratchpad_counters))
        return written.error

    async def _remove_one(self, address: str) -> str | None:
        """Overwrite a removed pod's records with empty content; None on success."""
        def plan() -> tuple[list[str], int | None, dict[str, int], dict[str, Any]]:
            pads = self._graph.removed_scratchpads(address)
            return (pads, self._graph.pointer_counter(address),
                    self._graph.scratchpad_counters(pads),
                    self._keys_for([address, *pads]))

        try:
            pads, pointer_counter, counters, keys = await self._write(plan)
        except InvalidInput as exc:
            return str(exc)
        written = _Written()

        async def blank(pad: str) -> None:
            known = counters.get(pad)
            if known is None and await self._net(self._network.get_scratchpad, pad) is None:
                return  # never published: nothing to overwrite
            written.scratchpad_counters[pad] = await self._put_scratchpad(
                keys[pad], pad, b"", known)

        results = await gather([functools.partial(blank, p) for p in pads])
        errors = [_reason(r) for r in results if isinstance(r, Exception)]
        if not errors:
            try:
                exists = pointer_counter is not None or await self._net(
                    self._network.get_pointer, address) is not None
                if exists:
                    target = pads[0] if pads else address
                    written.pointer_counter = await self._put_pointer(
                        keys[address], address, target, pointer_counter)
            except (ColonyError, OSError) as exc:
                errors.append(_reason(exc))
        await self._write(self._graph.apply, writes.finish_removal(
            address, written.pointer_counter, written.scratchpad_counters, not errors))
        return errors[0] if errors else None

    async def upload_all(self, progress: ProgressReporter) -> dict[str, Any]:
        seqs = await self._read(self._graph.edit_seqs)
        removed = await self._read(self._graph.removed)
        pods = sorted(a for a in seqs if a != self._config)
        tracker = _Progress(progress, "Uploaded")
        tracker.grow(len(pods) + len(removed) + 1)
        failed: dict[str, str] = {}
        uploaded: list[str] = []
        removed_ok: list[str] = []

        async def upload(address: str) -> None:
            error = await self._upload_one(address)
            if error is None:
                uploaded.append(address)
            else:
                failed[address] = error
            tracker.step()

        async def remove(address: str) -> None:
            error = await self._remove_one(address)
            if error is None:
                removed_ok.append(address)
            else:
                failed[address] = error
            tracker.step()

        for outcome in await gather([*(functools.partial(upload, a) for a in pods),
                                           *(functools.partial(remove, a) for a in removed)],
                                          self._pods_at_once()):
            if isinstance(outcome, Exception):
                raise outcome  # not a network failure (those are in `failed`): a bug
        # The config pod goes last: it registers the scratchpads the others just allocated,
        # and never lists a pod whose records are not written yet.
        if self._config in await self._read(self._graph.edit_seqs):
            try:
                await self._merge_newer_config()
            except ColonyError as exc:
                failed[self._config] = _reason(exc)
                tracker.step()
            else:
                await upload(self._config)
        else:
            tracker.step()
        if failed:
            raise UploadFailed(failed, sorted(uploaded))
        return {"status": "success", "message": "All pods uploaded successfully",
                "timestamp": now_stored(), "pods_uploaded": len(uploaded),
                "pods_removed": len(removed_ok)}

    async def upload_pod(self, pod: str, progress: ProgressReporter) -> dict[str, Any]:
        def resolve() -> str:
            address = self._resolve(pod)
            if address != self._config and address not in self._graph.own_pods():
                raise InvalidInput(f"Pod {address} is not one of your pods; it cannot be "
                                   "uploaded")
            return address

        address = await self._read(resolve)
        progress(0, 1, f"Uploading pod {address}")
        error = await self._upload_one(address, raise_invalid=True)
        if error is not None:
            raise UploadFailed({address: error}, [])
        progress(1, 1, f"Uploaded pod {address}")
        return {"status": "success", "address": address,
                "message": f"Uploaded pod {address} successfully", "timestamp": now_stored()}

    # -- refresh -----------------------------------------------------------------------

    async def _adopt_keys(self, addresses: set[str]) -> None:
        """Mark the key indexes the registry reveals as used, so this device can sign for
        pods made on another one and never hands out their indexes again."""
        def work() -> None:
            known = self._graph.key_indexes_of(addresses)
            found = {}
            for address in sorted(addresses - set(known)):
                index = self._keys.index_of(address)
                if index is not None:
                    self._keys.mark_used(index)
                    found[address] = index
            if found:
                self._graph.apply(writes.record_key_indexes(found))

        await self._write(work)

    async def _merge_newer_config(self) -> None:
        """Fold a newer network copy of the config pod into ours before overwriting it.

        Another device with the same mnemonic may have registered pods since we last
        looked; uploading our copy as it is would drop them from the registry.
        """
        pointer = await self._net(self._network.get_pointer, self._config)
        if pointer is None:
            return
        seen = await self._read(self._graph.pointer_counter, self._config)
        if seen is not None and pointer.counter <= seen:
            return
        triples = await self._fetch(self._config, pointer)
        owned = await self._write(self._load_config, triples, pointer.counter)
        await self._adopt_keys(owned)

    async def _refresh_pod(self, address: str, depth: int | None, held: HeldCopy
                           ) -> tuple[str, str]:
        """(outcome, reason): refreshed, unchanged, kept, or skipped with a reason. `held`
        was read before the download: `_replace` checks for local changes again."""
        try:
            pointer = await self._net(self._network.get_pointer, address)
        except ColonyError as exc:
            return "skipped", _reason(exc)
        if pointer is None:
            return "skipped", "No pod at this address on the network"
        seen = held.pointer_counter
        if held.has_data and seen is not None and pointer.counter <= seen:
            return "unchanged", ""
        if held.pending:
            return "kept", KEPT
        try:
            downloaded = await self._download(address, pointer)
            return await self._replace(address, downloaded, pointer.counter, depth)
        except ColonyError as exc:
            return "skipped", _reason(exc)

    async def _refresh_pods(self, addresses: Sequence[str], depth: int | None,
                            tracker: _Progress) -> list[tuple[str, str]]:
        """`_refresh_pod` of each, all at once; the depth of each unchanged pod is set
        afterwards in one write."""
        held = await self._read(self._graph.held_copies, addresses)

        async def one(address: str) -> tuple[str, str]:
            try:
                outcome = await self._refresh_pod(address, depth, held[address])
            except Exception as exc:  # a bug or a store failure: that pod only
                outcome = "skipped", _reason(exc)
            tracker.step()
            return outcome

        results = [o if not isinstance(o, Exception) else ("skipped", _reason(o))
                   for o in await gather([functools.partial(one, a) for a in addresses],
                                               self._pods_at_once())]
        if depth is not None:
            unchanged = {a: depth for a, (outcome, _) in zip(addresses, results, strict=True)
                         if outcome == "unchanged"}
            if unchanged:
                try:
                    await self._write(self._set_depths, unchanged)
                except Exception as exc:  # as if each had failed on its own
                    results = [("skipped", _reason(exc)) if a in unchanged else r
                               for a, r in zip(addresses, results, strict=True)]
        return results

    async def _replace(self, address: str, downloaded: list[bytes], counter: int,
                       depth: int | None) -> tuple[str, str]:
        """Parse and store a downloaded pod (GraphStore.replace_pod), grouped: whoever
        gets the lock does it for every pod waiting for it, in one store transaction, so
        a refresh's work under the lock does not grow one transaction (nor one thread
        hop) per pod. Each pod is still checked for local changes under the lock, in the
        transaction that would replace it. The outcome as `_refresh_pod` gives it."""
        item = _Replace(address, downloaded, counter, depth)
        await self._replacing.run(item)
        if item.error is not None:
            raise item.error
        return item.outcome

    def _replace_batch(self, batch: list[_Replace]) -> None:
        """(In a thread, under the lock.) Parse each pod, then store those with something
        to store in one transaction; if that fails, pod by pod, so that one bad pod does
        not fail the others. A pod left without an outcome fails (`Batches`)."""
        ready: list[tuple[_Replace, PodData]] = []
        for item in batch:
            try:
                data = _pod_data(item.address, item.chunks)
            except Exception as exc:  # that pod only
                item.error, item.done = exc, True
                continue
            if not data.count and item.depth is not None:
                item.outcome, item.done = ("skipped", "The pod was removed by its owner"), True
                continue
            ready.append((item, data))
        if not ready:
            return
        try:
            results = self._replace_pods(
                [Replacement(r.address, data, r.counter, r.depth) for r, data in ready])
        except Exception as exc:
            if len(ready) == 1:
                ready[0][0].error = exc
                return
            results = []
            for item, data in ready:
                try:
                    results += self._replace_pods(
                        [Replacement(item.address, data, item.counter, item.depth)])
                except Exception as one:
                    item.error, item.done = one, True
                    results.append(False)
        for (item, _), replaced in zip(ready, results, strict=True):
            if item.error is None:
                item.outcome = ("refreshed", "") if replaced else ("kept", KEPT)
            item.done = True

    def _replace_pods(self, pods: list[Replacement]) -> list[bool]:
        graph = self._graph
        pending = set(graph.edit_seqs([p.address for p in pods]))
        known = graph.depths([p.address for p in pods
                              if p.depth is not None and p.address not in pending])
        write, stored = writes.replace_pods(graph.config, pods, pending=pending,
                                            known_depths=known, timestamp=now_stored())
        graph.apply(write)
        return stored

    def _set_depths(self, depths: dict[str, int]) -> None:
        self._graph.apply(writes.set_depths(self._config, depths,
                                            known=self._graph.depths(depths),
                                            timestamp=now_stored()))

    def _load_config(self, remote: list[Any], counter: int) -> set[str]:
        graph = self._graph
        write, owned = writes.load_config(
            graph.config, remote, counter, now_stored(), local=graph.triples(graph.config),
            pending=set(graph.edit_seqs()), removed=set(graph.removed()))
        graph.apply(write)
        return owned

    async def _refresh_own(self, tracker: _Progress) -> dict[str, Any] | None:
        """The refresh_cache work; None if the user has nothing on the network yet."""
        tracker.grow(1)
        pointer = await self._net(self._network.get_pointer, self._config)
        if pointer is None:
            tracker.step()
            return None
        seen = await self._read(self._graph.pointer_counter, self._config)
        refreshed = 0
        unchanged = 0
        if seen is None or pointer.counter > seen:
            triples = await self._fetch(self._config, pointer)
            owned = await self._write(self._load_config, triples, pointer.counter)
            refreshed += 1
        else:
            owned = await self._read(self._graph.own_addresses)
            unchanged += 1
        await self._adopt_keys(owned)
        tracker.step()
        own = await self._read(self._graph.own_pods)
        tracker.grow(len(own))
        kept: list[str] = []
        skipped: list[dict[str, str]] = []
        results = await self._refresh_pods(own, None, tracker)
        for address, (outcome, reason) in zip(own, results, strict=True):
            if outcome == "refreshed":
                refreshed += 1
            elif outcome == "unchanged":
                unchanged += 1
            elif outcome == "kept":
                kept.append(address)
            else:
                skipped.append({"address": address, "reason": reason})
        return {"pods_refreshed": refreshed, "pods_unchanged": unchanged,
                "pods_kept": sorted(kept), "skipped": skipped}

    async def refresh_cache(self, progress: ProgressReporter) -> dict[str, Any]:
        tracker = _Progress(progress, "Refreshed")
        stats = await self._refresh_own(tracker)
        if stats is None:
            return {"status": "success", "message": "Cache refreshed successfully",
                    "timestamp": now_stored(), "pods_refreshed": 0, "pods_unchanged": 0,
                    "pods_kept": [], "skipped": []}
        return {"status": "success", "message": "Cache refreshed successfully",
                "timestamp": now_stored(), **stats}

    async def refresh_ref(self, depth: int, progress: ProgressReporter) -> dict[str, Any]:
        if isinstance(depth, bool) or not isinstance(depth, int) or depth < 0:
            raise InvalidInput("depth must be a non-negative integer")
        tracker = _Progress(progress, "Refreshed")
        stats = await self._refresh_own(tracker) or {
            "pods_refreshed": 0, "pods_unchanged": 0, "pods_kept": [], "skipped": []}
        refreshed = stats["pods_refreshed"]
        unchanged = stats["pods_unchanged"]
        kept: list[str] = list(stats["pods_kept"])
        skipped: list[dict[str, str]] = list(stats["skipped"])
        frontier = await self._read(self._graph.own_pods)
        visited = {self._config, *frontier}
        generation = 0
        reached = 0
        bound = depth if depth > 0 else math.inf
        while frontier and generation < bound:
            generation += 1
            following: list[str] = []
            for raw in await self._read(self._graph.refs_of, frontier):
                if not is_address(raw) or not raw.startswith("ant://") or raw != raw.lower():
                    if not any(s["address"] == raw for s in skipped):
                        skipped.append({"address": raw[:300], "reason": "Malformed reference"})
                    continue
                address = normalize_address(raw)
                if address not in visited:
                    visited.add(address)
                    following.append(address)
            if not following:
                break
            tracker.grow(len(following))
            results = await self._refresh_pods(following, generation, tracker)
            frontier = []
            for address, (outcome, reason) in zip(following, results, strict=True):
                if outcome == "skipped":
                    skipped.append({"address": address, "reason": reason})
                    continue
                frontier.append(address)
                reached = generation
                if outcome == "refreshed":
                    refreshed += 1
                elif outcome == "unchanged":
                    unchanged += 1
                else:
                    kept.append(address)
        return {"status": "success", "message": "All pods refreshed successfully",
                "timestamp": now_stored(), "pods_refreshed": refreshed, "pods_unchanged": unchanged,
                "pods_kept": sorted(kept), "depth_reached": reached, "skipped": skipped}


def _unstored(item: _Replace, exc: Exception) -> Exception:
    return NetworkError(f"The pod could not be stored: {exc}")


def _parse(address: str, downloaded: list[bytes]) -> list[Any]:
    """(Blocking.) The triples of a downloaded pod."""
    try:
        return parse_statements(chunks.join(downloaded))
    except (SyntaxError, ValueError) as exc:
        raise _unparsable(address, exc) from None


def _pod_data(address: str, downloaded: list[bytes]) -> PodData:
    """(Blocking.) A downloaded pod, ready to store."""
    try:
        return PodData.parse(chunks.join(downloaded))
    except (SyntaxError, ValueError) as exc:
        raise _unparsable(address, exc) from None


def _unparsable(address: str, exc: Exception) -> NetworkError:
    return NetworkError(f"Pod {address} holds data that does not parse: {str(exc)[:200]}")


def _reason(exc: BaseException) -> str:
    text = str(exc) or type(exc).__name__
    return text[:500]
