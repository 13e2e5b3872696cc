"""Which (graph, subject) groups can hold the first rows of a text search's ranking.

The text query ranks rows by match_count (how many distinct terms a subject's literals in a
graph contain), then the depth key of the graph, then graph, subject, predicate, object.
A group's rows all share its match_count; a graph's rows come once per depth statement of
the graph. So every row up to the limit lies in a (match_count, depth key, graph) bucket at
or before the one where the running row total reaches the limit, and the groups of those
buckets, queried alone, rank their rows exactly as the whole store does. Pure SQL text and
functions; this module must never run a query itself.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Final

from colony_actor.colony.fulltext.words import Prefilter, rowids
from colony_actor.colony.store.sparql import NO_DEPTH

_INT64_MIN: Final = -(1 << 63)
_INT64_MAX: Final = (1 << 63) - 1
# select_groups in SQL, over the groups query ({groups}: graph id, subject, rows, matches,
# ambiguous) with the limit as parameter ?{limit}: each group once per depth key of its
# graph (NO_DEPTH without any), a running row total in ranking order, the (matches, key,
# graph) bucket where it reaches the limit, and every group up to that bucket.
RANKED: Final = (
    "WITH e AS (SELECT g.iri AS iri, s.subject AS subject, s.matches AS matches, "
    f"s.rows AS rows, s.ambiguous AS ambiguous, coalesce(d.key, {NO_DEPTH}) AS key "
    "FROM ({groups}) s JOIN graphs g ON g.id = s.graph "
    "LEFT JOIN temp.depth_keys d ON d.iri = g.iri), "
    "r AS (SELECT e.*, sum(e.rows) OVER (ORDER BY e.matches DESC, e.key, e.iri, e.subject "
    "ROWS UNBOUNDED PRECEDING) AS total FROM e), "
    "b AS (SELECT -r.matches AS m, r.key AS key, r.iri AS iri FROM r "
    "WHERE r.total >= ?{limit} ORDER BY r.total LIMIT 1) "
    "SELECT DISTINCT r.iri, r.subject, r.ambiguous FROM r "
    "WHERE NOT EXISTS (SELECT 1 FROM b) "
    "OR (-r.matches, r.key, r.iri) <= (SELECT b.m, b.key, b.iri FROM b)")


@dataclass(frozen=True)
class Candidates:
    """What the index says a text search needs to read: `groups`, the (graph, subject key)
    pairs holding every row of the first `limit` (maybe more; a blank node's key is
    `_:id`); `ambiguous_groups`, those whose rows the scan may order arbitrarily (several
    matching literals of mixed kinds under one predicate); `depths`, each graph's depth
    keys; `version`, the index's state they were read at (`FullTextIndex.changed_since`)."""
    groups: list[tuple[str, str]]
    ambiguous_groups: set[tuple[str, str]]
    depths: Mapping[str, list[int]]
    version: int


def _matching(lowered: Sequence[str], words: Prefilter | None
              ) -> tuple[list[str], str, list[str | int]]:
    """Per term, the SQL test that literal `l` contains it; the WHERE clause of the
    literals containing any term, read through the word index when `words` (its MATCH
    expression, words.prefilter) is given, else from the whole table; its parameters (the
    terms, then the MATCH expression)."""
    count = len(lowered)
    contains = [f"(instr(coalesce(l.raw, l.text), ?{i}) > 0)" for i in range(1, count + 1)]
    where = " OR ".join(contains)
    params: list[str | int] = list(lowered)
    if words is not None:
        # The word index only prefilters; `instr` over the same text decides, which is
        # exactly SPARQL's CONTAINS(LCASE(STR(?o)), LCASE(?term)).
        where = f"l.id IN ({rowids(count + 1, words)}) AND ({where})"
        params.extend(words)
    return contains, where, params


