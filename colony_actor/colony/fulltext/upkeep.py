"""Keeping the index file's rows in step with what a store write changed.

Runs on the writer's connection, inside a transaction the caller opened, while the
caller holds the store's write lock. Blocking; this module must never write to the store,
and never index the local graph.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterable, Sequence

from pyoxigraph import NamedNode, Store

from colony_actor.colony.fulltext import words
from colony_actor.colony.fulltext.rows import (
    graph_rows,
    subject_rows,
    tree_rows,
    written_rows,
)
from colony_actor.colony.fulltext.schema import INSERT_WITH_ID, next_literal, text_columns
from colony_actor.colony.store.changes import Touch
from colony_actor.colony.store.rows import GraphRows


class Upkeep:
    """The writes to the index file, through the writer's connection `db`."""

    def __init__(self, db: sqlite3.Connection) -> None:
        self.db = db
        # Predicate ids as the file holds them (a rolled back insert only leaves a gap).
        self._predicates: dict[str, int] = {}

    def forget(self) -> None:
        """Forget what was read of the file (after a failed transaction)."""
        self._predicates.clear()

    def follow(self, store: Store, graph: NamedNode, touch: Touch, generation: str,
               before: set[str], written: GraphRows | None) -> None:
        """Follow what one write did to `graph` (`touch`), which now has `generation`;
        `before`: the subjects of its replaced trees as they were before the write."""
        if touch.whole or not store.contains_named_graph(graph):
            self.replace_graph(store, graph, generation, written if touch.whole else None)
            return
        rows = subject_rows(store, graph, touch.subjects) if touch.subjects else []
        rows += tree_rows(store, graph, touch.trees) if touch.trees else []
        keys = {n.value for n in touch.subjects | touch.trees}
        keys |= before | {row[0] for row in rows}
        number, _ = self._graph_id(graph.value, generation)
        self._delete("graph = ? AND subject IN (SELECT value FROM json_each(?))",
                     (number, json.dumps(sorted(keys))))
        self._insert(number, rows)

    def replace_graph(self, store: Store, graph: NamedNode, generation: str,
                      written: GraphRows | None = None) -> None:
        """All of the graph's rows anew (or none, if it is gone from the store)."""
        if not store.contains_named_graph(graph):
            self.drop_graph(graph.value)
            return
        rows = graph_rows(store, graph) if written is None else written_rows(
            store, graph, written)
        self.replace_rows(store, graph, generation, rows)

    def replace_rows(self, store: Store, graph: NamedNode, generation: str,
                     rows: Sequence[Sequence[str]]) -> None:
        """The graph's rows (subject, predicate, kind, text) read just now, instead of
        those held (none, if it is gone from the store)."""
        if not store.contains_named_graph(graph):
            self.drop_graph(graph.value)
            return
        self.put_rows(graph.value, generation, rows)

    def put_rows(self, iri: str, generation: str, rows: Sequence[Sequence[str]]) -> None:
        """The rows of the graph `iri`, which the store holds at `generation`, instead of
        those held. Reads nothing from the store."""
        number, new = self._graph_id(iri, generation)
        if not new:
            # A graph new to the index has no rows; and a delete would make FTS5 write
            # the rows pending from the graphs before it in this transaction as a segment
            # of their own (0.5 ms a pod at 10M triples, in a refresh's batch of pods).
            self._delete("graph = ?", (number,))
        self._insert(number, rows)

    def drop_graph(self, iri: str) -> None:
        row = self.db.execute("SELECT id FROM graphs WHERE iri = ?", (iri,)).fetchone()
        if row is not None:
            self._delete("graph = ?", (row[0],))
            self.db.execute("DELETE FROM graphs WHERE id = ?", (row[0],))

    def generations(self) -> dict[str, str]:
        """The generation token the index reflects, of each graph it holds."""
        return dict(self.db.execute("SELECT iri, generation FROM graphs").fetchall())

    def _graph_id(self, iri: str, generation: str) -> tuple[int, bool]:
        """The graph's id, now at `generation`, and whether it is new to the index."""
        row = self.db.execute("SELECT id FROM graphs WHERE iri = ?", (iri,)).fetchone()
        if row is not None:
            self.db.execute("UPDATE graphs SET generation = ? WHERE id = ?",
                            (generation, row[0]))
            return int(row[0]), False
        cursor = self.db.execute("INSERT INTO graphs(iri, generation) VALUES (?, ?)",
                                 (iri, generation))
        assert cursor.lastrowid is not None
        return int(cursor.lastrowid), True

    def _insert(self, graph: int, rows: Iterable[Sequence[str]]) -> None:
        """Rows (subject, predicate IRI, kind, text) of one graph, into the table and the
        word index (ids are given here so that both get the same: schema.next_literal)."""
        rows = list(rows)
        if not rows:
            return
        first = next_literal(self.db, graph, len(rows))
        values = [(number, graph, x, self._predicate_id(p), k, *text_columns(t))
                  for number, (x, p, k, t) in enumerate(rows, first)]
        self.db.executemany(INSERT_WITH_ID, values)
        found = words.documents(self.db, [v[5] for v in values], adding=True)
        self.db.executemany("INSERT INTO literal_words(rowid, words) VALUES (?, ?)",
                            ((v[0], d) for v, d in zip(values, found, strict=True) if d))

    def _delete(self, where: str, params: tuple[int | str, ...]) -> None:
        """The rows `where` says, from the table and the word index (a contentless FTS5
        table forgets a row only when given the very document it was given)."""
        held = self.db.execute(f"SELECT id, text FROM literals WHERE {where}",
                               params).fetchall()
        if not held:
            return
        found = words.documents(self.db, [str(t) for _, t in held], adding=False)
        self.db.executemany(
            "INSERT INTO literal_words(literal_words, rowid, words) VALUES ('delete', ?, ?)",
            ((n, d) for (n, _), d in zip(held, found, strict=True) if d))
        self.db.execute(f"DELETE FROM literals WHERE {where}", params)

    def _predicate_id(self, iri: str) -> int:
        number = self._predicates.get(iri)
        if number is None:
            self.db.execute("INSERT INTO predicates(iri) VALUES (?) ON CONFLICT(iri) DO NOTHING",
                            (iri,))
            row = self.db.execute("SELECT id FROM predicates WHERE iri = ?", (iri,)).fetchone()
            number = self._predicates[iri] = int(row[0])
        return number

