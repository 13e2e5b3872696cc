"""A one-term text search over a common term: its first rows found graph by graph.

With one term every group's match_count is the same, so the ranking is the depth key, then
graph, then subject. A term found in thousands of literals fills the first `limit` rows
within the first graphs of that order, yet reading every match and sorting them grows with
the data. The walk reads the graphs in ranking order instead (the index's graphs, once per
depth key), a growing chunk at a time, through the (graph, subject) index: it counts a
chunk's matches per graph, reads the rows of the graphs up to the (depth key, graph) bucket
that holds the `limit`-th row, and stops there: the very buckets
`ranking.first_literals_query` keeps. A rare term stays on that query (its matches come
from the word index at once); a walk that finds too few rows within its budget of graphs
gives up and leaves it to that query too. Blocking; this module must never write, and never
decide a row's order itself (the search's own query does).
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Mapping, Sequence
from typing import Final

from colony_actor.colony.fulltext.schema import IN_GRAPH_SQL
from colony_actor.colony.fulltext.words import Prefilter, rowids
from colony_actor.colony.store.sparql import NO_DEPTH

# Literals holding one of its words from which a term counts as common (counted up to
# this many only).
COMMON_MATCHES: Final = 5000
# Graphs (order entries) a walk may read before it gives up.
WALK_BUDGET: Final = 8192
_FIRST_CHUNK: Final = 32
_MAX_CHUNK: Final = 2048
# A graph's literals by their range of ids, not looked up row by row through the (graph,
# subject) index (3x the time at 10M).
_MATCHING: Final = (
    "FROM json_each(?1) g CROSS JOIN literals l "
    f"ON {IN_GRAPH_SQL.format(literal='l.id', graph='g.value')} "
    "WHERE instr(coalesce(l.raw, l.text), ?2) > 0")
_COUNTS: Final = f"SELECT l.graph, count(*) {_MATCHING} GROUP BY l.graph"
_ROWS: Final = f"SELECT l.graph, l.subject, l.predicate, l.kind, l.id {_MATCHING}"

Order = list[tuple[int, str, int]]  # (depth key, graph IRI, graph id), in ranking order
Literal = tuple[str, str, int, str, int]  # graph IRI, subject, predicate id, kind, literal id


def is_common(reader: sqlite3.Connection, words: Prefilter | None,
              threshold: int = COMMON_MATCHES) -> bool:
    """Whether a walk should find a term's first rows, given its words.prefilter: a term
    the word index cannot look up (None) is read from the table either way; any other
    counts as common from `threshold` literals holding one of its words."""
    if words is None:
        return True
    found = reader.execute(f"SELECT count(*) FROM ({rowids(1, words)} LIMIT ?{len(words) + 1})",
                           (*words, threshold)).fetchone()
    return int(found[0]) >= threshold


def graph_order(reader: sqlite3.Connection, depths: Mapping[str, list[int]]) -> Order:
    """Every graph of the index once per depth key of it (NO_DEPTH without any), in the
    ranking's order: depth key, then IRI."""
    order = [(key, str(iri), int(number))
             for number, iri in reader.execute("SELECT id, iri FROM graphs")
             for key in depths.get(iri, [NO_DEPTH])]
    order.sort()
    return order


def first_literals(reader: sqlite3.Connection, order: Sequence[tuple[int, str, int]],
                   term: str, limit: int, budget: int = WALK_BUDGET) -> list[Literal] | None:
    """The matching literals of the (depth key, graph) buckets up to the one holding the
    `limit`-th row of the ranking (every match if there are fewer), as
    `ranking.first_literals_query` gives them; None if they are not all within the first
    `budget` order entries."""
    found: list[Literal] = []
    total = 0
    position = 0
    chunk = _FIRST_CHUNK
    while position < len(order):
        if position >= budget:
            return None
        part = order[position:position + min(chunk, budget - position)]
        # How many matches each graph of the part holds: only the graphs up to the one
        # that reaches the limit are then read row by row.
        counts = dict(reader.execute(_COUNTS, (json.dumps(sorted({n for _, _, n in part})),
                                               term)).fetchall())
        needed, reached = [], False
        for entry in part:
            needed.append(entry)
            # A graph's rows count once per depth key, as the ranking repeats them.
            total += int(counts.get(entry[2], 0))
            if total >= limit:
                reached = True
                break
        per_graph: dict[int, list[tuple[str, int, str, int]]] = {}
        wanted = sorted({n for _, _, n in needed if n in counts})
        for number, subject, predicate, kind, literal in reader.execute(
                _ROWS, (json.dumps(wanted), term)) if wanted else ():
            per_graph.setdefault(int(number), []).append(
                (str(subject), int(predicate), str(kind), int(literal)))
        for _, iri, number in needed:
            found.extend((iri, *match) for match in per_graph.get(number, []))
        if reached:
            return found
        position += len(part)
        chunk = min(chunk * 4, _MAX_CHUNK)
    return found
