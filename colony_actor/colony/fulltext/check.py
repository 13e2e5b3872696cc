"""Checking the full-text index against its store, row by row: for tests and diagnostics.

Reads everything, blocking; this module must never write to the index or the store.
"""

from __future__ import annotations

import threading

from pyoxigraph import Store

from colony_actor.colony.fulltext import rows
from colony_actor.colony.fulltext.upkeep import Upkeep
from colony_actor.colony.store.reads import pod_graphs


def differences(upkeep: Upkeep, lock: threading.Lock, store: Store) -> list[str]:
    """How the index (written through `upkeep`, guarded by `lock`) differs from the store;
    empty when in step."""
    problems: list[str] = []
    wanted = rows.generations(store)
    with lock:
        db = upkeep.db
        indexed = upkeep.generations()
        mine = sorted(db.execute(
            "SELECT g.iri, l.subject, p.iri, l.kind, coalesce(l.raw, l.text) FROM literals l "
            "JOIN graphs g ON g.id = l.graph JOIN predicates p ON p.id = l.predicate"
        ).fetchall())
        fts = db.execute(
            "INSERT INTO literals_fts(literals_fts, rank) VALUES ('integrity-check', 1)")
        del fts
    graphs = pod_graphs(store)
    if set(indexed) != {g.value for g in graphs}:
        problems.append(f"graphs: index {sorted(indexed)}, store "
                        f"{sorted(g.value for g in graphs)}")
    for graph in graphs:
        if indexed.get(graph.value, "") != wanted.get(graph.value, ""):
            problems.append(f"generation of {graph.value}")
    theirs = sorted(tuple(row) for g in graphs for row in rows.queried_rows(store, [g]))
    if mine != theirs:
        extra = sorted(set(mine) - set(theirs))[:5]
        missing = sorted(set(theirs) - set(mine))[:5]
        problems.append(f"rows: {len(mine)} indexed, {len(theirs)} in the store; "
                        f"extra {extra}, missing {missing}")
    return problems
