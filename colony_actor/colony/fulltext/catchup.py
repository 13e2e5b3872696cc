"""Bringing an index that is behind its store in step, a batch of graphs at a time.

An index is behind when it was just created empty (missing, from another schema or
unreadable), or when it was not sealed by a clean close matching the store's (a crash may
have come between a store write and the index following it). Which graphs are behind is
read once (`plan`: graphs whose generation token differs, graphs gone from the store);
it is read without the write lock, since a write meanwhile makes a graph stale at most.
Each batch then re-reads its graphs' rows whole (`replace_batch`), under the store's write
lock, so that writes between batches are followed as usual and never lost. Blocking; this
module must never write to the store, and never index the local graph.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Final

from pyoxigraph import NamedNode, Store

from colony_actor.colony.fulltext import rows, schema
from colony_actor.colony.fulltext.upkeep import Upkeep
from colony_actor.colony.store.reads import pod_graphs

# Graphs re-read per batch: about 100 literals each in a pod, so a batch holds the store's
# write lock for a few tens of milliseconds.
BATCH_GRAPHS: Final = 50


@dataclass(frozen=True)
class Plan:
    """The graphs to re-read, in batches: those whose generation differs, and those the
    index holds that the store did not have (re-reading one that is gone drops it; one
    made meanwhile is simply read); `graphs`, how many pod graphs the store has."""
    stale: list[NamedNode]
    graphs: int

    def batches(self) -> list[list[NamedNode]]:
        return [self.stale[i:i + BATCH_GRAPHS] for i in range(0, len(self.stale), BATCH_GRAPHS)]


def plan(store: Store, upkeep: Upkeep) -> Plan:
    """Which graphs are behind (reads every graph's generation: O(graphs))."""
    graphs = pod_graphs(store)
    indexed = upkeep.generations()
    if not indexed:  # an empty index (a first start): every graph is, whatever its token
        return Plan(graphs, len(graphs))
    wanted = rows.generations(store)
    present = {g.value for g in graphs}
    stale = [g for g in graphs if indexed.get(g.value) != wanted.get(g.value, "")]
    return Plan(stale + [NamedNode(iri) for iri in sorted(set(indexed) - present)],
                len(graphs))


def replace_batch(store: Store, db: sqlite3.Connection, upkeep: Upkeep,
                  graphs: Sequence[NamedNode]) -> int:
    """Re-read these graphs whole (run under the store's write lock); the rows written."""
    tokens = rows.generations(store, graphs)
    found: dict[str, list[list[str]]] = {g.value: [] for g in graphs}
    present = [g for g in graphs if store.contains_named_graph(g)]
    for row in rows.rows_of_graphs(store, present) if present else []:
        found[row[0]].append(row[1:])
    with schema.transaction(db):
        for graph in graphs:
            upkeep.replace_rows(store, graph, tokens.get(graph.value, ""), found[graph.value])
    return sum(len(r) for r in found.values())
