"""upload_all and upload_pod: the pods with local changes, and the removed ones, to the
network.

A pod's upload is fixed under the write lock (its chunks and scratchpads: `Plan`), sent
without it (scratchpads first, then the pointer: a reader never follows a pointer to data
that is not there yet), then recorded under the lock again: the pod leaves the update list
only if it was not edited meanwhile. A removed pod's records are overwritten with empty
content. Pods go at once (a bounded number in flight); the configuration pod goes last,
after a newer network copy of it is folded in. The registry it publishes leaves out every
own pod whose records were never written (created while this upload ran, or whose first
upload failed): another device must never find a registered pod missing. The
configuration pod then stays queued, and a later upload registers them.
This module must never hold the write lock across network I/O.
"""

from __future__ import annotations

import functools
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from colony_actor.colony import chunks, pods
from colony_actor.colony.errors import ColonyError, InvalidInput, UploadFailed
from colony_actor.colony.keys.store import KeyStore
from colony_actor.colony.store import writes
from colony_actor.colony.store.access import StoreAccess
from colony_actor.colony.sync.configpod import ConfigPod
from colony_actor.colony.sync.outcome import reason
from colony_actor.colony.sync.progress import Progress, ProgressReporter
from colony_actor.colony.sync.records import Records
from colony_actor.colony.vocab import pod_node
from colony_actor.runtime.concurrency import gather
from colony_actor.runtime.timestamps import now_stored


@dataclass(frozen=True)
class Plan:
    """One pod's upload, fixed under the lock: its chunks and where they go."""
    address: str
    seq: int | None
    chunks: list[bytes]
    scratchpads: list[str]  # one per chunk; chunks[0] goes to scratchpads[0]
    pointer_counter: int | None
    scratchpad_counters: dict[str, int]
    keys: Mapping[str, Ed25519PrivateKey]


@dataclass
class _Written:
    pointer_counter: int | None = None
    scratchpad_counters: dict[str, int] = field(default_factory=dict)
    error: str | None = None


