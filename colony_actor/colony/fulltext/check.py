"""Checking the full-text index against its store, row by row: for tests and diagnostics.

Reads everything, blocking; this module must never write to the index or the store.
"""

from __future__ import annotations

import sqlite3
import threading

from pyoxigraph import Store

from colony_actor.colony.fulltext import rows, words
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
        db.execute("INSERT INTO words_fts(words_fts, rank) VALUES ('integrity-check', 1)")
        db.execute("INSERT INTO literal_words(literal_words) VALUES ('integrity-check')")
        problems += _word_problems(db)
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


def _word_problems(db: sqlite3.Connection) -> list[str]:
    """How the word index differs from the words of the rows' texts (every word of every
    text in the vocabulary, and each literal under exactly its words)."""
    texts = db.execute("SELECT id, text FROM literals").fetchall()
    vocabulary = dict(db.execute("SELECT word, id FROM words").fetchall())
    missing = sorted(set().union(*(words.words_of(t) for _, t in texts)) - vocabulary.keys())
    if missing:
        return [f"words not in the vocabulary: {missing[:5]}"]
    wanted = {(int(n), vocabulary[w]) for n, t in texts for w in words.words_of(t)}
    held = {(int(n), int(word)) for word in vocabulary.values() for n, in db.execute(
        "SELECT rowid FROM literal_words WHERE literal_words MATCH ?", (f'"{word}"',))}
    if held != wanted:
        return [f"word postings: extra {sorted(held - wanted)[:5]}, "
                f"missing {sorted(wanted - held)[:5]}"]
    return []
