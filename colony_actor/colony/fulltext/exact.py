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

import heapq
import json
import sqlite3
from collections.abc import Mapping, Sequence
from typing import Final

from colony_actor.colony.fulltext.ranking import Candidates, first_groups
from colony_actor.colony.fulltext.schema import graph_of
from colony_actor.colony.store.sparql import NO_DEPTH

# Matching literals read into Python at most; with more, the ranking query in SQL (which
# runs without the GIL) answers.
MAX_POSTINGS: Final = 50_000
_POSTINGS: Final = "SELECT rowid FROM literal_words WHERE literal_words MATCH ? LIMIT ?"
_NO_DEPTH: Final = [NO_DEPTH]
_IRIS: Final = "SELECT id, iri FROM graphs WHERE id IN (SELECT value FROM json_each(?))"
_ROWS: Final = ("SELECT id, subject, predicate, kind FROM literals "
                "WHERE id IN (SELECT value FROM json_each(?))")


def candidates(reader: sqlite3.Connection, per_term: Sequence[Sequence[str]], limit: int,
               depths: Mapping[str, list[int]], version: int) -> Candidates | None:
    """The candidates of a search of one-word terms whose matches `per_term` gives (their
    words.expressions), ranked with each graph's depth keys `depths`; None if they are
    more than MAX_POSTINGS literals."""
    # One snapshot for the postings and the rows they name: a write committed between
    # two reads would leave a posting without its row (the search then learns from the
    # index's version that it must ask again).
    reader.execute("BEGIN")
    try:
        return _candidates(reader, per_term, limit, depths, version)
    finally:
        reader.execute("COMMIT")


def _candidates(reader: sqlite3.Connection, per_term: Sequence[Sequence[str]], limit: int,
                depths: Mapping[str, list[int]], version: int) -> Candidates | None:
    masks: dict[int, int] = {}  # literal id: the terms it holds, a bit each
    for bit, expressions in enumerate(per_term):
        for expression in expressions:
            for literal, in reader.execute(_POSTINGS, (expression, MAX_POSTINGS + 1)):
                masks[literal] = masks.get(literal, 0) | (1 << bit)
            if len(masks) > MAX_POSTINGS:
                return None
    per_graph: dict[int, list[int]] = {}
    held: dict[int, int] = {}  # graph id: the terms its literals hold
    for literal, mask in masks.items():
        graph = graph_of(literal)
        per_graph.setdefault(graph, []).append(literal)
        held[graph] = held.get(graph, 0) | mask
    iris = dict(reader.execute(_IRIS, (json.dumps(list(per_graph)),)).fetchall())
    if len(iris) != len(per_graph):
        return None  # a graph left the index since the postings were read
    mixed = [graph for graph, mask in held.items() if mask & (mask - 1)]
    rows = _rows(reader, [n for graph in mixed for n in per_graph[graph]])
    # Buckets (-match_count, depth key, graph IRI), each with its rows; a graph holding
    # one term is one bucket per key (its groups: None), one holding several has a
    # bucket per match_count of its subjects (its groups: those subjects).
    buckets: dict[tuple[int, int, str], list[int]] = {}
    groups: dict[tuple[int, int, str], list[tuple[int, str | None]]] = {}
    for graph in mixed:
        subjects: dict[str, tuple[int, int]] = {}
        for literal in per_graph[graph]:
            subject = rows[literal][0]
            terms, count = subjects.get(subject, (0, 0))
            subjects[subject] = (terms | masks[literal], count + 1)
        iri = iris[graph]
        for subject, (terms, count) in subjects.items():
            for key in depths.get(iri, _NO_DEPTH):
                bucket = (-terms.bit_count(), key, iri)
                buckets.setdefault(bucket, [0])[0] += count
                groups.setdefault(bucket, []).append((graph, subject))
    # The graphs of one term, by (key, IRI): each has a row at least, so the first
    # `limit` of them reach the limit whatever comes before them.
    single = heapq.nsmallest(limit, ((key, iris[graph], graph) for graph, mask in held.items()
                                     if not mask & (mask - 1)
                                     for key in depths.get(iris[graph], _NO_DEPTH)))
    for key, iri, graph in single:
        # Several depth statements of one key: one bucket, its rows counted once (fewer
        # than the query's, so the boundary can only come later).
        buckets[(-1, key, iri)] = [len(per_graph[graph])]
        groups[(-1, key, iri)] = [(graph, None)]
    kept: set[tuple[int, str | None]] = set()
    total = 0
    for bucket in sorted(buckets):
        kept.update(groups[bucket])
        total += buckets[bucket][0]
        if total >= limit:
            break
    rows.update(_rows(reader, [n for graph, subject in kept if subject is None
                               for n in per_graph[graph]]))
    literals = [(iris[graph_of(n)], subject, predicate, kind, n)
                for n, (subject, predicate, kind) in rows.items()
                if (graph_of(n), None) in kept or (graph_of(n), subject) in kept]
    chosen, ambiguous = first_groups(literals)
    return Candidates(chosen, ambiguous, depths, version)


def _rows(reader: sqlite3.Connection, literals: list[int]) -> dict[int, tuple[str, int, str]]:
    """Subject, predicate id and kind of these literals, by id."""
    if not literals:
        return {}
    return {int(n): (str(x), int(p), str(k)) for n, x, p, k in
            reader.execute(_ROWS, (json.dumps(literals),))}