class Uploader:
    def __init__(self, access: StoreAccess, records: Records, keys: KeyStore,
                 config: ConfigPod, scratchpad_limit: int) -> None:
        self._access = access
        self._graph = access.graph
        self._records = records
        self._keys = keys
        self._config = config
        self._scratchpad_limit = scratchpad_limit

    async def upload_all(self, progress: ProgressReporter) -> dict[str, Any]:
        seqs = await self._access.read(self._graph.edit_seqs)
        removed = await self._access.read(self._graph.removed)
        queued = sorted(a for a in seqs if a != self._config.address)
        tracker = Progress(progress, "Uploaded")
        tracker.grow(len(queued) + len(removed) + 1)
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

        for outcome in await gather([*(functools.partial(upload, a) for a in queued),
                                     *(functools.partial(remove, a) for a in removed)],
                                    self._records.pods_at_once):
            if isinstance(outcome, Exception):
                raise outcome  # not a network failure (those are in `failed`): a bug
        # The config pod goes last: it registers the scratchpads the others just allocated,
        # and never lists a pod whose records are not written yet.
        if self._config.address in await self._access.read(self._graph.edit_seqs):
            try:
                await self._config.merge_newer()
            except ColonyError as exc:
                failed[self._config.address] = reason(exc)
                tracker.step()
            else:
                await upload(self._config.address)
        else:
            tracker.step()
        if failed:
            raise UploadFailed(failed, sorted(uploaded))
        return {"status": "success", "message": "All pods uploaded successfully",
                "timestamp": now_stored(), "pods_uploaded": len(uploaded),
                "pods_removed": len(removed_ok)}

    async def upload_pod(self, pod: str, progress: ProgressReporter) -> dict[str, Any]:
        address = await self._access.read(pods.resolve_uploadable, self._graph, pod)
        progress(0, 1, f"Uploading pod {address}")
        error = await self._upload_one(address, raise_invalid=True)
        if error is not None:
            raise UploadFailed({address: error}, [])
        progress(1, 1, f"Uploaded pod {address}")
        return {"status": "success", "address": address,
                "message": f"Uploaded pod {address} successfully", "timestamp": now_stored()}

    async def _upload_one(self, address: str, raise_invalid: bool = False) -> str | None:
        """Upload one pod; None on success, else the reason it failed."""
        try:
            plan = await self._access.write(self._plan, address)
        except InvalidInput as exc:
            if raise_invalid:
                raise
            return str(exc)
        written = await self._send(plan)
        await self._access.write(self._graph.apply, writes.finish_upload(
            address, plan.seq, written.pointer_counter, written.scratchpad_counters))
        return written.error

    def _plan(self, address: str) -> Plan:
        """(In a thread, under the lock.) Snapshot a pod and fix its chunks, allocating
        scratchpads if it needs more."""
        snap = self._graph.snapshot(address)
        while True:
            statements, seq = snap.statements, snap.seq
            if address == self._config.address:
                unpublished = self._unpublished()
                if unpublished:
                    statements = without_subjects(statements, unpublished)
                    seq = None  # stays queued: the registry still owes these pods
            head = chunks.header(now_stored())
            count = chunks.layout(statements, self._scratchpad_limit, len(head))
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
            self._graph.apply(writes.add_scratchpads(self._config.address, address, new,
                                                     now_stored()))
            snap = self._graph.snapshot(address, self._graph.with_header_again(
                address, snap.statements))
        pads = snap.scratchpads[:count]
        rendered = chunks.render(statements, head, pads, self._scratchpad_limit)
        return Plan(address, seq, rendered, pads, snap.pointer_counter,
                    snap.scratchpad_counters,
                    pods.signing_keys(self._graph, self._keys, [address, *pads]))

    def _unpublished(self) -> set[str]:
        """(In a thread, under the lock.) Own pods waiting for upload whose pointer was
        never written nor read: nothing of theirs is on the network yet. (A pod this
        upload just sent has its counter recorded by now.)"""
        held = self._graph.held_copies(self._graph.own_pods())
        return {address for address, copy in held.items()
                if copy.pending and copy.pointer_counter is None}

    async def _send(self, plan: Plan) -> _Written:
        """Scratchpads first, then the pointer: a reader never follows a pointer to data
        that is not there yet."""
        written = _Written()

        def writer(position: int) -> Callable[[], Awaitable[int]]:
            pad = plan.scratchpads[position]
            return lambda: self._records.put_scratchpad(
                plan.keys[pad], pad, plan.chunks[position], plan.scratchpad_counters.get(pad))

        results = await gather([writer(i) for i in range(len(plan.chunks))])
        for pad, result in zip(plan.scratchpads, results, strict=True):
            if isinstance(result, Exception):
                written.error = written.error or reason(result)
            else:
                written.scratchpad_counters[pad] = result
        if written.error is None:
            try:
                written.pointer_counter = await self._records.put_pointer(
                    plan.keys[plan.address], plan.address, plan.scratchpads[0],
                    plan.pointer_counter)
            except (ColonyError, OSError) as exc:
                written.error = reason(exc)
        return written

    async def _remove_one(self, address: str) -> str | None:
        """Overwrite a removed pod's records with empty content; None on success."""
        def plan() -> tuple[list[str], int | None, dict[str, int],
                            Mapping[str, Ed25519PrivateKey]]:
            pads = self._graph.removed_scratchpads(address)
            return (pads, self._graph.pointer_counter(address),
                    self._graph.scratchpad_counters(pads),
                    pods.signing_keys(self._graph, self._keys, [address, *pads]))

        try:
            pads, pointer_counter, counters, keys = await self._access.write(plan)
        except InvalidInput as exc:
            return str(exc)
        written = _Written()

        async def blank(pad: str) -> None:
            known = counters.get(pad)
            if known is None and await self._records.get_scratchpad(pad) is None:
                return  # never published: nothing to overwrite
            written.scratchpad_counters[pad] = await self._records.put_scratchpad(
                keys[pad], pad, b"", known)

        results = await gather([functools.partial(blank, p) for p in pads])
        errors = [reason(r) for r in results if isinstance(r, Exception)]
        if not errors:
            try:
                exists = pointer_counter is not None or await self._records.get_pointer(
                    address) is not None
                if exists:
                    target = pads[0] if pads else address
                    written.pointer_counter = await self._records.put_pointer(
                        keys[address], address, target, pointer_counter)
            except (ColonyError, OSError) as exc:
                errors.append(reason(exc))
        await self._access.write(self._graph.apply, writes.finish_removal(
            address, written.pointer_counter, written.scratchpad_counters, not errors))
        return errors[0] if errors else None


def without_subjects(statements: list[bytes], addresses: set[str]) -> list[bytes]:
    """The N-Triples lines whose subject is none of these pods (a line starts with its
    subject's term)."""
    left_out = tuple(f"{pod_node(a)} ".encode("ascii") for a in addresses)
    return [line for line in statements if not line.startswith(left_out)]
