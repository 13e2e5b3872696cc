"""The daemon's health as `/health` and `/metrics` tell it: healthy, or degraded with reasons.

Degraded means the daemon serves, but some storage of its data directory is failing: out
of space (the store, the key store beside it or the job journal), the store otherwise
unavailable (its owner heals it by itself once the cause is gone), the full-text index set
aside (searches scan the store meanwhile), the job journal otherwise unwritable (job
changes wait in memory and are retried). Each reason has a fixed name, the label of its
`/metrics` gauge; each failing part a sentence. Reads only what the parts offer publicly;
this module must never change anything, nor block.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

from colony_actor.colony.facade import Colony
from colony_actor.colony.store.faults import OUT_OF_SPACE as FAULT_OUT_OF_SPACE
from colony_actor.colony.store.faults import no_room
from colony_actor.jobs.journal.store import JobJournal

OUT_OF_SPACE: Final = "out_of_space"
STORE_UNAVAILABLE: Final = "store_unavailable"
SEARCH_INDEX_SET_ASIDE: Final = "search_index_set_aside"
JOURNAL_UNAVAILABLE: Final = "journal_unavailable"
REASONS: Final = (OUT_OF_SPACE, STORE_UNAVAILABLE, SEARCH_INDEX_SET_ASIDE, JOURNAL_UNAVAILABLE)


@dataclass(frozen=True)
class Health:
    reasons: tuple[str, ...] = ()  # names of REASONS, in that order, each once
    messages: tuple[str, ...] = ()  # a sentence for each part that fails

    @property
    def status(self) -> str:
        return "degraded" if self.reasons else "healthy"


def search_index(colony: Colony) -> dict[str, object] | None:
    """How far the full-text index got while it is built or checked after a start (searches
    wait for it meanwhile); None once it is in step."""
    index = colony.fulltext
    if index is None or not index.behind:
        return None
    progress = index.catch_up_progress()
    return {"state": "building" if index.behind == "build" else "checking",
            "pods_done": progress.graphs_done, "pods_total": progress.graphs_total}


def assess(colony: Colony, journal: JobJournal) -> Health:
    found: list[tuple[str, str]] = []
    storage = colony.storage()
    if storage.fault is not None:
        found.append((OUT_OF_SPACE if storage.fault.kind == FAULT_OUT_OF_SPACE
                      else STORE_UNAVAILABLE, storage.fault.message))
    if not storage.follower_usable:
        found.append((SEARCH_INDEX_SET_ASIDE,
                      "The full-text index is set aside: searches read the whole store until "
                      "it is rebuilt, which happens by itself once the storage works again."))
    error = journal.last_error
    if error is not None:
        found.append((OUT_OF_SPACE if no_room(error) else JOURNAL_UNAVAILABLE,
                      f"The job journal cannot be written ({error}): job changes wait in "
                      "memory and are written once it can be."))
    reasons = tuple(r for r in REASONS if any(name == r for name, _ in found))
    return Health(reasons, tuple(message for _, message in found))
