"""Searches of several one-word terms, answered from the word index's postings
(fulltext/exact.py): the scan's rows, the graphs named by the literal ids, and the SQL
ranking when the postings are too many."""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import Any

import pytest
import trio

from colony_actor.colony.fulltext import exact, schema, words
from colony_actor.colony.fulltext.upkeep import Upkeep

from ..conftest import MemoryNetwork, OpenColony
from .test_fulltext import assert_same, fill

# Several one-word terms each: found in many subjects, in a few, in none, inside words.
EXACT = ["beatles road a", "abbey road", "rome abbey x", "eatle oad", "music 1969 42",
         "stra beatles", "zzz road", "zzz yyy", "日本 東京", "b a"]
LIMITS = (1, 2, 3, 7, 13, 50)


def test_literal_ids_name_their_graph() -> None:
    first = 7 << schema.GRAPH_SHIFT
    assert schema.graph_of(first) == 7 and schema.graph_of(first + 12345) == 7


@pytest.mark.parametrize("most", [exact.MAX_POSTINGS, 1], ids=["postings", "too-many"])
async def test_several_words_give_the_scans_rows(open_colony: OpenColony,
                                                 network: MemoryNetwork,
                                                 monkeypatch: pytest.MonkeyPatch,
                                                 most: int) -> None:
    colony = await open_colony(network)
    await fill(colony, pods=4, copies=9)
    monkeypatch.setattr(exact, "MAX_POSTINGS", most)
    answered: list[bool] = []
    candidates = exact.candidates

    def watched(*args: object, **kwargs: object) -> object:
        found = candidates(*args, **kwargs)  # type: ignore[arg-type]
        answered.append(found is not None)
        return found

    monkeypatch.setattr(exact, "candidates", watched)
    await assert_same(colony, EXACT, limits=LIMITS)
    # Every search went through the postings (or gave up for too many, and the SQL
    # ranking answered).
    assert len(answered) == len(EXACT) * len(LIMITS), answered
    assert all(answered) == (most > 1), answered
    # An edit moves literals between graphs' ids; the next searches still agree.
    pod = (await colony.create_pod("Beatles road more")).address
    await colony.put_subject_data(pod, f"{1:064x}", {
        "@context": {"schema": "http://schema.org/"},
        "schema:name": "abbey road beatles", "schema:description": "road rome"})
    await assert_same(colony, EXACT, limits=(3, 50))
    assert colony.fulltext is not None
    differences = await trio.to_thread.run_sync(colony.fulltext.differences,
                                                colony.store.store)
    assert differences == []


def test_a_write_between_the_reads_of_a_search_is_not_seen(tmp_path: Path) -> None:
    """The postings and the rows of one search are read from one snapshot: a write that
    commits between them (before the search learns the index's version changed, and asks
    again) must not leave a posting without its row."""
    writer = schema.create_empty(tmp_path / "index.sqlite3")
    upkeep = Upkeep(writer)
    with schema.transaction(writer):
        graph, _ = upkeep._graph_id("ant://g", "t")
        upkeep._insert(graph, [("ant://s", "http://p", "s", "foo bar")])
    reads: list[str] = []

    class Reader(sqlite3.Connection):
        def execute(self, sql: str, *args: Any) -> sqlite3.Cursor:
            cursor = super().execute(sql, *args)
            if "literal_words" in sql:
                reads.append(sql)
                if len(reads) == 2:  # both terms' postings read: a write commits
                    found = cursor.fetchall()
                    with schema.transaction(writer):
                        upkeep._delete("graph = ?", (graph,))  # its rows, not the graph
                    return super().execute("SELECT * FROM (VALUES (?)) WHERE 0 = 1 OR 1",
                                           (found[0][0],))
            return cursor

    reader = sqlite3.connect(str(tmp_path / "index.sqlite3"), factory=Reader,
                             isolation_level=None)
    try:
        per_term = [words.expressions(reader, term) or [] for term in ("foo", "bar")]
        found = exact.candidates(reader, per_term, 10, {}, 0)
        assert found is not None and found.groups == [("ant://g", "ant://s")]
    finally:
        reader.close()
        writer.close()
