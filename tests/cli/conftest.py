from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.e2e.daemon import Daemon


@pytest.fixture(scope="module")
def daemon(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Daemon]:
    """One real daemon for a module's cases; the cases leave no job running."""
    root = tmp_path_factory.mktemp("cli")
    started = Daemon(root / "data", root / "network").start()
    yield started
    started.stop()
