"""A text search of several terms that the word index answers exactly: its candidates from
the postings, graph by graph, reading only the rows of the groups it keeps.

A term that is one run of word characters lies in a literal exactly when the literal holds
a word containing it (words.py), so the postings of those words are its matches, no more.
Each literal id names its graph (schema.GRAPH_SHIFT), so the postings alone say how many
matching rows each graph has and which terms it holds. The ranking's buckets are
(match_count, depth key, graph): a graph holding one of the terms is, for each of its depth
keys, one bucket of match_count 1 with all its matching rows; only a graph holding several
terms has its matching rows read, to know each subject's match_count. The buckets are then
ranked (the graphs holding matches sorted among themselves by depth key and IRI, read for
them alone), and the rows of those up to the one holding the `limit`-th row are read: the
groups `ranking.RANKED` keeps, at a cost that grows with the matching literals by a
dictionary entry each instead of a row read, a sort and a join each.

Blocking; this module must never write, and never decide a row's order itself (the
search's own query does).
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Collection, Iterable, Mapping, Sequence
from typing import Final

from colony_actor.colony.fulltext import words
from colony_actor.colony.fulltext.ranking import Candidates, first_groups
from colony_actor.colony.fulltext.schema import graph_of
from colony_actor.colony.store.sparql import NO_DEPTH

# Matching literals read into Python at most; with more, the ranking query in SQL (which
# runs without the GIL) answers.
MAX_POSTINGS: Final = 50_000
_POSTINGS: Final = "SELECT rowid FROM literal_words WHERE literal_words MATCH ? LIMIT ?"
_IRIS: Final = "SELECT id, iri FROM graphs WHERE id IN (SELECT value FROM json_each(?))"
_ROWS: Final = ("SELECT id, subject, predicate, kind FROM literals "
                "WHERE id IN (SELECT value FROM json_each(?))")


def term_expressions(reader: sqlite3.Connection, lowered: Sequence[str]
                     ) -> list[list[str]] | None:
    """Per lower-cased term, the MATCH expressions whose rows are exactly its matches;
    None unless every term is one run of word characters the vocabulary can look up."""
    found = []
    for term in lowered:
        if not words.is_one_word(term):
            return None
        expressions = words.expressions(reader, term)
        if expressions is None:
            return None
        found.append(expressions)
    return found


def candidates(reader: sqlite3.Connection, per_term: Sequence[Sequence[str]], limit: int,
               depths: Mapping[str, list[int]], version: int) -> Candidates | None:
    """The candidates of a search whose terms' matches `per_term` gives
    (`term_expressions`), ranked with each graph's depth keys `depths`; None if they are
    more than MAX_POSTINGS literals."""
    masks: dict[int, int] = {}  # literal id: the terms it holds, a bit each
    for bit, expressions in enumerate(per_term):
        for expression in expressions:
            for literal, in reader.execute(_POSTINGS, (expression, MAX_POSTINGS + 1)):
                masks[literal] = masks.get(literal, 0) | (1 << bit)
            if len(masks) > MAX_POSTINGS:
                return None
    per_graph: dict[int, list[int]] = {}
    for literal in masks:
        per_graph.setdefault(graph_of(literal), []).append(literal)
    graphs = _order(reader, per_graph, depths)
    if graphs is None:
        return None
    positions, iris = graphs
    terms_of = {graph: _union(masks[n] for n in found) for graph, found in per_graph.items()}
    mixed = [literal for graph, found in per_graph.items() if _count(terms_of[graph]) > 1
             for literal in found]
    rows = _rows(reader, mixed)
    # Buckets: (-match_count, position in the graph order); each entry's rows, graph id,
    # and the subject of a group of a graph holding several terms (None: the whole graph).
    entries: list[tuple[int, int, int, int, str | None]] = []
    for graph, found in per_graph.items():
        if _count(terms_of[graph]) == 1:
            entries += [(-1, at, len(found), graph, None) for at in positions[graph]]
            continue
        subjects: dict[str, tuple[int, int]] = {}
        for literal in found:
            subject = rows[literal][0]
            held, count = subjects.get(subject, (0, 0))
            subjects[subject] = (held | masks[literal], count + 1)
        entries += [(-_count(held), at, count, graph, subject)
                    for subject, (held, count) in subjects.items()
                    for at in positions[graph]]
    entries.sort(key=lambda e: (e[0], e[1]))
    bound: tuple[int, int] | None = None
    total = 0
    for entry in entries:
        total += entry[2]
        if total >= limit:
            bound = (entry[0], entry[1])
            break
    kept = {(e[3], e[4]) for e in entries if bound is None or (e[0], e[1]) <= bound}
    whole = [n for graph, subject in kept if subject is None for n in per_graph[graph]]
    rows.update(_rows(reader, whole))
    literals = [(iris[graph_of(n)], subject, predicate, kind, n)
                for n, (subject, predicate, kind) in rows.items()
                if (graph_of(n), None) in kept or (graph_of(n), subject) in kept]
    chosen, ambiguous = first_groups(literals)
    return Candidates(chosen, ambiguous, depths, version)


def _order(reader: sqlite3.Connection, graphs: Collection[int],
           depths: Mapping[str, list[int]]
           ) -> tuple[dict[int, list[int]], dict[int, str]] | None:
    """Where each of these graphs stands among them in the ranking's order of graphs (once
    per depth key, by key then IRI), and its IRI, by graph id; None if one is not in the
    index (a write came between)."""
    iris = {int(n): str(iri) for n, iri in
            reader.execute(_IRIS, (json.dumps(sorted(graphs)),))}
    order = sorted((key, iri, number) for number, iri in iris.items()
                   for key in depths.get(iri, [NO_DEPTH]))
    positions: dict[int, list[int]] = {}
    for at, (_, _, number) in enumerate(order):
        positions.setdefault(number, []).append(at)
    return (positions, iris) if len(iris) == len(graphs) else None


def _rows(reader: sqlite3.Connection, literals: list[int]) -> dict[int, tuple[str, int, str]]:
    """Subject, predicate id and kind of these literals, by id."""
    if not literals:
        return {}
    return {int(n): (str(x), int(p), str(k)) for n, x, p, k in
            reader.execute(_ROWS, (json.dumps(literals),))}


def _union(masks: Iterable[int]) -> int:
    out = 0
    for mask in masks:
        out |= mask
    return out


def _count(mask: int) -> int:
    return bin(mask).count("1")
