"""The full-text index of the pods' literals: SQLite FTS5 beside the store, so that a text
search reads a few subjects instead of scanning every literal of every pod.

One row per literal statement of every pod graph (the configuration pod included, the local
bookkeeping graph never): graph, subject, predicate, the literal's kind (plain string,
language-tagged, other) and `LCASE(STR(literal))` as oxigraph itself computes it, under an
FTS5 trigram index. A text search:
  1. lower-cases the terms with oxigraph's LCASE;
  2. asks SQLite which (graph, subject) groups contain which terms: the trigram MATCH is
     only a prefilter (terms under 3 characters skip it and scan the index's table),
     `instr` over the same lower-cased text decides, which is exactly SPARQL's
     `CONTAINS(LCASE(STR(?o)), LCASE(?term))`;
  3. ranks the groups as the query does (match_count, depth key from the config pod,
     graph) and keeps those that can hold the first LIMIT rows (`select_groups`);
  4. runs the reference query (search.text_sparql) on those groups only, so rows, order,
     match_count and depth come from the very query a full scan runs;
  5. gives up (the caller scans) when the scan's own order of the rows is not fixed by
     its ORDER BY: oxigraph compares literals of different kinds inconsistently, so a
     subject with several matching literals of mixed kinds under one predicate is left
     to the scan (see `_Candidates.ambiguous`).

The store is the truth. Every write that changes a pod graph also sets that graph's
generation token (INDEX_GENERATION in the local graph) in the same store transaction; the
index follows under the same write lock and records the token it reflects. At open,
graphs whose token differs (a crash between the two) are reindexed, graphs gone from the
store are dropped, and a missing, outdated or unreadable index file is rebuilt from the
store. A search that overlaps a write is retried (a version counter, even while no write
is in progress); an index that cannot follow a write is no longer used (searches scan)
and is reconciled or rebuilt at the next open.

Everything here is blocking: it must only ever run in worker threads, never on the event
loop. It must never be the source of a search result's rows (only of which subjects to
read), never index or reveal the local graph, never paste a user string into SPARQL
(terms are pyoxigraph Literals) or SQL (terms are bound parameters), and never write to
the store.
"""

from __future__ import annotations

import contextlib
import os
import sqlite3
import threading
import time
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Final

import structlog
from pyoxigraph import (
    BlankNode,
    NamedNode,
    QuerySolutions,
    Store,
)

from colony_actor.colony.errors import SearchTimeout
from colony_actor.colony.jsonld import subject_tree_pattern
from colony_actor.colony.search.engine import TEXT_VARIABLES, Results, scan_text_search
from colony_actor.colony.store.changes import Changes
from colony_actor.colony.store.reads import pod_graphs
from colony_actor.colony.store.rows import KIND, LITERAL_ROWS, GraphRows, csv_rows, field
from colony_actor.colony.store.sparql import L, depth_key
from colony_actor.colony.vocab import DEPTH, INDEX_GENERATION, LOCAL_GRAPH, text

log = structlog.get_logger("colony_actor.colony.fulltext.index")

SCHEMA_VERSION: Final = "4"
# The trigram tokenizer needs 3 characters; shorter terms are found by scanning the
# index's own table (still far cheaper than the store).
MIN_TRIGRAM: Final = 3
# Graphs read per query when rebuilding.
REBUILD_BATCH: Final = 500
# More stale graphs than this at open (or a quarter of all graphs): rebuild instead.
RECONCILE_MAX: Final = 1000
# A search overlapping this many writes in a row gives up on the index (the caller scans).
ATTEMPTS: Final = 4
_INSERT: Final = ("INSERT INTO literals(graph, subject, predicate, kind, text, raw) "
                  "VALUES (?, ?, ?, ?, ?, ?)")
_INSERT_WITH_ID: Final = ("INSERT INTO literals(id, graph, subject, predicate, kind, text, raw) "
                          "VALUES (?, ?, ?, ?, ?, ?, ?)")
