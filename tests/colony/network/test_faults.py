"""Injected network failures as configuration: `network.failure_rate`, the operations it
applies to and its seed, on the real local network directory."""

from __future__ import annotations

from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from colony_actor.colony.errors import NetworkError
from colony_actor.colony.network.base import Pointer, Scratchpad, address_of
from colony_actor.colony.network.faults import FaultInjector, parse_operations
from colony_actor.service import config, wiring
from tests.colony.conftest import local_network

TARGET = "ab" * 32


def key_for(n: int) -> Ed25519PrivateKey:
    return Ed25519PrivateKey.from_private_bytes(bytes([n + 1]) * 32)


async def test_a_named_operation_fails_and_the_others_work(tmp_path: Path) -> None:
    net = local_network(tmp_path / "net",
                        faults=FaultInjector(1.0, parse_operations("put_pointer"), seed=0))
    key = key_for(0)
    await net.put_scratchpad(Scratchpad.signed(key, b"data", 1))
    with pytest.raises(NetworkError, match="Injected failure of put_pointer"):
        await net.put_pointer(Pointer.signed(key, TARGET, 1))
    assert not (net.directory / "pointers" / address_of(key)).exists()
    assert await net.get_pointer(address_of(key)) is None
    scratchpad = await net.get_scratchpad(address_of(key))
    assert scratchpad is not None and scratchpad.data == b"data"
    assert net.faults is not None and net.faults.injected == 1


async def outcomes(directory: Path, seed: int, calls: int = 60) -> list[bool]:
    """Which of `calls` pointer reads failed, at a rate of one half."""
    net = local_network(directory, faults=FaultInjector(0.5, seed=seed))
    failed = []
    for n in range(calls):
        try:
            await net.get_pointer(address_of(key_for(n % 7)))
        except NetworkError:
            failed.append(True)
        else:
            failed.append(False)
    return failed


async def test_the_same_seed_fails_the_same_calls(tmp_path: Path) -> None:
    first = await outcomes(tmp_path / "a", seed=7)
    assert first == await outcomes(tmp_path / "b", seed=7)
    assert first != await outcomes(tmp_path / "c", seed=8)
    assert 10 < sum(first) < 50  # about one half


def test_the_settings_build_the_injector() -> None:
    settings = config.load(env={
        "COLONY_ACTOR_NETWORK_FAILURE_RATE": "0.25",
        "COLONY_ACTOR_NETWORK_FAIL_OPERATIONS": "put_pointer, get_scratchpad",
        "COLONY_ACTOR_NETWORK_FAILURE_SEED": "42"})
    injector = wiring.network_faults(settings)
    assert injector is not None
    assert (injector.rate, injector.operations, injector.seed) == (
        0.25, {"put_pointer", "get_scratchpad"}, 42)
    assert wiring.network_faults(config.load(env={})) is None
    everything = config.load(env={"COLONY_ACTOR_NETWORK_FAILURE_RATE": "1"})
    injector = wiring.network_faults(everything)
    assert injector is not None and len(injector.operations) == 4


@pytest.mark.parametrize(("env", "fragment"), [
    ({"COLONY_ACTOR_NETWORK_FAILURE_RATE": "1.5"}, "network.failure_rate"),
    ({"COLONY_ACTOR_NETWORK_FAILURE_RATE": "-0.1"}, "network.failure_rate"),
    ({"COLONY_ACTOR_NETWORK_FAIL_OPERATIONS": "put_pointer,delete"}, "delete"),
    ({"COLONY_ACTOR_NETWORK_FAILURE_SEED": "x"}, "network.failure_seed"),
])
def test_bad_fault_settings_are_named(env: dict[str, str], fragment: str) -> None:
    with pytest.raises(config.ConfigError, match=fragment.replace(".", r"\.")):
        config.load(env=env)
