from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest
import trio

from tests.support import Harness, build


@pytest.fixture
async def harness(nursery: trio.Nursery, tmp_path: Path) -> AsyncIterator[Harness]:
    yield await build(nursery, tmp_path / "data", tmp_path / "network")
