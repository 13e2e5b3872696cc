"""What the data directory held, as of the last start and stop: a small marker file, so a
start notices data that went missing (a deleted or emptied store, a truncated journal)
and says so instead of starting empty without a word.

`<data_dir>/inventory.json` holds `{"pods": N, "jobs": M, "written_at": epoch seconds}`.
A missing or unreadable marker reads as None (nothing to compare with); writing it is
best effort and never fails the daemon. This module decides what to warn about; it never
logs, and never touches the store or the journal.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from pathlib import Path

from colony_actor.runtime.files import write_atomic

INVENTORY_FILE = "inventory.json"


@dataclass(frozen=True)
class Inventory:
    pods: int  # pods the store listed (the configuration pod aside)
    jobs: int  # jobs the journal held
    written_at: float  # seconds since the epoch


@dataclass(frozen=True)
class Missing:
    """Data the marker says was there, and is not: a warning for the log."""

    event: str
    fields: dict[str, object]


def read(data_dir: Path) -> Inventory | None:
    try:
        doc = json.loads((data_dir / INVENTORY_FILE).read_bytes())
        pods, jobs, written_at = doc["pods"], doc["jobs"], doc["written_at"]
    except (OSError, ValueError, TypeError, KeyError):
        return None
    if not (isinstance(pods, int) and isinstance(jobs, int)
            and isinstance(written_at, int | float)):
        return None
    return Inventory(pods, jobs, float(written_at))


def write(data_dir: Path, inventory: Inventory) -> None:
    """Replace the marker; raises OSError (the caller logs it and goes on)."""
    text = json.dumps({"pods": inventory.pods, "jobs": inventory.jobs,
                       "written_at": round(inventory.written_at, 3)})
    write_atomic(data_dir / INVENTORY_FILE, (text + "\n").encode("ascii"), mode=0o600)


def missing(before: Inventory | None, now: Inventory, *, store: Path, journal: Path,
            retention_seconds: float, at: float | None = None) -> list[Missing]:
    """The warnings due at a start: pods or jobs the marker counted that are gone. Jobs
    are only missed while the newest of them could still be retained."""
    if before is None:
        return []
    when = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(before.written_at))
    found = []
    if before.pods > 0 and now.pods == 0:
        found.append(Missing("store_empty", {
            "path": str(store), "pods_before": before.pods, "counted_at": when,
            "hint": "the store holds no pods, but held some: if that is not what you did, "
                    "stop the daemon and restore the store from a backup; a refresh brings "
                    "back what was uploaded"}))
    current = time.time() if at is None else at
    if before.jobs > 0 and now.jobs == 0 and current - before.written_at < retention_seconds:
        found.append(Missing("journal_empty", {
            "path": str(journal), "jobs_before": before.jobs, "counted_at": when,
            "hint": "the job journal holds no jobs, but held some that were still within "
                    "their retention: it was emptied or replaced"}))
    return found
