"""What the full-text index tells about itself: how far its catch-up got, its statistics.

Plain values; this module must never read nor write the index.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class CatchUp:
    """How far the catch-up got: `kind` "build" or "reconcile" while behind, "" once in
    step; graphs re-read out of those to re-read, and the rows written."""
    kind: str
    graphs_done: int
    graphs_total: int
    rows_done: int


@dataclass(frozen=True)
class IndexStatistics:
    usable: bool
    writing: bool  # a store write is in progress (searches wait for it)
    searches_waiting: int  # searches waiting for that write to end
    version: int
