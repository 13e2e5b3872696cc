"""The word index of the literals: which literals hold a word, and which words hold a term.

A literal's lower-cased text is split into words, the runs of Python's `\\w` characters
(letters, digits and the underscore, told apart one code point at a time). Each distinct
word gets an id in the `words` table, which a trigram FTS5 index (`words_fts`) searches by
substring; each literal's set of word ids is a document of the contentless FTS5 table
`literal_words`, whose posting lists are those of the words themselves (a term in 10,000
literals reads 10,000 postings, where a trigram index reads every literal that holds any
of the term's trigrams).

A term is found in a literal only where it lies in the literal's text; its own runs of
word characters (its pieces) then lie within words of the literal, so the literals holding
a word that contains each piece are a superset of its matches (`expressions`), and exactly
its matches when the term is one piece (`is_one_word`). The caller checks them against the
text (`instr`) unless they are exact. So a posting too many
costs a check, never a wrong answer; a posting missing would lose a match, which is why a
word is never deleted nor renumbered (the vocabulary only grows until the next rebuild) and
why a literal's postings are deleted with the very document it was given.

Blocking; this module must never write to the store, and never decide alone whether a
literal holds a term.
"""

from __future__ import annotations

import json
import re
import sqlite3
import unicodedata
from collections.abc import Iterable, Sequence
from typing import Final

_WORD: Final = re.compile(r"\w+")
# Which characters are word characters depends on Python's Unicode data: an index written
# under another version is rebuilt (schema.open_existing).
UNICODE: Final = unicodedata.unidata_version
# A piece of fewer characters that may lie anywhere in a word is looked up by reading the
# whole vocabulary.
MIN_TRIGRAM: Final = 3
# Words a term may be found in for its literals to be looked up by their postings; a term
# in more (a letter or two, say) is left to a scan of the table.
MAX_WORDS: Final = 20_000
# Words per MATCH expression: FTS5 steps through every phrase of an OR at each row.
CHUNK_WORDS: Final = 200
# A MATCH expression that matches no literal (no word has id 0).
NOTHING: Final = '"0"'
_EXACT: Final = "SELECT id FROM words WHERE word = ?1 LIMIT ?2"
# Words starting with the piece: no word holds U+10FFFF (not a word character).
_STARTING: Final = "SELECT id FROM words WHERE word >= ?1 AND word < ?1 || char(1114111) LIMIT ?2"
_CONTAINING: Final = "SELECT rowid FROM words_fts WHERE words_fts MATCH ?1 LIMIT ?2"
_CONTAINING_SHORT: Final = "SELECT id FROM words WHERE instr(word, ?1) > 0 LIMIT ?2"
_KNOWN: Final = "SELECT word, id FROM words WHERE word IN (SELECT value FROM json_each(?))"

Prefilter = tuple[str, ...]  # MATCH expressions of literal_words, the union of their rows


def is_one_word(term: str) -> bool:
    """Whether a term is one run of word characters: a literal holds it exactly when one
    of its words does."""
    return _WORD.fullmatch(term) is not None


def words_of(text: str) -> set[str]:
    """The distinct words of a lower-cased text."""
    return set(_WORD.findall(text))


def document(ids: Iterable[int]) -> str:
    """The `literal_words` document of a literal whose words have these ids."""
    return " ".join(str(n) for n in sorted(ids))


def known(db: sqlite3.Connection, words: Iterable[str]) -> dict[str, int]:
    """The ids of those of these words the vocabulary holds."""
    return {str(w): int(n) for w, n in
            db.execute(_KNOWN, (json.dumps(sorted(set(words))),)).fetchall()}


def ids_adding(db: sqlite3.Connection, words: Iterable[str]) -> dict[str, int]:
    """The ids of these words, added to the vocabulary (and its trigram index) where new.
    Run inside the writer's transaction."""
    wanted = set(words)
    ids = known(db, wanted)
    for word in sorted(wanted - ids.keys()):
        cursor = db.execute("INSERT INTO words(word) VALUES (?)", (word,))
        assert cursor.lastrowid is not None
        ids[word] = int(cursor.lastrowid)
        db.execute("INSERT INTO words_fts(rowid, word) VALUES (?, ?)", (ids[word], word))
    return ids


