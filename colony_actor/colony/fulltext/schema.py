"""The full-text index file: its tables, opening it, and building it whole from the store.

One row per literal statement of every pod graph: graph, subject, predicate, the literal's
kind and its lower-cased text, under a word index (words.py: the vocabulary, a trigram index
of it, and each literal's words). A file that is missing, from another schema or Unicode
version, or unreadable is rebuilt in a side file and moved in place. Blocking; this
module must never write to the store, and never leave a half-built file where the index
is looked for.
"""

from __future__ import annotations

import contextlib
import os
import sqlite3
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Final

import structlog
from pyoxigraph import Store

from colony_actor.colony.fulltext import words
from colony_actor.colony.fulltext.rows import every_row, generations
from colony_actor.colony.store.reads import pod_graphs
from colony_actor.runtime.files import fsync_dir

log = structlog.get_logger("colony_actor.colony.fulltext")

SCHEMA_VERSION: Final = "6"
# A literal's id is its graph's id shifted by GRAPH_SHIFT plus its number within the graph,
# so that the word index's postings (literal ids) name their graphs (exact.py).
GRAPH_SHIFT: Final = 32
INSERT_WITH_ID: Final = ("INSERT INTO literals(id, graph, subject, predicate, kind, text, raw) "
                         "VALUES (?, ?, ?, ?, ?, ?, ?)")
_NUL_STAND_IN: Final = "\uffff"
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
    # words.py: the vocabulary (never deleted from: ids stay valid until a rebuild), its
    # trigram index, and each literal's word ids (rowid: the literal's id; written and
    # deleted by upkeep.py, with the same document both times).
    "CREATE TABLE words(id INTEGER PRIMARY KEY, word TEXT NOT NULL UNIQUE)",
    "CREATE VIRTUAL TABLE words_fts USING fts5(word, content='words', content_rowid='id', "
    "tokenize='trigram case_sensitive 1')",
    "CREATE VIRTUAL TABLE literal_words USING fts5(words, content='', columnsize=0, "
    "detail=none)",
)
# Created after a bulk load.
_MAINTENANCE: Final = (
    "CREATE INDEX literals_subject ON literals(graph, subject)",
)


class IndexUnusable(Exception):
    """The index file is missing, from another schema, or unreadable."""


class IndexFull(Exception):
    """A graph has more literals than the index can number."""


def text_columns(text: str) -> tuple[str, str | None]:
    """The (text, raw) columns of a row's lower-cased text."""
    if "\x00" not in text:
        return text, None
    return text.replace("\x00", _NUL_STAND_IN), text


def connect(path: Path) -> sqlite3.Connection:
    # Used from whichever worker thread holds the write lock (or a reader from the pool);
    # autocommit mode: transactions are explicit (`transaction`).
    return sqlite3.connect(str(path), check_same_thread=False, isolation_level=None,
                           timeout=30.0)


@contextlib.contextmanager
def transaction(db: sqlite3.Connection) -> Iterator[None]:
    db.execute("BEGIN IMMEDIATE")
    try:
        yield
    except BaseException:
        db.execute("ROLLBACK")
        raise
    db.execute("COMMIT")


def open_existing(path: Path) -> sqlite3.Connection:
    """The writer's connection to the index file at `path`; IndexUnusable if it is not
    there, not of this schema, or cannot be read."""
    if not path.exists():
        raise IndexUnusable("no index file")
    db: sqlite3.Connection | None = None
    try:
        db = _writer(path)
        row = db.execute("SELECT value FROM meta WHERE key = 'schema'").fetchone()
        if row is None or row[0] != SCHEMA_VERSION:
            raise IndexUnusable(f"schema {row[0] if row else 'unknown'}, "
                                f"expected {SCHEMA_VERSION}")
        row = db.execute("SELECT value FROM meta WHERE key = 'unicode'").fetchone()
        if row is None or row[0] != words.UNICODE:
            raise IndexUnusable(f"words of Unicode {row[0] if row else 'unknown'}, "
                                f"expected {words.UNICODE}")
        db.execute("SELECT count(*) FROM graphs").fetchone()
        db.execute("SELECT rowid FROM words_fts WHERE words_fts MATCH 'abc' LIMIT 1")
        db.execute("SELECT rowid FROM literal_words WHERE literal_words MATCH '\"1\"' LIMIT 1")
    except sqlite3.Error as exc:
        if db is not None:
            db.close()
        raise IndexUnusable(f"unreadable: {exc}") from None
    except IndexUnusable:
        if db is not None:
            db.close()
        raise
    return db


