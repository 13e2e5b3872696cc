"""Builders shared by the HTTP and end-to-end tests: real parts, small sizes."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import trio
from quart_trio import QuartTrio

from colony_actor.api.app import create_app
from colony_actor.colony.facade import Colony
from colony_actor.colony.keys.store import KeyStore
from colony_actor.colony.network.local import LocalNetwork
from colony_actor.jobs.runner import JobRunner, RunnerSettings
from colony_actor.service import config
from colony_actor.service.metrics import Metrics
from colony_actor.service.services import Services
from colony_actor.service.tokens import TokenAuthority

PASSWORD = "correct horse battery staple"
MNEMONIC = ("abandon abandon abandon abandon abandon abandon abandon abandon abandon "
            "abandon abandon about")
SECRET = b"s" * 32


@dataclass
class Harness:
    app: QuartTrio
    services: Services
    network: LocalNetwork
    token: str

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}


def settings_for(data_dir: Path, network_dir: Path, **sections: dict[str, Any]) -> config.Settings:
    settings = config.load(env={}, overrides={"storage.data_dir": str(data_dir),
                                              "network.dir": str(network_dir)})
    for name, values in sections.items():
        section = getattr(settings, name)
        settings = dataclasses.replace(settings, **{name: dataclasses.replace(section, **values)})
    return settings


async def build(nursery: trio.Nursery, data_dir: Path, network_dir: Path, *,
                mnemonic: str | None = MNEMONIC, latency_ms: float = 0,
                **sections: dict[str, Any]) -> Harness:
    settings = settings_for(data_dir, network_dir, **sections)
    for directory in (data_dir, network_dir):
        await trio.to_thread.run_sync(lambda d=directory: d.mkdir(parents=True, exist_ok=True))
    if KeyStore.exists(data_dir):
        keys = await trio.to_thread.run_sync(KeyStore.open, data_dir, PASSWORD)
    else:
        keys = await trio.to_thread.run_sync(KeyStore.create, data_dir, PASSWORD, mnemonic)
    network = LocalNetwork(network_dir, latency_ms=latency_ms)
    colony = await Colony.open(data_dir, network, keys,
                               scratchpad_limit=settings.network.scratchpad_limit,
                               concurrency=settings.network.concurrency,
                               search_timeout=settings.search.timeout_seconds,
                               claim_timeout=settings.network.claim_timeout_seconds)
    runner = JobRunner(RunnerSettings(queue_size=settings.jobs.queue_size,
                                      retention_seconds=settings.jobs.retention_seconds,
                                      max_retained=settings.jobs.max_retained,
                                      timeouts=dict(settings.jobs.timeout_seconds)))
    await nursery.start(runner.run)
    auth = TokenAuthority(SECRET, PASSWORD, settings.auth.token_ttl_seconds)
    services = Services(runner=runner, colony=colony, auth=auth, settings=settings,
                        metrics=Metrics())
    return Harness(create_app(services), services, network, auth.issue())


async def wait_terminal(harness: Harness, client: Any, job_id: str) -> dict[str, Any]:
    while True:
        response = await client.get(f"/api/v1/jobs/{job_id}?wait=10", headers=harness.headers)
        assert response.status_code == 200
        job: dict[str, Any] = (await response.get_json())["job"]
        if job["status"] in {"completed", "failed", "cancelled"}:
            return job
