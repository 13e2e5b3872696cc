"""The inventory marker: what the data directory held, and the warnings a start owes."""

from __future__ import annotations

from pathlib import Path

from colony_actor.service import inventory
from colony_actor.service.inventory import Inventory

DAY = 86400.0


def warned(before: Inventory | None, now: Inventory, at: float) -> list[str]:
    return [m.event for m in inventory.missing(before, now, store=Path("s"),
                                               journal=Path("j"), retention_seconds=DAY,
                                               at=at)]


def test_the_marker_round_trips_and_bad_ones_read_as_none(tmp_path: Path) -> None:
    assert inventory.read(tmp_path) is None
    inventory.write(tmp_path, Inventory(pods=2, jobs=5, written_at=1000.5))
    assert inventory.read(tmp_path) == Inventory(2, 5, 1000.5)
    for bad in (b"", b"[]", b'{"pods": "2", "jobs": 1, "written_at": 1}', b"\xff"):
        (tmp_path / inventory.INVENTORY_FILE).write_bytes(bad)
        assert inventory.read(tmp_path) is None


def test_what_went_missing() -> None:
    before = Inventory(pods=2, jobs=5, written_at=1000.0)
    assert warned(None, Inventory(0, 0, 2000.0), at=2000.0) == []
    assert warned(before, Inventory(2, 5, 2000.0), at=2000.0) == []
    assert warned(before, Inventory(0, 0, 2000.0), at=2000.0) == ["store_empty",
                                                                  "journal_empty"]
    # Jobs past their retention may have been evicted on purpose; pods never expire.
    assert warned(before, Inventory(0, 0, 1000.0 + 2 * DAY), at=1000.0 + 2 * DAY) == [
        "store_empty"]
    assert warned(Inventory(0, 0, 1000.0), Inventory(0, 0, 2000.0), at=2000.0) == []