_NUL_STAND_IN: Final = "\uffff"
_INT64_MIN: Final = -(1 << 63)
_INT64_MAX: Final = (1 << 63) - 1
# select_groups in SQL, over the groups query ({groups}: graph id, subject, rows, matches,
# ambiguous) with the limit as parameter ?{limit}: each group once per depth key of its
# graph (0 without any), a running row total in ranking order, the (matches, key, graph)
# bucket where it reaches the limit, and every group up to that bucket.
_RANKED: Final = (
    "WITH e AS (SELECT g.iri AS iri, s.subject AS subject, s.matches AS matches, "
    "s.rows AS rows, s.ambiguous AS ambiguous, coalesce(d.key, 0) AS key "
    "FROM ({groups}) s JOIN graphs g ON g.id = s.graph "
    "LEFT JOIN temp.depth_keys d ON d.iri = g.iri), "
    "r AS (SELECT e.*, sum(e.rows) OVER (ORDER BY e.matches DESC, e.key, e.iri, e.subject "
    "ROWS UNBOUNDED PRECEDING) AS total FROM e), "
    "b AS (SELECT -r.matches AS m, r.key AS key, r.iri AS iri FROM r "
    "WHERE r.total >= ?{limit} ORDER BY r.total LIMIT 1) "
    "SELECT DISTINCT r.iri, r.subject, r.ambiguous FROM r "
    "WHERE NOT EXISTS (SELECT 1 FROM b) "
    "OR (-r.matches, r.key, r.iri) <= (SELECT b.m, b.key, b.iri FROM b)")


def _text_columns(text: str) -> tuple[str, str | None]:
    if "\x00" not in text:
        return text, None
    return text.replace("\x00", _NUL_STAND_IN), text

_SCHEMA: Final = (
    "CREATE TABLE meta(key TEXT PRIMARY KEY, value TEXT NOT NULL)",
    "CREATE TABLE graphs(id INTEGER PRIMARY KEY, iri TEXT NOT NULL UNIQUE, "
    "generation TEXT NOT NULL)",
    "CREATE TABLE predicates(id INTEGER PRIMARY KEY, iri TEXT NOT NULL UNIQUE)",
    # kind: 's' a plain string, 'l' a language-tagged one, 'o' any other literal. text:
    # the lower-cased literal, for FTS5, which stops reading at a NUL: NULs are stored
    # as U+FFFF, and `raw` holds the exact text of those rare rows (else NULL).
    "CREATE TABLE literals(id INTEGER PRIMARY KEY, graph INTEGER NOT NULL, "
    "subject TEXT NOT NULL, predicate INTEGER NOT NULL, kind TEXT NOT NULL, "
    "text TEXT NOT NULL, raw TEXT)",
    "CREATE VIRTUAL TABLE literals_fts USING fts5(text, content='literals', "
    "content_rowid='id', tokenize='trigram case_sensitive 0')",
)
# Created after a bulk load (the FTS index is then built in one 'rebuild'). Inserts feed
# literals_fts themselves (`_insert`): through an AFTER INSERT trigger, the same rows cost
# three times as much. Deletes go through the trigger, which is the cheaper way for them.
_MAINTENANCE: Final = (
    "CREATE INDEX literals_subject ON literals(graph, subject)",
    "CREATE TRIGGER literals_ad AFTER DELETE ON literals BEGIN "
    "INSERT INTO literals_fts(literals_fts, rowid, text) VALUES ('delete', old.id, old.text); "
    "END",
)


# -- reading the store ----------------------------------------------------------------


def _graph_rows(store: Store, graph: NamedNode) -> list[list[str]]:
    return csv_rows(store, LITERAL_ROWS.format(
        inner=f"GRAPH {graph} {{ ?x ?p ?o FILTER(isLiteral(?o)) }}"))


def _written_rows(store: Store, graph: NamedNode, written: GraphRows) -> list[list[str]]:
    if not written.blank:
        return written.rows
    return written.rows + csv_rows(store, LITERAL_ROWS.format(
        inner=f"GRAPH {graph} {{ ?x ?p ?o FILTER(isLiteral(?o) && isBlank(?x)) }}"))


def _subject_rows(store: Store, graph: NamedNode, nodes: Iterable[NamedNode]) -> list[list[str]]:
    values = " ".join(str(n) for n in sorted(nodes, key=lambda n: n.value))
    return csv_rows(store, LITERAL_ROWS.format(
        inner=f"GRAPH {graph} {{ VALUES ?x {{ {values} }} ?x ?p ?o FILTER(isLiteral(?o)) }}"))


def _tree_pattern(roots: Iterable[NamedNode]) -> str:
    return " UNION ".join("{ " + subject_tree_pattern(r) + " }"
                          for r in sorted(roots, key=lambda n: n.value))


def _tree_rows(store: Store, graph: NamedNode, roots: Iterable[NamedNode]) -> list[list[str]]:
    # DISTINCT: a nested node reached along two paths is still one statement.
    return csv_rows(store, LITERAL_ROWS.format(
        inner=f"{{ SELECT DISTINCT ?x ?p ?o WHERE {{ GRAPH {graph} {{ {_tree_pattern(roots)} }} "
              "FILTER(isLiteral(?o)) } }"))