def create_empty(path: Path) -> sqlite3.Connection:
    """A new index file at `path` (replacing whatever is there) with no graphs in it: one
    the catch-up fills graph by graph, while the index follows the store's writes (a crash
    meanwhile leaves graphs missing, which the next catch-up finds); its writer's
    connection."""
    building = path.with_name(path.name + ".new")
    _remove_files(building)
    db = connect(building)
    try:
        with transaction(db):
            for statement in (*_SCHEMA, *_MAINTENANCE):
                db.execute(statement)
            _write_versions(db)
    finally:
        db.close()
    _remove_files(path)
    os.replace(building, path)
    fsync_dir(path.parent)
    return _writer(path)


def read_seal(db: sqlite3.Connection) -> str | None:
    """The token the index was sealed with at its last clean close (None if none)."""
    row = db.execute("SELECT value FROM meta WHERE key = 'seal'").fetchone()
    return str(row[0]) if row else None


def write_seal(db: sqlite3.Connection, token: str | None) -> None:
    """Seal the index with `token` (None: unseal it)."""
    db.execute("DELETE FROM meta WHERE key = 'seal'")
    if token is not None:
        db.execute("INSERT INTO meta(key, value) VALUES ('seal', ?)", (token,))


def mark_outdated(db: sqlite3.Connection) -> None:
    """Have the next open rebuild the index (its generations still say what is stale, if
    this fails)."""
    db.execute("DELETE FROM meta WHERE key = 'schema'")


def graph_of(literal: int) -> int:
    """The id of the graph a literal id belongs to."""
    return literal >> GRAPH_SHIFT


# SQL: literal id `{literal}` is one of graph id `{graph}`'s (a graph's literals are one
# range of ids, read in the table's own order).
IN_GRAPH_SQL: Final = (f"{{literal}} BETWEEN {{graph}} << {GRAPH_SHIFT} "
                       f"AND (({{graph}} + 1) << {GRAPH_SHIFT}) - 1")


def next_literal(db: sqlite3.Connection, graph: int, count: int) -> int:
    """The first id of `count` new literals of the graph (IndexFull if the graph would
    hold more than its ids can number)."""
    base = graph << GRAPH_SHIFT
    end = base + (1 << GRAPH_SHIFT)
    row = db.execute("SELECT max(id) FROM literals WHERE id >= ? AND id < ?",
                     (base, end)).fetchone()
    first = base if row[0] is None else int(row[0]) + 1
    if first + count > end:
        raise IndexFull(f"graph {graph} would hold more than {1 << GRAPH_SHIFT} literals")
    return first


def _write_versions(db: sqlite3.Connection) -> None:
    db.executemany("INSERT INTO meta(key, value) VALUES (?, ?)",
                   (("schema", SCHEMA_VERSION), ("unicode", words.UNICODE)))


def _writer(path: Path) -> sqlite3.Connection:
    db = connect(path)
    db.execute("PRAGMA journal_mode=WAL")
    db.execute("PRAGMA synchronous=NORMAL")
    db.execute("PRAGMA wal_autocheckpoint=0")  # checkpoints.py: never inside a commit
    return db


def _remove_files(path: Path) -> None:
    for suffix in ("", "-wal", "-shm", "-journal"):
        with contextlib.suppress(FileNotFoundError):
            os.unlink(str(path) + suffix)


