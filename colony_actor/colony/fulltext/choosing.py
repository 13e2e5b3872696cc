"""Which (graph, subject) groups a text search reads, asked of one reader of the index.

One term: every group's match_count is the same, so the ranking is the depth key, graph,
subject, and the first rows are found without grouping and ranking every match (by a walk
for a common term, walk.py). Several terms: from the word index's postings when each term
is one word the postings answer exactly (exact.py), else the groups of every match, ranked
in SQL (ranking.RANKED) when the depth keys fit SQLite's integers, else in Python.
Blocking; this module must never write to the index, and never run a search query itself.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Mapping, Sequence

from colony_actor.colony.fulltext import exact, words
from colony_actor.colony.fulltext.ranking import (
    RANKED,
    Candidates,
    first_groups,
    first_literals_query,
    groups_query,
    select_groups,
)
from colony_actor.colony.fulltext.walk import Literal


def candidates(reader: sqlite3.Connection, lowered: Sequence[str], looked_up: words.LookedUp,
               limit: int, depths: Mapping[str, list[int]], version: int, in_sql: bool,
               walked: Callable[[str, words.Prefilter | None], list[Literal] | None]
               ) -> Candidates:
    """The candidates of a search for these lower-cased terms (`looked_up`: their
    words.look_up). `in_sql`: the reader's temp.depth_keys holds `depths`;
    `walked(term, words)`: a one-term search's first literals by a walk (`words`: the
    term's words.prefilter), or None to leave them to the ranking query."""
    matching = words.prefilter(looked_up)
    groups, params = groups_query(lowered, matching)
    if in_sql:
        if len(set(lowered)) == 1:
            found = walked(lowered[0], matching)
            if found is None:
                sql, single = first_literals_query(lowered[0], matching, limit)
                found = [(str(i), str(x), int(p), str(k), int(n))
                         for i, x, p, k, n in reader.execute(sql, single).fetchall()]
            chosen, ambiguous = first_groups(found)
            return Candidates(chosen, ambiguous, depths, version)
        # select_groups in SQL: the work stays in SQLite (which runs without the GIL), and
        # only the chosen groups come back to Python.
        params.append(limit)
        ranked = reader.execute(RANKED.format(groups=groups, limit=len(params)),
                                params).fetchall()
        if not ranked:
            return Candidates([], set(), {}, version)
        chosen = sorted({(str(g), str(x)) for g, x, _ in ranked})
        ambiguous = {(str(g), str(x)) for g, x, a in ranked if a}
        return Candidates(chosen, ambiguous, depths, version)
    every = [(str(g), str(x), int(m), int(n), bool(a)) for g, x, m, n, a in
             reader.execute(f"SELECT g.iri, s.subject, s.matches, s.rows, s.ambiguous "
                            f"FROM ({groups}) s JOIN graphs g ON g.id = s.graph",
                            params).fetchall()]
    if not every:
        return Candidates([], set(), {}, version)
    chosen = select_groups([(g, x, m, n) for g, x, m, n, _ in every], depths, limit)
    ambiguous = {(g, x) for g, x, _, _, a in every if a}
    return Candidates(chosen, ambiguous, depths, version)


def exact_candidates(reader: sqlite3.Connection, lowered: Sequence[str],
                     looked_up: words.LookedUp, limit: int, depths: Mapping[str, list[int]],
                     version: int) -> Candidates | None:
    """The candidates of a search for several terms from the word index's postings
    (exact.py), when every term is one word the vocabulary could look up and their matches
    are not too many; else None."""
    per_term = [found for found in looked_up if found is not None]
    if (len(set(lowered)) < 2 or len(per_term) < len(looked_up)
            or not all(words.is_one_word(term) for term in lowered)):
        return None
    return exact.candidates(reader, per_term, limit, depths, version)
