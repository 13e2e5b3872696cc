"""Builders shared by the HTTP and end-to-end tests: real parts, small sizes."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import trio
from quart_trio import QuartTrio

from colony_actor import locations
from colony_actor.api.app import create_app
from colony_actor.colony.keys.store import KeyStore
from colony_actor.service import config, identity, wiring
from colony_actor.service.services import Services
from colony_actor.service.tokens import LoginThrottle, TokenAuthority

PASSWORD = "correct horse battery staple"
MNEMONIC = ("abandon abandon abandon abandon abandon abandon abandon abandon abandon "
            "abandon abandon about")
SECRET = b"s" * 32


@dataclass
class Harness:
    app: QuartTrio
    services: Services
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
    """The daemon's parts as `service/wiring.py` builds them, running in `nursery` (closed
    when it ends), and the app around them: everything but the socket."""
    network = {"latency_ms": latency_ms, **sections.pop("network", {})}
    settings = settings_for(data_dir, network_dir, network=network, **sections)
    await trio.to_thread.run_sync(wiring.prepare_dirs, settings)
    env = {locations.MNEMONIC_ENV: mnemonic} if mnemonic else {}
    keys = await trio.to_thread.run_sync(identity.open_key_store, data_dir, PASSWORD, env)
    auth = TokenAuthority(SECRET, PASSWORD, settings.auth.token_ttl_seconds,
                          throttle=LoginThrottle.of(settings.auth))
    services: Services = await nursery.start(_run, settings, keys, auth)
    return Harness(create_app(services), services, auth.issue())


async def _run(settings: config.Settings, keys: KeyStore, auth: TokenAuthority, *,
               task_status: trio.TaskStatus[Services] = trio.TASK_STATUS_IGNORED) -> None:
    async with wiring.opened(settings, keys, auth) as services, \
            trio.open_nursery() as nursery:
        await wiring.start(services, nursery)
        wiring.listening(services, nursery)
        task_status.started(services)


async def wait_terminal(harness: Harness, client: Any, job_id: str) -> dict[str, Any]:
    while True:
        response = await client.get(f"/api/v1/jobs/{job_id}?wait=10", headers=harness.headers)
        assert response.status_code == 200
        job: dict[str, Any] = (await response.get_json())["job"]
        if job["status"] in {"completed", "failed", "cancelled"}:
            return job