def documents(db: sqlite3.Connection, texts: Sequence[str], adding: bool) -> list[str]:
    """The `literal_words` documents of these texts (the words added to the vocabulary if
    `adding`; else every word must be in it already, as for the texts of rows indexed)."""
    per_text = [words_of(t) for t in texts]
    every = set().union(*per_text) if per_text else set()
    ids = ids_adding(db, every) if adding else known(db, every)
    return [document(ids[w] for w in found) for found in per_text]


def expressions(reader: sqlite3.Connection, term: str) -> list[str] | None:
    """MATCH expressions of `literal_words` whose rows (together) hold every literal that
    holds the lower-cased term (no expression: no literal does); None if the term cannot
    be looked up so (no piece, a NUL, or only pieces in more than MAX_WORDS words).

    A piece with a character of the term before it starts a word of the literal, one with
    a character after it ends one: a piece between two is a whole word, one after a
    character a word's start (both read from the vocabulary's own index). Any other is
    looked up in the vocabulary's trigram index, or, shorter than a trigram, by reading
    the vocabulary, and only if nothing cheaper is at hand. A literal holds a word of each
    piece: the expression is the AND of the pieces found in few words (CHUNK_WORDS), else
    the words of the piece found in the fewest, in parts."""
    if "\x00" in term:
        return None
    cheap: list[tuple[str, str]] = []
    costly: list[str] = []
    for match in _WORD.finditer(term):
        piece, starts, ends = match.group(), match.start() > 0, match.end() < len(term)
        if starts and ends:
            cheap.append((_EXACT, piece))
        elif starts:
            cheap.append((_STARTING, piece))
        elif len(piece) >= MIN_TRIGRAM:
            cheap.append((_CONTAINING, '"' + piece + '"'))
        else:
            costly.append(piece)
    found = [ids for sql, param in cheap
             if len(ids := [int(n) for n, in reader.execute(sql, (param, MAX_WORDS + 1))])
             <= MAX_WORDS]
    if not found and costly:
        ids = [int(n) for n, in reader.execute(_CONTAINING_SHORT,
                                               (max(costly, key=len), MAX_WORDS + 1))]
        found = [ids] if len(ids) <= MAX_WORDS else []
    if not found:
        return None
    if not all(found):
        return []
    few = [ids for ids in found if len(ids) <= CHUNK_WORDS]
    if few:
        return [" AND ".join("(" + _any(ids) + ")" for ids in few)]
    fewest = min(found, key=len)
    return [_any(fewest[i:i + CHUNK_WORDS]) for i in range(0, len(fewest), CHUNK_WORDS)]


def _any(ids: Sequence[int]) -> str:
    return " OR ".join(f'"{n}"' for n in ids)


LookedUp = Sequence[list[str] | None]  # each term's `expressions`


def look_up(reader: sqlite3.Connection, lowered: Sequence[str]) -> LookedUp:
    """Each lower-cased term's `expressions` (a term repeated is looked up once)."""
    found = {term: expressions(reader, term) for term in dict.fromkeys(lowered)}
    return [found[term] for term in lowered]


def prefilter(looked_up: LookedUp) -> Prefilter | None:
    """The `literal_words` MATCH expressions of the literals that may hold any of the
    terms looked up; None if some term could not be (the caller reads the table)."""
    found: list[str] = []
    for more in looked_up:
        if more is None:
            return None
        found += more
    return tuple(dict.fromkeys(found)) or (NOTHING,)


def rowids(first: int, words: Prefilter) -> str:
    """SQL of the rowids of `literal_words` the expressions match (with repeats), which
    are bound from parameter number `first` on."""
    return " UNION ALL ".join(
        f"SELECT rowid FROM literal_words WHERE literal_words MATCH ?{first + i}"
        for i in range(len(words)))