def _tree_subjects(store: Store, graph: NamedNode, roots: Iterable[NamedNode]) -> set[str]:
    rows = csv_rows(
        store, f"SELECT DISTINCT {field('x', 's')} WHERE {{ GRAPH {graph} {{ "
               f"{_tree_pattern(roots)} }} }}")
    return {row[0] for row in rows}


def _generations(store: Store, graphs: Iterable[NamedNode] | None = None) -> dict[str, str]:
    restrict = ""
    if graphs is not None:
        restrict = "VALUES ?g { " + " ".join(str(g) for g in graphs) + " } "
    rows = csv_rows(store, f"SELECT {field('g', 'h')} ?t WHERE {{ {restrict}GRAPH {L} {{ "
                           f"?g {INDEX_GENERATION} ?t }} }}")
    return {row[0]: row[1] for row in rows}


def _lcase(store: Store, terms: Sequence[str]) -> list[str]:
    """The terms lower-cased by oxigraph's LCASE (the very function the scan applies)."""
    values = " ".join(f"({i} {text(t)})" for i, t in enumerate(terms))
    solutions = store.query(
        f"SELECT ?i (LCASE(?t) AS ?l) WHERE {{ VALUES (?i ?t) {{ {values} }} }}")
    assert isinstance(solutions, QuerySolutions)
    found = {int(row["i"].value): str(row["l"].value) for row in solutions}
    del solutions
    return [found[i] for i in range(len(terms))]


def _depth_keys(store: Store, config: NamedNode) -> dict[str, list[int]]:
    """Each graph's depth sort keys as the text query computes them, one per depth
    statement (a graph without any sorts as depth "0")."""
    rows = csv_rows(store, f"SELECT {field('g', 'h')} ({depth_key('d')} AS ?k) WHERE {{ "
                           f"GRAPH {config} {{ ?g {DEPTH} ?d }} FILTER(isIRI(?g)) }}")
    out: dict[str, list[int]] = {}
    for graph, key in rows:
        out.setdefault(graph, []).append(int(key))
    return out


# -- the index ------------------------------------------------------------------------


@dataclass(frozen=True)
class _Candidates:
    groups: list[tuple[str, str]]  # (graph, subject key), to narrow the query to
    ambiguous_groups: set[tuple[str, str]]  # whose rows the scan may order arbitrarily
    depths: Mapping[str, list[int]]

    def ambiguous(self, result: Results) -> bool:
        """Whether the scan's order of these rows is not fixed by the ORDER BY: rows of
        one predicate mixing literal kinds (oxigraph compares literals of different kinds
        inconsistently, and equal numbers of different types as ties), or rows repeated
        for two depth statements of one graph with the same sort key."""
        for row in result.bindings:
            graph = row["graph"]["value"]
            subject = row["subject"]
            key = subject["value"] if subject["type"] == "uri" else "_:" + subject["value"]
            if (graph, key) in self.ambiguous_groups:
                return True
            keys = self.depths.get(graph, [])
            if len(keys) != len(set(keys)):
                return True
        return False


class IndexUnusable(Exception):
    """The index file is missing, from another schema, or unreadable."""


def _connect(path: Path) -> sqlite3.Connection:
    # Used from whichever worker thread holds the write lock (or a reader from the pool);
    # autocommit mode: transactions are explicit (`_transaction`).
    return sqlite3.connect(str(path), check_same_thread=False, isolation_level=None,
                           timeout=30.0)


@contextlib.contextmanager
def _transaction(db: sqlite3.Connection) -> Iterator[None]:
    db.execute("BEGIN IMMEDIATE")
    try:
        yield
    except BaseException:
        db.execute("ROLLBACK")
        raise
    db.execute("COMMIT")


