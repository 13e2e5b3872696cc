"""The depth keys kept with the index's seal: written at a clean close, read at the next
open that finds the seal in step, so that the first search after a restart need not read
every pod's depth statement from the store (about a second at 100,000 pods).

They are the keys of the configuration pod named with them, as the index last computed
them; they are only trusted with the seal (no write has been made since). Blocking SQL;
this module must never read the store.
"""

from __future__ import annotations

import secrets
import sqlite3
from collections.abc import Mapping

from colony_actor.colony.fulltext import schema
from colony_actor.colony.fulltext.ranking import fits_sqlite

# A reader's depth_keys as a view of the kept keys: nothing is copied (copying 105,000 keys
# into a temporary table took the first search after a restart 0.3 s). It joins by graph,
# hence the index.
VIEW_IN_TEMP = "CREATE TEMP VIEW depth_keys AS SELECT iri, key FROM main.sealed_depths"
_INDEXED = "CREATE INDEX IF NOT EXISTS sealed_depths_iri ON sealed_depths(iri)"


def seal(db: sqlite3.Connection, config: str | None,
         depths: Mapping[str, list[int]] | None) -> str:
    """Seal the index in one transaction, with `depths` (`write`): the token for the
    store to keep, with which the next open knows the index in step."""
    token = secrets.token_hex(16)
    with schema.transaction(db):
        schema.write_seal(db, token)
        write(db, config, depths)
    return token


def write(db: sqlite3.Connection, config: str | None,
          depths: Mapping[str, list[int]] | None) -> None:
    """Keep `depths` (those of the configuration pod `config`) with the seal being
    written; None keeps nothing. Call in the seal's transaction."""
    db.execute("CREATE TABLE IF NOT EXISTS sealed_depths(iri TEXT NOT NULL, "
               "key INTEGER NOT NULL)")
    db.execute(_INDEXED)
    db.execute("DELETE FROM sealed_depths")
    db.execute("DELETE FROM meta WHERE key = 'depths_of'")
    if config is None or depths is None or not fits_sqlite(depths):
        return
    db.executemany("INSERT INTO sealed_depths(iri, key) VALUES (?, ?)",
                   ((iri, key) for iri, keys in depths.items() for key in keys))
    db.execute("INSERT INTO meta(key, value) VALUES ('depths_of', ?)", (config,))


def read(db: sqlite3.Connection) -> tuple[str, dict[str, list[int]]] | None:
    """(configuration pod, its depth keys) kept with the seal, or None. Indexes them by
    graph if an earlier version kept them without (VIEW_IN_TEMP joins by graph)."""
    row = db.execute("SELECT value FROM meta WHERE key = 'depths_of'").fetchone()
    if row is None:
        return None
    db.execute(_INDEXED)
    depths: dict[str, list[int]] = {}
    for iri, key in db.execute("SELECT iri, key FROM sealed_depths"):
        depths.setdefault(str(iri), []).append(int(key))
    return str(row[0]), depths