def rebuild(path: Path, store: Store) -> sqlite3.Connection:
    """Build the whole index from the store in a side file, then move it in place; the
    writer's connection to it."""
    started = time.monotonic()
    building = path.with_name(path.name + ".rebuild")
    rows = build_file(building, store)
    db = move_in_place(building, path)
    log.info("fulltext_rebuilt", path=str(path), literals=rows,
             seconds=round(time.monotonic() - started, 2))
    return db


def move_in_place(built: Path, path: Path) -> sqlite3.Connection:
    """Put a file `build_file` made where the index is looked for; the writer's
    connection to it."""
    _remove_files(path)
    os.replace(built, path)
    fsync_dir(path.parent)
    return _writer(path)


def build_file(building: Path, store: Store,
               progress: Callable[[int, int, int], None] = lambda *_: None) -> int:
    """Write a whole index of the store into the file `building` (replaced if there),
    synced once complete; the rows written. The rows come from one scan of the store;
    `progress(graphs_entered, graphs_total, rows)` is called after each part of it (the
    vocabulary's trigram index is then built in one step). The generation tokens are read
    before any row: a graph written meanwhile can only look stale."""
    _remove_files(building)
    db = connect(building)
    rows = 0
    try:
        db.execute("PRAGMA journal_mode=OFF")
        db.execute("PRAGMA synchronous=OFF")
        with transaction(db):
            for statement in _SCHEMA:
                db.execute(statement)
            tokens = generations(store)
            graphs = pod_graphs(store)
            for number, graph in enumerate(graphs, 1):
                db.execute("INSERT INTO graphs(id, iri, generation) VALUES (?, ?, ?)",
                           (number, graph.value, tokens.get(graph.value, "")))
            ids = {g.value: n for n, g in enumerate(graphs, 1)}
            predicates: dict[str, int] = {}

            def predicate(iri: str) -> int:
                number = predicates.get(iri)
                if number is None:
                    number = predicates[iri] = len(predicates) + 1
                return number

            vocabulary: dict[str, int] = {}

            def document(text: str) -> str:
                return words.document(vocabulary.setdefault(w, len(vocabulary) + 1)
                                      for w in words.words_of(text))

            numbered: dict[int, int] = {}  # literals numbered so far, per graph id

            def literal_id(graph: int) -> int:
                number = numbered.get(graph, 0)
                if number >= 1 << GRAPH_SHIFT:
                    raise IndexFull(f"graph {graph} holds more than {number} literals")
                numbered[graph] = number + 1
                return (graph << GRAPH_SHIFT) + number

            for found, entered in every_row(store):
                values = [(literal_id(ids[g]), ids[g], x, predicate(p), k, *text_columns(t))
                          for g, x, p, k, t in found]
                db.executemany(INSERT_WITH_ID, values)
                db.executemany("INSERT INTO literal_words(rowid, words) VALUES (?, ?)",
                               ((v[0], d) for v in values if (d := document(v[5]))))
                rows += len(found)
                progress(entered, len(graphs), rows)
            db.executemany("INSERT INTO predicates(id, iri) VALUES (?, ?)",
                           ((n, iri) for iri, n in predicates.items()))
            db.executemany("INSERT INTO words(id, word) VALUES (?, ?)",
                           ((n, w) for w, n in vocabulary.items()))
            db.execute("INSERT INTO words_fts(words_fts) VALUES ('rebuild')")
            # The postings written in parts as one segment: a word's are then read with
            # one seek, not one per part (a lookup of 100 words 0.4 ms instead of 2 at 1M).
            db.execute("INSERT INTO literal_words(literal_words) VALUES ('optimize')")
            for statement in _MAINTENANCE:
                db.execute(statement)
            _write_versions(db)
    finally:
        db.close()
    with open(building, "rb") as handle:
        os.fsync(handle.fileno())
    return rows