class FullTextIndex:
    """Use `FullTextIndex.open`. Writes come from GraphStore under its caller's write lock;
    searches from any worker thread."""

    def __init__(self, path: Path, db: sqlite3.Connection) -> None:
        self.path = path
        self._db = db  # the writer's connection
        self._db_lock = threading.Lock()
        self._readers: list[sqlite3.Connection] = []
        self._readers_lock = threading.Lock()
        # Even while no write is in progress; a search that saw it change retries.
        self._version = 0
        self._changed = threading.Condition()
        self._edits: dict[str, int] = {}  # graph IRI -> writes seen, for the depth cache
        self._depth_cache: tuple[tuple[str, int], dict[str, list[int]]] | None = None
        # Which depth keys each reader's temporary table holds (the cached dict itself).
        self._reader_depths: dict[sqlite3.Connection, Mapping[str, list[int]]] = {}
        self._usable = True
        self._closed = False
        # The writer's cache of predicate ids (a rolled back insert only leaves a gap).
        self._predicates: dict[str, int] = {}

    # -- opening ---------------------------------------------------------------------

    @classmethod
    def open(cls, path: Path, store: Store) -> FullTextIndex:
        """Open the index beside `store` and bring it in step with it (blocking)."""
        try:
            db = cls._open_existing(path)
            index = cls(path, db)
            try:
                index._reconcile(store)
            except sqlite3.DatabaseError as exc:
                index.close()
                raise IndexUnusable(f"unreadable: {exc}") from None
            return index
        except IndexUnusable as exc:
            log.warning("fulltext_rebuild", path=str(path), reason=str(exc))
        return cls(path, cls._rebuild(path, store))

    @staticmethod
    def _open_existing(path: Path) -> sqlite3.Connection:
        if not path.exists():
            raise IndexUnusable("no index file")
        db: sqlite3.Connection | None = None
        try:
            db = _connect(path)
            db.execute("PRAGMA journal_mode=WAL")
            db.execute("PRAGMA synchronous=NORMAL")
            row = db.execute("SELECT value FROM meta WHERE key = 'schema'").fetchone()
            if row is None or row[0] != SCHEMA_VERSION:
                raise IndexUnusable(f"schema {row[0] if row else 'unknown'}, "
                                    f"expected {SCHEMA_VERSION}")
            db.execute("SELECT count(*) FROM graphs").fetchone()
            db.execute("SELECT rowid FROM literals_fts WHERE literals_fts MATCH 'abc' LIMIT 1")
        except sqlite3.Error as exc:
            if db is not None:
                db.close()
            raise IndexUnusable(f"unreadable: {exc}") from None
        except IndexUnusable:
            if db is not None:
                db.close()
            raise
        return db

    @staticmethod
    def _remove_files(path: Path) -> None:
        for suffix in ("", "-wal", "-shm", "-journal"):
            with contextlib.suppress(FileNotFoundError):
                os.unlink(str(path) + suffix)

    @classmethod
    def _rebuild(cls, path: Path, store: Store) -> sqlite3.Connection:
        """Build the whole index from the store in a side file, then move it in place."""
        started = time.monotonic()
        building = path.with_name(path.name + ".rebuild")
        cls._remove_files(building)
        db = _connect(building)
        rows = 0
        try:
            db.execute("PRAGMA journal_mode=OFF")
            db.execute("PRAGMA synchronous=OFF")
            with _transaction(db):
                for statement in _SCHEMA:
                    db.execute(statement)
                graphs = pod_graphs(store)
                generations = _generations(store)
                for number, graph in enumerate(graphs, 1):
                    db.execute("INSERT INTO graphs(id, iri, generation) VALUES (?, ?, ?)",
                               (number, graph.value, generations.get(graph.value, "")))
                ids = {g.value: n for n, g in enumerate(graphs, 1)}
                predicates: dict[str, int] = {}

                def predicate(iri: str) -> int:
                    number = predicates.get(iri)
                    if number is None:
                        number = predicates[iri] = len(predicates) + 1
                    return number

                for start in range(0, len(graphs), REBUILD_BATCH):
                    batch: list[NamedNode | BlankNode] = list(
                        graphs[start:start + REBUILD_BATCH])
                    found = csv_rows(
                        store, f"SELECT {field('g', 'h')} {field('x', 's')} "
                               f"{field('p', 'q')} {KIND} (LCASE(STR(?o)) AS ?l) WHERE "
                               "{ GRAPH ?g { ?x ?p ?o FILTER(isLiteral(?o)) } }",
                        named_graphs=batch)
                    db.executemany(_INSERT, ((ids[g], x, predicate(p), k, *_text_columns(t))
                                             for g, x, p, k, t in found))
                    rows += len(found)
                db.executemany("INSERT INTO predicates(id, iri) VALUES (?, ?)",
                               ((n, iri) for iri, n in predicates.items()))
                db.execute("INSERT INTO literals_fts(literals_fts) VALUES ('rebuild')")
                for statement in _MAINTENANCE:
                    db.execute(statement)
                db.execute("INSERT INTO meta(key, value) VALUES ('schema', ?)",
                           (SCHEMA_VERSION,))
        finally:
            db.close()
        with open(building, "rb") as handle:
            os.fsync(handle.fileno())
        cls._remove_files(path)
        os.replace(building, path)
        with contextlib.suppress(OSError):
            directory = os.open(str(path.parent), os.O_RDONLY)
            try:
                os.fsync(directory)
            finally:
                os.close(directory)
        log.info("fulltext_rebuilt", path=str(path), literals=rows,
                 seconds=round(time.monotonic() - started, 2))
        db = _connect(path)
        db.execute("PRAGMA journal_mode=WAL")
        db.execute("PRAGMA synchronous=NORMAL")
        return db

    def _reconcile(self, store: Store) -> None:
        """Reindex the graphs whose generation differs from the store's; drop the gone."""
        graphs = pod_graphs(store)
        wanted = _generations(store)
        indexed = dict(self._db.execute("SELECT iri, generation FROM graphs").fetchall())
        present = {g.value for g in graphs}
        gone = sorted(set(indexed) - present)
        stale = [g for g in graphs if indexed.get(g.value) != wanted.get(g.value, "")]
        if not gone and not stale:
            return
        if len(stale) > max(RECONCILE_MAX, len(graphs) // 4):
            log.warning("fulltext_rebuild", path=str(self.path),
                        reason=f"{len(stale)} graphs out of step")
            self._db.close()
            self._db = self._rebuild(self.path, store)
            self._predicates.clear()
            return
        with self._db_lock, _transaction(self._db):
            for iri in gone:
                self._drop_graph(iri)
            for graph in stale:
                self._replace_graph(store, graph, wanted.get(graph.value, ""))
        log.warning("fulltext_reconciled", path=str(self.path), reindexed=len(stale),
                    dropped=len(gone))

    def close(self) -> None:
        with self._readers_lock:
            self._closed = True
            for reader in self._readers:
                reader.close()
            self._readers.clear()
            self._reader_depths.clear()
        with self._db_lock:
            self._db.close()

    # -- writing (the caller holds the store's write lock) ---------------------------

    def _graph_id(self, iri: str, generation: str) -> int:
        self._db.execute("INSERT INTO graphs(iri, generation) VALUES (?, ?) ON CONFLICT(iri) "
                         "DO UPDATE SET generation = excluded.generation", (iri, generation))
        row = self._db.execute("SELECT id FROM graphs WHERE iri = ?", (iri,)).fetchone()
        return int(row[0])

    def _drop_graph(self, iri: str) -> None:
        row = self._db.execute("SELECT id FROM graphs WHERE iri = ?", (iri,)).fetchone()
        if row is not None:
            self._db.execute("DELETE FROM literals WHERE graph = ?", (row[0],))
            self._db.execute("DELETE FROM graphs WHERE id = ?", (row[0],))

    def _replace_graph(self, store: Store, graph: NamedNode, generation: str,
                       written: GraphRows | None = None) -> None:
        if not store.contains_named_graph(graph):
            self._drop_graph(graph.value)
            return
        rows = _graph_rows(store, graph) if written is None else _written_rows(
            store, graph, written)
        number = self._graph_id(graph.value, generation)
        self._db.execute("DELETE FROM literals WHERE graph = ?", (number,))
        self._insert(number, rows)

    def _insert(self, graph: int, rows: Iterable[Sequence[str]]) -> None:
        """Rows (subject, predicate IRI, kind, text) of one graph, into the table and its
        FTS index (ids are given here so that both get the same)."""
        row = self._db.execute("SELECT coalesce(max(id), 0) FROM literals").fetchone()
        first = int(row[0]) + 1
        values = [(number, graph, x, self._predicate_id(p), k, *_text_columns(t))
                  for number, (x, p, k, t) in enumerate(rows, first)]
        if values:
            self._db.executemany(_INSERT_WITH_ID, values)
            self._db.executemany("INSERT INTO literals_fts(rowid, text) VALUES (?, ?)",
                                 ((v[0], v[5]) for v in values))

    def _predicate_id(self, iri: str) -> int:
        number = self._predicates.get(iri)
        if number is None:
            self._db.execute("INSERT INTO predicates(iri) VALUES (?) ON CONFLICT(iri) DO NOTHING",
                             (iri,))
            row = self._db.execute("SELECT id FROM predicates WHERE iri = ?", (iri,)).fetchone()
            number = self._predicates[iri] = int(row[0])
        return number

    @contextlib.contextmanager
    def writing(self, store: Store, changes: Changes,
                written: Mapping[NamedNode, GraphRows] | None = None) -> Iterator[None]:
        """Around a store write that makes `changes`: the index follows it once it is done.
        `written` may give the rows of some graphs the write replaces wholly, which spares
        reading most of them back.

        The body must be the one store transaction; if it raises, the index is untouched
        (the store is too). If the index cannot follow, it is marked unusable: searches
        scan, and the next open rebuilds it."""
        before: dict[NamedNode, set[str]] = {}
        if self._usable:
            for graph, touch in changes.items():
                if touch.trees and not touch.whole:
                    before[graph] = _tree_subjects(store, graph, touch.trees)
        with self._changed:
            self._version += 1
        try:
            yield
            if self._usable:
                try:
                    self._apply(store, changes, before, written or {})
                except Exception as exc:
                    # The store's write stands (it is the truth); the index is behind it.
                    self._predicates.clear()
                    self._give_up(f"could not follow a write: {exc!r}")
        finally:
            with self._changed:
                self._version += 1
                self._changed.notify_all()

    def _apply(self, store: Store, changes: Changes, before: Mapping[NamedNode, set[str]],
               written: Mapping[NamedNode, GraphRows]) -> None:
        graphs = [g for g in changes if g != LOCAL_GRAPH]
        generations = _generations(store, graphs) if graphs else {}
        with self._db_lock, _transaction(self._db):
            for graph in graphs:
                touch = changes[graph]
                generation = generations.get(graph.value, "")
                self._edits[graph.value] = self._edits.get(graph.value, 0) + 1
                if touch.whole or not store.contains_named_graph(graph):
                    self._replace_graph(store, graph, generation,
                                        written.get(graph) if touch.whole else None)
                    continue
                rows = (_subject_rows(store, graph, touch.subjects) if touch.subjects else [])
                rows += _tree_rows(store, graph, touch.trees) if touch.trees else []
                keys = {n.value for n in touch.subjects | touch.trees}
                keys |= before.get(graph, set()) | {row[0] for row in rows}
                number = self._graph_id(graph.value, generation)
                self._db.executemany("DELETE FROM literals WHERE graph = ? AND subject = ?",
                                     ((number, k) for k in sorted(keys)))
                self._insert(number, rows)

    def invalidate(self, reason: str) -> None:
        """The store changed in ways the index was not told of: stop using it, and have
        the next open rebuild it."""
        self._give_up(reason)

    def _give_up(self, reason: str) -> None:
        self._usable = False
        log.error("fulltext_unusable", path=str(self.path), reason=reason)
        try:
            with self._db_lock:
                self._db.execute("DELETE FROM meta WHERE key = 'schema'")
        except sqlite3.Error as exc:
            # Its generations still tell the next open what is stale.
            log.error("fulltext_mark_failed", path=str(self.path), error=str(exc))

    @property
    def usable(self) -> bool:
        return self._usable

    # -- searching -------------------------------------------------------------------

    @contextlib.contextmanager
    def _reader(self, deadline: float) -> Iterator[sqlite3.Connection]:
        with self._readers_lock:
            if self._closed:
                raise sqlite3.ProgrammingError("the index is closed")
            reader = self._readers.pop() if self._readers else None
        if reader is None:
            reader = _connect(self.path)
            reader.execute("PRAGMA query_only=1")
        reader.set_progress_handler(lambda: int(time.monotonic() > deadline), 10_000)
        try:
            yield reader
        finally:
            reader.set_progress_handler(None, 0)
            with self._readers_lock:
                if self._closed:
                    reader.close()
                else:
                    self._readers.append(reader)

    def _stable_version(self, deadline: float) -> int:
        with self._changed:
            wait = None if deadline == float("inf") else max(0.0, deadline - time.monotonic())
            if not self._changed.wait_for(lambda: self._version % 2 == 0, timeout=wait):
                raise SearchTimeout("The search ran out of time")
            return self._version

    def search(self, store: Store, terms: Sequence[str], limit: int, config: NamedNode,
               deadline: float) -> Results | None:
        """The text search's results, or None when the index cannot answer (the caller
        scans then). Same rows, same order as search.scan_text_search."""
        distinct = list(dict.fromkeys(terms))
        for _ in range(ATTEMPTS):
            if not self._usable or not distinct:
                return None
            version = self._stable_version(deadline)
            try:
                candidates = self._candidates(store, distinct, limit, config, deadline)
            except sqlite3.OperationalError as exc:
                if time.monotonic() > deadline:
                    raise SearchTimeout("The search ran out of time") from None
                log.error("fulltext_search_failed", path=str(self.path), error=str(exc))
                return None
            except sqlite3.Error as exc:
                log.error("fulltext_search_failed", path=str(self.path), error=str(exc))
                return None
            result = self._narrowed(store, terms, limit, config, deadline, candidates)
            if self._version != version:
                continue
            if result is not None and candidates.ambiguous(result):
                # The scan's order among these rows is an artefact of its evaluation.
                return None
            return result
        return None

    @staticmethod
    def _narrowed(store: Store, terms: Sequence[str], limit: int, config: NamedNode,
                  deadline: float, candidates: _Candidates) -> Results:
        groups = candidates.groups
        if not groups:
            return Results(list(TEXT_VARIABLES), [])
        if any(subject.startswith("_:") for _, subject in groups):
            # A blank node cannot be named in a query: narrow to whole pods instead.
            named = sorted({config.value, *(graph for graph, _ in groups)})
            return scan_text_search(store, terms, limit, config, deadline,
                                    named_graphs=[NamedNode(g) for g in named])
        return scan_text_search(store, terms, limit, config, deadline, groups=[
            (NamedNode(g), NamedNode(x)) for g, x in groups])

    def _candidates(self, store: Store, terms: Sequence[str], limit: int,
                    config: NamedNode, deadline: float) -> _Candidates:
        """The (graph, subject) groups holding every row of the first `limit` (maybe more),
        with what makes the scan's own order of their rows arbitrary."""
        lowered = _lcase(store, terms)
        count = len(lowered)
        contains = [f"(instr(coalesce(l.raw, l.text), ?{i}) > 0)" for i in range(1, count + 1)]
        where = " OR ".join(contains)
        params: list[str | int] = list(lowered)
        if all(len(t) >= MIN_TRIGRAM and "\x00" not in t for t in lowered):
            phrases = " OR ".join('"' + t.replace('"', '""') + '"' for t in lowered)
            where = (f"l.id IN (SELECT rowid FROM literals_fts WHERE literals_fts MATCH "
                     f"?{count + 1}) AND ({where})")
            params.append(phrases)
        terms_found = ", ".join(f"max{c} AS m{i}" for i, c in enumerate(contains))
        matches = " + ".join(f"max(c.m{i})" for i in range(count))
        # Per (graph, subject, predicate): the matching literals; SPARQL orders those of
        # one predicate consistently only if they are all plain or all tagged strings.
        groups = (f"SELECT c.graph AS graph, c.subject AS subject, sum(c.n) AS rows, "
                  f"{matches} AS matches, max(c.n > 1 AND (c.kinds > 1 OR c.kind = 'o')) "
                  "AS ambiguous FROM ("
                  "SELECT l.graph AS graph, l.subject AS subject, count(*) AS n, "
                  f"count(DISTINCT l.kind) AS kinds, min(l.kind) AS kind, {terms_found} "
                  f"FROM literals l WHERE {where} GROUP BY l.graph, l.subject, l.predicate) c "
                  "GROUP BY c.graph, c.subject")
        depths = self._depths(store, config)
        with self._reader(deadline) as reader:
            if self._load_depth_keys(reader, depths):
                # select_groups in SQL: the work stays in SQLite (which runs without the
                # GIL), and only the chosen groups come back to Python.
                params.append(limit)
                rows = reader.execute(_RANKED.format(groups=groups, limit=len(params)),
                                      params).fetchall()
                if not rows:
                    return _Candidates([], set(), {})
                chosen = sorted({(str(g), str(x)) for g, x, _ in rows})
                ambiguous = {(str(g), str(x)) for g, x, a in rows if a}
                return _Candidates(chosen, ambiguous, depths)
            every = [(str(g), str(x), int(m), int(n), bool(a)) for g, x, m, n, a in
                     reader.execute(f"SELECT g.iri, s.subject, s.matches, s.rows, s.ambiguous "
                                    f"FROM ({groups}) s JOIN graphs g ON g.id = s.graph",
                                    params).fetchall()]
        if not every:
            return _Candidates([], set(), {})
        chosen = select_groups([(g, x, m, n) for g, x, m, n, _ in every], depths, limit)
        ambiguous = {(g, x) for g, x, _, _, a in every if a}
        return _Candidates(chosen, ambiguous, depths)

    def _load_depth_keys(self, reader: sqlite3.Connection,
                         depths: Mapping[str, list[int]]) -> bool:
        """Have the reader's temporary `depth_keys` table hold `depths`; False if some key
        does not fit SQLite's integers (the caller ranks in Python then)."""
        if self._reader_depths.get(reader) is depths:
            return True
        if any(not _INT64_MIN <= k <= _INT64_MAX for keys in depths.values() for k in keys):
            return False
        # Only the connection's own temporary schema is written: a deferred transaction
        # takes no lock on the index file.
        reader.execute("PRAGMA query_only=0")
        try:
            reader.execute("BEGIN")
            try:
                reader.execute("CREATE TEMP TABLE IF NOT EXISTS depth_keys("
                               "iri TEXT NOT NULL, key INTEGER NOT NULL)")
                reader.execute("CREATE INDEX IF NOT EXISTS temp.depth_keys_iri "
                               "ON depth_keys(iri)")
                reader.execute("DELETE FROM temp.depth_keys")
                reader.executemany("INSERT INTO temp.depth_keys(iri, key) VALUES (?, ?)",
                                   [(g, k) for g, keys in depths.items() for k in keys])
            except BaseException:
                reader.execute("ROLLBACK")
                raise
            reader.execute("COMMIT")
        finally:
            reader.execute("PRAGMA query_only=1")
        self._reader_depths[reader] = depths
        return True

    def _depths(self, store: Store, config: NamedNode) -> dict[str, list[int]]:
        stamp = (config.value, self._edits.get(config.value, 0))
        cached = self._depth_cache
        if cached is not None and cached[0] == stamp:
            return cached[1]
        depths = _depth_keys(store, config)
        self._depth_cache = (stamp, depths)
        return depths

    # -- checking (tests, diagnostics) -----------------------------------------------

    def differences(self, store: Store) -> list[str]:
        """How the index differs from the store (empty when in step); reads everything."""
        problems: list[str] = []
        wanted = _generations(store)
        with self._db_lock:
            indexed = dict(self._db.execute("SELECT iri, generation FROM graphs").fetchall())
            mine = sorted(self._db.execute(
                "SELECT g.iri, l.subject, p.iri, l.kind, coalesce(l.raw, l.text) FROM literals l "
                "JOIN graphs g ON g.id = l.graph JOIN predicates p ON p.id = l.predicate"
            ).fetchall())
            fts = self._db.execute(
                "INSERT INTO literals_fts(literals_fts, rank) VALUES ('integrity-check', 1)")
            del fts
        graphs = pod_graphs(store)
        if set(indexed) != {g.value for g in graphs}:
            problems.append(f"graphs: index {sorted(indexed)}, store "
                            f"{sorted(g.value for g in graphs)}")
        for graph in graphs:
            if indexed.get(graph.value, "") != wanted.get(graph.value, ""):
                problems.append(f"generation of {graph.value}")
        theirs = sorted((g.value, *row) for g in graphs for row in _graph_rows(store, g))
        if mine != theirs:
            extra = sorted(set(mine) - set(theirs))[:5]
            missing = sorted(set(theirs) - set(mine))[:5]
            problems.append(f"rows: {len(mine)} indexed, {len(theirs)} in the store; "
                            f"extra {extra}, missing {missing}")
        return problems


def select_groups(groups: Iterable[tuple[str, str, int, int]],
                  depths: Mapping[str, list[int]], limit: int) -> list[tuple[str, str]]:
    """Which (graph, subject) groups hold the first `limit` rows of the ranking.

    `groups` are (graph, subject, match_count, rows matching any term). The query sorts
    groups by match_count desc, depth key asc (a group's rows come once per depth
    statement of its graph), graph, subject: every row up to the limit lies in a
    (match_count, depth, graph) bucket at or before the one where the running row total
    reaches the limit. The groups of those buckets, queried alone, rank their rows exactly
    as the whole store does, and come first. Subjects are not compared here (only SPARQL
    orders them): the whole boundary bucket is kept."""
    entries = sorted((-matches, key, graph, subject, rows)
                     for graph, subject, matches, rows in groups
                     for key in depths.get(graph, [0]))
    bound: tuple[int, int, str] | None = None
    total = 0
    for entry in entries:
        total += entry[4]
        if total >= limit:
            bound = entry[:3]
            break
    chosen = {(e[2], e[3]) for e in entries if bound is None or e[:3] <= bound}
    return sorted(chosen)


def open_beside(path: Path, store: Store) -> FullTextIndex | None:
    """The index at `path`, in step with `store`; None (searches scan, nothing else
    depends on the index) when it cannot be opened nor rebuilt."""
    try:
        return FullTextIndex.open(path, store)
    except (sqlite3.Error, OSError) as exc:
        log.error("fulltext_unavailable", path=str(path), error=str(exc))
        return None
