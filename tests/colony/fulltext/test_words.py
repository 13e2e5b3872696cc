"""The word index (fulltext/words.py): words as Python's `\\w` runs, the words a term's
longest piece lies in, and the terms it leaves to a scan."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from pathlib import Path

import pytest
import trio

from colony_actor.colony.fulltext import words
from colony_actor.colony.fulltext.schema import IndexUnusable, create_empty, open_existing

from ..conftest import MemoryNetwork, OpenColony
from .test_fulltext import assert_same, fill

TEXTS = ["the beatles, abbey road", "straße café_au_lait", "東京 日本語", "i̇stanbul 1969",
         "ab-cd x"]


@pytest.fixture
def db(tmp_path: Path) -> Iterator[sqlite3.Connection]:
    connection = create_empty(tmp_path / "index.sqlite3")
    connection.execute("BEGIN")
    connection.executemany("INSERT INTO literal_words(rowid, words) VALUES (?, ?)",
                           enumerate(words.documents(connection, TEXTS, adding=True), 1))
    connection.execute("COMMIT")
    yield connection
    connection.close()


def test_words_are_runs_of_word_characters() -> None:
    assert words.words_of("the beatles, abbey road the") == {"the", "beatles", "abbey", "road"}
    # The underscore and every script's letters and digits are word characters; a
    # combining mark is not (the index checks the text itself, so a term across it still
    # finds its literal).
    assert words.words_of("café_au_lait 東京 ١٢") == {"café_au_lait", "東京", "١٢"}
    assert words.words_of("i̇stanbul") == {"i", "stanbul"}
    assert words.words_of(" -- ") == set()


def test_documents_reuse_the_ids_of_known_words(db: sqlite3.Connection) -> None:
    first = words.documents(db, ["road abbey"], adding=False)
    again = words.documents(db, ["abbey road road"], adding=True)
    assert first == again and len(first[0].split()) == 2
    with pytest.raises(KeyError):
        words.documents(db, ["never seen"], adding=False)


def literals(db: sqlite3.Connection, term: str) -> set[str] | None:
    """The texts whose literals the term's expressions find (None: left to the scan)."""
    found = words.expressions(db, term)
    if found is None:
        return None
    return {TEXTS[int(n) - 1] for e in found for n, in db.execute(
        "SELECT rowid FROM literal_words WHERE literal_words MATCH ?", (e,))}


def test_a_term_is_looked_up_by_its_pieces(db: sqlite3.Connection) -> None:
    assert literals(db, "eatle") == {TEXTS[0]}
    assert literals(db, "au_l") == {TEXTS[1]}
    assert literals(db, "京") == {TEXTS[2]}  # shorter than a trigram: the vocabulary is read
    assert words.expressions(db, "zzz") == []
    # A piece between two others is a whole word, one after another starts a word, and a
    # literal holds a word of each piece.
    assert literals(db, "ey road th") == {TEXTS[0]}
    assert literals(db, "s, ab") == {TEXTS[0], TEXTS[4]}  # words starting with "ab"
    assert literals(db, "b-c") == {TEXTS[1], TEXTS[4]}  # a word starting with 'c', one with b
    assert literals(db, "ab-zz") == set()  # no word starts with "zz"
    assert literals(db, "ab-") == {TEXTS[0], TEXTS[4]}  # a word's end: any word holding it
    # No word character, or a NUL: left to the scan.
    assert literals(db, ", ") is None and literals(db, "-") is None
    assert literals(db, "ab\x00cd") is None


def test_a_piece_in_too_many_words_is_left_to_the_scan(db: sqlite3.Connection,
                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(words, "MAX_WORDS", 2)
    assert words.expressions(db, "a") is None  # in 7 words
    assert literals(db, "a road") == {TEXTS[0]}  # 'road' decides
    assert words.prefilter(words.look_up(db, ["beatles", "a"])) is None
    assert words.prefilter(words.look_up(db, ["beatles", "road"])) is not None
    assert words.prefilter(words.look_up(db, ["zzz"])) == (words.NOTHING,)


def test_many_words_make_several_match_expressions(db: sqlite3.Connection,
                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(words, "CHUNK_WORDS", 2)
    found = words.prefilter(words.look_up(db, ["a"]))  # in 7 words, of 4 texts
    assert found is not None and [len(e.split(" OR ")) for e in found] == [2, 2, 2, 1]
    # Pieces in few words each: one expression, their AND ('road' AND a word from 'th').
    both = words.prefilter(words.look_up(db, ["ey road th"]))
    assert both is not None and len(both) == 1 and both[0].count(" AND ") == 1
    sql = f"SELECT DISTINCT rowid FROM ({words.rowids(1, found)})"
    assert len(db.execute(sql, found).fetchall()) == 4



async def test_searches_through_the_words_give_the_scans_rows(
        open_colony: OpenColony, network: MemoryNetwork) -> None:
    """Terms inside words, across words and punctuation, in other scripts: the index
    answers each with the scan's rows, and reads the word index for those it can."""
    colony = await open_colony(network)
    await fill(colony)
    terms = ["eatle", "bey ro", "les, 19", "ROAD", "aße ca", "本語", "ΔΟ", "1 abbey", "e b"]
    await assert_same(colony, terms)
    assert colony.fulltext is not None
    path = colony.fulltext.path

    def prefilters() -> list[words.Prefilter | None]:
        with sqlite3.connect(str(path)) as reader:
            return [words.prefilter(words.look_up(reader, [t.lower()])) for t in terms]

    looked_up = await trio.to_thread.run_sync(prefilters)
    assert all(p not in (None, (words.NOTHING,)) for p in looked_up), looked_up


def test_an_index_of_another_unicode_version_is_rebuilt(tmp_path: Path,
                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    """Which characters make words is Python's Unicode data: another version may split a
    text elsewhere, and a literal's postings would then be deleted with another document."""
    path = tmp_path / "index.sqlite3"
    create_empty(path).close()
    open_existing(path).close()
    monkeypatch.setattr(words, "UNICODE", "99.0.0")
    with pytest.raises(IndexUnusable, match="Unicode"):
        open_existing(path)
