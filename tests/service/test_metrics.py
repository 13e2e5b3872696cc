"""The metrics the wiring feeds: job durations by outcome, network calls by operation and
outcome (a real local network directory behind the observing wrapper), and the README's
list naming every series the registry holds."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from colony_actor.colony.errors import NetworkError, StaleCounter
from colony_actor.colony.network.base import Pointer, Scratchpad
from colony_actor.jobs import lifecycle
from colony_actor.jobs.errors import FailureKind
from colony_actor.jobs.lifecycle import Event
from colony_actor.service.metrics import Metrics
from colony_actor.service.observed_network import ObservedNetwork
from tests.colony.conftest import local_network

README = Path(__file__).resolve().parents[2] / "README.md"
T0 = datetime(2026, 1, 1, tzinfo=UTC)


def value(metrics: Metrics, name: str, **labels: str) -> float | None:
    return metrics.registry.get_sample_value(name, labels)


def test_job_duration_by_outcome() -> None:
    metrics = Metrics()
    job = lifecycle.new_job("a", "uploadall", {}, "started", T0)
    running = lifecycle.apply(job, Event.START, T0 + timedelta(seconds=1))
    metrics.observe_job(running)  # not finished: nothing observed
    metrics.observe_job(lifecycle.apply(running, Event.COMPLETE, T0 + timedelta(seconds=3)))
    metrics.observe_job(lifecycle.apply(running, Event.FAIL, T0 + timedelta(seconds=2),
                                        error="stopped", error_kind=FailureKind.INTERRUPTED))
    # Cancelled before it started: timed from its creation.
    metrics.observe_job(lifecycle.apply(job, Event.CANCEL, T0 + timedelta(seconds=4)))

    seconds = "colony_job_duration_seconds"
    assert value(metrics, f"{seconds}_count", job_type="uploadall", outcome="completed") == 1
    assert value(metrics, f"{seconds}_sum", job_type="uploadall", outcome="completed") == 2
    assert value(metrics, f"{seconds}_sum", job_type="uploadall", outcome="interrupted") == 1
    assert value(metrics, f"{seconds}_sum", job_type="uploadall", outcome="cancelled") == 4
    assert value(metrics, f"{seconds}_count", job_type="uploadall", outcome="failed") is None
    assert value(metrics, "colony_jobs_finished_total", job_type="uploadall",
                 status="failed") == 1


async def test_network_calls_by_operation_and_outcome(tmp_path: Path) -> None:
    metrics = Metrics()
    local = local_network(tmp_path)
    network = ObservedNetwork(local, metrics)
    key = Ed25519PrivateKey.generate()
    pad = Scratchpad.signed(key, b"data", 1)

    assert await network.get_scratchpad(pad.address) is None
    await network.put_scratchpad(pad)
    assert await network.get_scratchpad(pad.address) == pad
    with pytest.raises(StaleCounter):
        await network.put_scratchpad(pad)
    local.fail_all = True
    with pytest.raises(NetworkError):
        await network.get_pointer(pad.address)
    local.fail_all = False
    await network.put_pointer(Pointer.signed(key, pad.address, 1))

    def count(operation: str, outcome: str) -> float | None:
        return value(metrics, "colony_network_operations_total",
                     operation=operation, outcome=outcome)

    assert count("get_scratchpad", "absent") == 1
    assert count("get_scratchpad", "found") == 1
    assert count("put_scratchpad", "stored") == 1
    assert count("put_scratchpad", "stale_counter") == 1
    assert count("get_pointer", "error") == 1
    assert count("put_pointer", "stored") == 1
    assert value(metrics, "colony_network_operation_seconds_count",
                 operation="put_scratchpad", outcome="stored") == 1


def test_the_readme_lists_every_series() -> None:
    listed = README.read_text()
    names = {family.name for family in Metrics().registry.collect()}
    ours = {name for name in names if name.startswith("colony_")}
    assert len(ours) >= 15
    missing = [name for name in sorted(ours)
               if not re.search(rf"`{name}(_total)?[{{`]", listed)]
    assert not missing, f"README's Metrics list lacks {missing}"
