"""The pod operations and sync: the async face of the Colony domain.

`Colony` is what the rest of the daemon calls: quick pod edits and reads, and the long
operations (refresh_cache, refresh_ref, upload_all, upload_pod, search, get_subject_data).
Every blocking store call runs in `trio.to_thread.run_sync` through one CapacityLimiter.
It must never import jobs/ or api/, and never block the event loop.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from colony_actor.colony.keys import KeyStore
from colony_actor.colony.network.base import Network

# (done, total, message): pods handled out of pods to handle, and the current step.
ProgressReporter = Callable[[int, int, str], None]


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


class Colony:
    @classmethod
    async def open(cls, data_dir: Path, network: Network, keys: KeyStore, *,
                   scratchpad_limit: int = 4 * 1024 * 1024, concurrency: int = 16,
                   search_timeout: float = 30.0) -> Colony:
        raise NotImplementedError

    async def aclose(self) -> None:
        raise NotImplementedError

    # quick edits and reads (never go through the job runner)
    async def list_pods(self) -> list[PodInfo]:
        raise NotImplementedError

    async def create_pod(self, name: str) -> PodInfo:
        raise NotImplementedError

    async def rename_pod(self, pod: str, name: str) -> PodInfo:
        raise NotImplementedError

    async def remove_pod(self, pod: str) -> None:
        raise NotImplementedError

    async def put_subject_data(self, pod: str, subject: str, jsonld: Any) -> dict[str, Any]:
        raise NotImplementedError

    async def add_pod_ref(self, pod: str, ref: str) -> None:
        raise NotImplementedError

    async def remove_pod_ref(self, pod: str, ref: str) -> None:
        raise NotImplementedError

    async def updates(self) -> dict[str, list[str]]:
        raise NotImplementedError

    # long operations (run as jobs)
    async def refresh_cache(self, progress: ProgressReporter) -> dict[str, Any]:
        raise NotImplementedError

    async def refresh_ref(self, depth: int, progress: ProgressReporter) -> dict[str, Any]:
        raise NotImplementedError

    async def upload_all(self, progress: ProgressReporter) -> dict[str, Any]:
        raise NotImplementedError

    async def upload_pod(self, pod: str, progress: ProgressReporter) -> dict[str, Any]:
        raise NotImplementedError

    async def search(self, query: Mapping[str, Any], progress: ProgressReporter) -> dict[str, Any]:
        raise NotImplementedError

    async def get_subject_data(self, subject: str) -> dict[str, Any]:
        raise NotImplementedError
