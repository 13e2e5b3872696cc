from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.e2e.daemon import Daemon


@pytest.fixture
def daemons(tmp_path: Path) -> Iterator[Callable[..., Daemon]]:
    started: list[Daemon] = []

    def launch(name: str = "a", network: str = "network", **kwargs: Any) -> Daemon:
        daemon = Daemon(tmp_path / name, tmp_path / network, **kwargs).start()
        started.append(daemon)
        return daemon

    yield launch
    for daemon in started:
        daemon.stop()