def groups_query(lowered: Sequence[str], words: Prefilter | None) -> tuple[str, list[str | int]]:
    """The SQL (and its parameters) of the groups whose literals contain any of these
    lower-cased terms (`words`: as for `_matching`): graph id, subject, rows (matching
    literals), matches (distinct terms found), ambiguous."""
    contains, where, params = _matching(lowered, words)
    terms_found = ", ".join(f"max{c} AS m{i}" for i, c in enumerate(contains))
    matches = " + ".join(f"max(c.m{i})" for i in range(len(lowered)))
    # Per (graph, subject, predicate): the matching literals; SPARQL orders those of
    # one predicate consistently only if they are all plain or all tagged strings.
    sql = (f"SELECT c.graph AS graph, c.subject AS subject, sum(c.n) AS rows, "
           f"{matches} AS matches, max(c.n > 1 AND (c.kinds > 1 OR c.kind = 'o')) "
           "AS ambiguous FROM ("
           "SELECT l.graph AS graph, l.subject AS subject, count(*) AS n, "
           f"count(DISTINCT l.kind) AS kinds, min(l.kind) AS kind, {terms_found} "
           f"FROM literals l WHERE {where} GROUP BY l.graph, l.subject, l.predicate) c "
           "GROUP BY c.graph, c.subject")
    return sql, params


def first_literals_query(term: str, words: Prefilter | None, limit: int
                         ) -> tuple[str, list[str | int]]:
    """For a one-term search, where every group's match_count is 1: the SQL (and its
    parameters) of the matching literals (graph IRI, subject, predicate id, kind, literal
    id) of the (depth key, graph) buckets up to the one holding the `limit`-th row of the
    ranking, found by a sort that keeps `limit` rows (SQLite's ORDER BY ... LIMIT) instead
    of grouping and ranking every match (`words`: as for `_matching`). Needs the reader's
    temp.depth_keys."""
    _, where, params = _matching([term], words)
    params.append(limit)
    sql = ("WITH e AS MATERIALIZED (SELECT g.iri AS iri, l.subject AS subject, "
           f"l.predicate AS predicate, l.kind AS kind, l.id AS id, "
           f"coalesce(d.key, {NO_DEPTH}) AS key FROM literals l "
           "JOIN graphs g ON g.id = l.graph LEFT JOIN temp.depth_keys d ON d.iri = g.iri "
           f"WHERE {where}), "
           f"b AS (SELECT key, iri FROM e ORDER BY key, iri LIMIT 1 OFFSET ?{len(params)} - 1) "
           "SELECT iri, subject, predicate, kind, id FROM e "
           "WHERE NOT EXISTS (SELECT 1 FROM b) OR (key, iri) <= (SELECT key, iri FROM b)")
    return sql, params


def first_groups(literals: Iterable[tuple[str, str, int, str, int]]
                 ) -> tuple[list[tuple[str, str]], set[tuple[str, str]]]:
    """The groups of `first_literals_query`'s rows, and those of them whose rows the scan
    may order arbitrarily (as groups_query's `ambiguous`)."""
    per_predicate: dict[tuple[str, str, int], dict[int, str]] = {}
    for iri, subject, predicate, kind, literal in literals:
        per_predicate.setdefault((iri, subject, predicate), {})[literal] = kind
    ambiguous = set()
    for (iri, subject, _), kinds in per_predicate.items():
        if len(kinds) > 1 and (len(set(kinds.values())) > 1 or "o" in kinds.values()):
            ambiguous.add((iri, subject))
    return sorted({(iri, subject) for iri, subject, _ in per_predicate}), ambiguous


def fits_sqlite(depths: Mapping[str, list[int]]) -> bool:
    """Whether every depth key fits SQLite's integers (RANKED can rank with them)."""
    return all(_INT64_MIN <= k <= _INT64_MAX for keys in depths.values() for k in keys)


def select_groups(groups: Iterable[tuple[str, str, int, int]],
                  depths: Mapping[str, list[int]], limit: int) -> list[tuple[str, str]]:
    """Which (graph, subject) groups hold the first `limit` rows of the ranking.

    `groups` are (graph, subject, match_count, rows matching any term). The query sorts
    groups by match_count desc, depth key asc (a group's rows come once per depth
    statement of its graph), graph, subject: every row up to the limit lies in a
    (match_count, depth, graph) bucket at or before the one where the running row total
    reaches the limit. Subjects are not compared here (only SPARQL orders them): the whole
    boundary bucket is kept."""
    entries = sorted((-matches, key, graph, subject, rows)
                     for graph, subject, matches, rows in groups
                     for key in depths.get(graph, [NO_DEPTH]))
    bound: tuple[int, int, str] | None = None
    total = 0
    for entry in entries:
        total += entry[4]
        if total >= limit:
            bound = entry[:3]
            break
    chosen = {(e[2], e[3]) for e in entries if bound is None or e[:3] <= bound}
    return sorted(chosen)
