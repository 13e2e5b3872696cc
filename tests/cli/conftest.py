from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.e2e.daemon import Daemon


@pytest.fixture(scope="module")
def daemon(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Daemon]:
    """One real daemon for a module's cases, its network slowed so that a job of a few
    pods runs long enough to be interrupted; the cases leave no job running."""
    root = tmp_path_factory.mktemp("cli")
    started = Daemon(root / "data", root / "network",
                     env={"COLONY_ACTOR_NETWORK_LATENCY_MS": "100"}).start()
    yield started
    started.stop()
