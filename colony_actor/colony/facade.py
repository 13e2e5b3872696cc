"""`Colony`: what the rest of the daemon calls, the async face of the Colony domain.

It composes the rooms: the store (store/, reached through `StoreAccess`), the full-text
index (fulltext/), search (search/), the network records and sync (sync/), the keys
(keys/). The quick pod edits and reads are here; each is one store transaction under the
write lock, resolved and checked in the same worker-thread call (pods.py), so an edit
made while a sync runs is never lost nor half-applied. The long operations
(refresh_cache, refresh_ref, upload_all, upload_pod, search) are delegated. It must never
import jobs/ or api/, never block the event loop, and never hold a default setting:
service/config.py has those.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any, Final

import trio

from colony_actor.colony import chunks, pods
from colony_actor.colony.errors import InvalidInput
from colony_actor.colony.fulltext.index import FullTextIndex, open_beside
from colony_actor.colony.fulltext.running import (
    CHILD_BUILD_GRAPHS,
    catching_up,
    checkpointing,
)
from colony_actor.colony.jsonld import SubjectData
from colony_actor.colony.jsonld import prepare as prepare_subject
from colony_actor.colony.keys.store import KeyStore
from colony_actor.colony.network.base import Network
from colony_actor.colony.pods import PodInfo
from colony_actor.colony.search.forms import SearchQuery, parse_query
from colony_actor.colony.search.process import QueryWorkers
from colony_actor.colony.search.run import subject_data
from colony_actor.colony.search.sandbox import Limits
from colony_actor.colony.search.searcher import Searcher
from colony_actor.colony.store import writes
from colony_actor.colony.store.access import StorageStatistics, StoreAccess
from colony_actor.colony.store.graph import GraphStore
from colony_actor.colony.store.poddata import serialize_lines
from colony_actor.colony.sync.configpod import ConfigPod
from colony_actor.colony.sync.progress import ProgressReporter
from colony_actor.colony.sync.records import Records
from colony_actor.colony.sync.refresh import PeerLimits, Refresher
from colony_actor.colony.sync.replacing import Replacer
from colony_actor.colony.sync.upload import Uploader
from colony_actor.colony.vocab import check_pod_name, normalize_address, normalize_subject
from colony_actor.runtime import threads
from colony_actor.runtime.timestamps import now_stored

MIN_SCRATCHPAD: Final = 1024
# The full-text index of the pods' literals, beside the store (rebuilt from it if lost).
FULLTEXT_FILE: Final = "fulltext.sqlite3"
# A search query of up to this many characters is parsed on the event loop (0.2 ms at
# most, measured: about 0.2 us a character of search text, 45 us at least).
PARSE_INLINE_CHARS: Final = 1024


class Colony:
    def __init__(self, graph: GraphStore, index: FullTextIndex | None, network: Network,
                 keys: KeyStore, *, scratchpad_limit: int, concurrency: int,
                 search_timeout: float, claim_timeout: float, peer_limits: PeerLimits,
                 query_limits: Limits, query_workers: int) -> None:
        # Use `Colony.open`.
        self._graph = graph
        self._index = index
        self._keys = keys
        self._scratchpad_limit = scratchpad_limit
        self._claim_timeout = claim_timeout
        self._access = StoreAccess(graph)
        self._records = Records(network, concurrency)
        config = ConfigPod(self._access, self._records, keys)
        self._refresher = Refresher(self._access, self._records, config,
                                    Replacer(self._access), peer_limits)
        self._uploader = Uploader(self._access, self._records, keys, config,
                                  scratchpad_limit)
        self._searcher = Searcher(graph, index, search_timeout,
                                  QueryWorkers(query_limits, query_workers),
                                  query_limits.cpu_seconds)

    @classmethod
    async def open(cls, data_dir: Path, network: Network, keys: KeyStore, *,
                   scratchpad_limit: int, concurrency: int, search_timeout: float,
                   claim_timeout: float, peer_limits: PeerLimits, query_limits: Limits,
                   query_workers: int) -> Colony:
        """The colony whose store and index are in `data_dir`. `scratchpad_limit`: the
        largest record written, in bytes; `concurrency`: network calls at once;
        `search_timeout`: seconds a search may run; `claim_timeout`: seconds creating a pod
        waits for the network to tell whether a fresh key is taken; `peer_limits`: how
        much of other people's data a refresh takes in; `query_limits` and
        `query_workers`: those of the processes advanced queries run in."""
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
            index = open_beside(Path(data_dir) / FULLTEXT_FILE, graph.store, graph.opened_seal)
            if index is not None:
                graph.follow(index)
            if not graph.pod_exists(graph.config):
                graph.apply(writes.init_config(graph.config, keys.address(1), now_stored()))
            return graph, index

        graph, index = await threads.run_sync(start)
        return cls(graph, index, network, keys, scratchpad_limit=scratchpad_limit,
                   concurrency=concurrency, search_timeout=search_timeout,
                   claim_timeout=claim_timeout, peer_limits=peer_limits,
                   query_limits=query_limits, query_workers=query_workers)

    @property
    def store(self) -> GraphStore:
        """The store, for tests and diagnostics: read it in a worker thread, and never
        write to it (writes go through the methods here, under their lock)."""
        return self._graph

    async def catch_up_index(self, child_from: int = CHILD_BUILD_GRAPHS) -> None:
        """Bring the full-text index in step with the store if it is behind (just created,
        or not sealed by a clean close), a batch of pods at a time in worker threads, each
        under the write lock so that edits go on meanwhile; searches wait for it. From
        `child_from` pods to read (and half the store), a child process builds the whole
        index first. Logs how far it got every few seconds. Run it once the daemon
        listens."""
        index = self._index
        if index is None or not index.behind:
            return
        await catching_up(self._access, index, child_from)

    @property
    def fulltext(self) -> FullTextIndex | None:
        """The full-text index (None when it could not be opened), for tests and
        diagnostics."""
        return self._index

    def storage(self) -> StorageStatistics:
        """The store's health: its fault if it has one, the reopens that healed it."""
        return self._access.statistics()

    async def watch_storage(self, *, task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED
                            ) -> None:
        """Heal the store by itself while a storage fault lasts, and checkpoint the
        full-text index's log every few seconds; runs until cancelled."""
        async with trio.open_nursery() as nursery:
            if self._index is not None:
                await nursery.start(checkpointing, self._index)
            await nursery.start(self._access.watch)
            task_status.started()

    @property
    def query_workers(self) -> QueryWorkers:
        """The query worker processes, for their `statistics()`."""
        return self._searcher.workers

    async def aclose(self) -> None:
        await self._searcher.aclose()
        await self._access.aclose()

    # -- quick edits and reads ---------------------------------------------------------

    async def list_pods(self) -> list[PodInfo]:
        """Own and referenced pods (not the configuration pod), own first, with depth."""
        rows = await self._access.read(self._graph.pod_rows)
        return [PodInfo.of(row) for row in rows]

    async def count_pods(self) -> int:
        """How many pods `list_pods` lists, without reading them."""
        return await self._access.read(self._graph.count_pods)

    async def create_pod(self, name: str) -> PodInfo:
        name = check_pod_name(name)
        pod_index = await self._unclaimed_index()
        scratch_index = await self._unclaimed_index()

        def work() -> PodInfo:
            address = self._keys.address(pod_index)
            self._graph.apply(writes.create_pod(
                self._graph.config, address, self._keys.address(scratch_index), pod_index,
                scratch_index, name, now_stored()))
            return pods.info(self._graph, address)

        return await self._access.write(work)

    async def _unclaimed_index(self) -> int:
        """A fresh key index whose address holds no record on the network.

        The same mnemonic on another device hands out the same indexes; a device that has
        not refreshed yet would otherwise reuse one and overwrite that device's pod.
        Offline, the index is taken as free: creating a pod must not need the network. A
        slow network counts as offline: the probe gives up after `claim_timeout` seconds,
        so a pod edit stays quick.
        """
        while True:
            try:
                index = await threads.run_sync(self._keys.allocate)
            except OSError as exc:  # the key store, beside the store, could not be saved
                raise self._graph.failed(exc) from None
            if not await self._records.claimed(self._keys.address(index), self._claim_timeout):
                return index

    async def rename_pod(self, pod: str, name: str) -> PodInfo:
        name = check_pod_name(name)

        def work() -> PodInfo:
            address = pods.resolve_editable(self._graph, pod)
            self._graph.apply(writes.rename_pod(address, name, now_stored()))
            return pods.info(self._graph, address)

        return await self._access.write(work)

    async def remove_pod(self, pod: str) -> None:
        def work() -> None:
            graph = self._graph
            address = pods.resolve(graph, pod)
            if address == graph.config:
                raise InvalidInput("The configuration pod cannot be removed")
            own = graph.is_own(address)
            graph.apply(writes.remove_pod(graph.config, address,
                                          graph.scratchpads(address) if own else None,
                                          now_stored()))

        await self._access.write(work)

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
            address = pods.resolve_editable(self._graph, pod)
            if data.subject.value == "ant://" + address:
                raise InvalidInput("A pod's own subject is kept by Colony; describe other "
                                   "subjects in it")
            self._graph.apply(writes.put_subject(address, data.subject, data.triples,
                                                 now_stored()))

        await self._access.write(work)
        return data.document

    async def add_pod_ref(self, pod: str, ref: str) -> None:
        await self._set_ref(pod, ref, present=True)

    async def remove_pod_ref(self, pod: str, ref: str) -> None:
        await self._set_ref(pod, ref, present=False)

    async def _set_ref(self, pod: str, ref: str, present: bool) -> None:
        target = normalize_address(ref)

        def work() -> None:
            address = pods.resolve_editable(self._graph, pod)
            if present and target == address:
                raise InvalidInput("A pod cannot reference itself")
            self._graph.apply(writes.set_ref(address, target, present, now_stored()))

        await self._access.write(work)

    async def updates(self) -> dict[str, list[str]]:
        def work() -> dict[str, list[str]]:
            return {"update": sorted(self._graph.edit_seqs()), "remove": self._graph.removed()}

        return await self._access.read(work)

    async def get_subject_data(self, subject: str) -> dict[str, Any]:
        node = normalize_subject(subject)
        # The store is looked up in the thread: a reopen may replace it meanwhile.
        return await self._access.read(lambda: subject_data(self._graph.store, node))

    # -- the long operations -----------------------------------------------------------

    async def check_search(self, query: Mapping[str, Any] | str) -> None:
        """InvalidInput for a search that would fail on its input: its form, parameters,
        and an advanced query's SPARQL (read by a parser in a worker process)."""
        await self._searcher.check(await self._parse(query))

    async def search(self, query: Mapping[str, Any] | str,
                     progress: ProgressReporter) -> dict[str, Any]:
        parsed = await self._parse(query)
        progress(0, 1, "Searching")
        out = await self._searcher.answer(parsed)
        progress(1, 1, f"Found {out['result_count']} results")
        return out

    async def _parse(self, query: Mapping[str, Any] | str) -> SearchQuery:
        # An advanced query's text goes through the lexer (up to 100,000 characters).
        return await threads.run_sized(_text_size(query), parse_query, query,
                                       inline_max=PARSE_INLINE_CHARS)

    async def upload_all(self, progress: ProgressReporter) -> dict[str, Any]:
        return await self._uploader.upload_all(progress)

    async def upload_pod(self, pod: str, progress: ProgressReporter) -> dict[str, Any]:
        return await self._uploader.upload_pod(pod, progress)

    async def refresh_cache(self, progress: ProgressReporter) -> dict[str, Any]:
        return await self._refresher.refresh_cache(progress)

    async def refresh_ref(self, depth: int, progress: ProgressReporter) -> dict[str, Any]:
        return await self._refresher.refresh_ref(depth, progress)


def _text_size(query: Mapping[str, Any] | str) -> int:
    """What parsing `query` reads: its text, or the text of its members (a member of
    another kind is refused by its type alone)."""
    if isinstance(query, str):
        return len(query)
    if isinstance(query, Mapping):
        return sum(len(v) for v in query.values() if isinstance(v, str))
    return 0
