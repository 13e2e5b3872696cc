"""The walk of a common term's first rows (fulltext/walk.py): the buckets the ranking query
keeps, the scan's rows through the public search, and a give-up past its budget."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from contextlib import closing

import pytest
import trio

from colony_actor.colony.facade import Colony
from colony_actor.colony.fulltext import rows, walk, words
from colony_actor.colony.fulltext.ranking import first_literals_query

from ..conftest import MemoryNetwork, OpenColony
from .test_fulltext import assert_same, fill

TERMS = ["a", "e", "road", "beatles", "ß", "😀", "zzz nothing", "music", '"', "ant://"]
LIMITS = (1, 2, 5, 13, 40, 1000)


def reader_with_depths(colony: Colony) -> tuple[sqlite3.Connection, walk.Order]:
    """A connection to the colony's index with the depth keys the ranking query reads,
    and the walk's graph order."""
    assert colony.fulltext is not None
    depths = rows.depth_keys(colony.store.store, colony.store.config_node)
    reader = sqlite3.connect(str(colony.fulltext.path))
    reader.execute("CREATE TEMP TABLE depth_keys(iri TEXT NOT NULL, key INTEGER NOT NULL)")
    reader.executemany("INSERT INTO temp.depth_keys VALUES (?, ?)",
                       [(g, k) for g, keys in depths.items() for k in keys])
    return reader, walk.graph_order(reader, depths)


def lowered(colony: Colony) -> Iterator[str]:
    yield from rows.lcase(colony.store.store, TERMS)


async def test_the_walk_keeps_the_buckets_of_the_ranking_query(
        open_colony: OpenColony, network: MemoryNetwork) -> None:
    colony = await open_colony(network)
    await fill(colony, pods=4, copies=9)

    def work() -> None:
        reader, order = reader_with_depths(colony)
        with closing(reader):
            # Graphs once per depth key, ordered by (key, IRI): the pods and the config.
            assert order == sorted(order) and len(order) == 5
            for term in lowered(colony):
                for limit in LIMITS:
                    walked = walk.first_literals(reader, order, term, limit)
                    assert walked is not None
                    sql, params = first_literals_query(
                        term, words.prefilter(words.look_up(reader, [term])), limit)
                    queried = reader.execute(sql, params).fetchall()
                    assert sorted(set(walked)) == sorted(set(queried)), (term, limit)

    await trio.to_thread.run_sync(work)


async def test_a_walk_past_its_budget_gives_up(open_colony: OpenColony,
                                               network: MemoryNetwork) -> None:
    colony = await open_colony(network)
    await fill(colony, pods=4, copies=9)

    def work() -> None:
        reader, order = reader_with_depths(colony)
        with closing(reader):
            # "zzz nothing" is found nowhere: every graph is read, more than a budget of 1.
            assert walk.first_literals(reader, order[:1], "zzz nothing", 5, budget=1) == []
            assert walk.first_literals(reader, order, "zzz nothing", 5, budget=1) is None
            assert walk.first_literals(reader, order, "zzz nothing", 5) == []
            # "a" is everywhere: its first row lies in the first graph.
            assert walk.first_literals(reader, order, "a", 1, budget=1)

    await trio.to_thread.run_sync(work)


@pytest.mark.parametrize("budget", [walk.WALK_BUDGET, 0])
async def test_searches_that_walk_give_the_scans_rows(
        open_colony: OpenColony, network: MemoryNetwork, budget: int,
        monkeypatch: pytest.MonkeyPatch) -> None:
    colony = await open_colony(network)
    await fill(colony, pods=4, copies=9)
    assert colony.fulltext is not None
    # Every one-term search counts as common: it walks (or gives up at once, with no budget).
    colony.fulltext.common_matches = 1
    colony.fulltext.walk_budget = budget
    answers: list[bool] = []
    first_literals = walk.first_literals

    def watched(*args: object, **kwargs: object) -> list[walk.Literal] | None:
        found = first_literals(*args, **kwargs)  # type: ignore[arg-type]
        answers.append(found is not None)
        return found

    monkeypatch.setattr(walk, "first_literals", watched)
    await assert_same(colony, TERMS, limits=LIMITS)
    assert answers and all(answers) == (budget > 0), answers


def test_terms_the_word_index_cannot_look_up_always_walk() -> None:
    reader = sqlite3.connect(":memory:")
    assert walk.is_common(reader, None)


def test_a_walk_reads_each_graph_as_one_range_of_literal_ids() -> None:
    # A graph's literals are a range of ids: read in the table's order, not looked up one
    # by one through the (graph, subject) index (3x slower at 10M triples).
    with closing(sqlite3.connect(":memory:")) as db:
        db.execute("CREATE TABLE literals(id INTEGER PRIMARY KEY, graph INTEGER NOT NULL, "
                   "subject TEXT NOT NULL, predicate INTEGER NOT NULL, kind TEXT NOT NULL, "
                   "text TEXT NOT NULL, raw TEXT)")
        db.execute("CREATE INDEX literals_subject ON literals(graph, subject)")
        for query in (walk._COUNTS, walk._ROWS):
            plan = " | ".join(row[3] for row in db.execute("EXPLAIN QUERY PLAN " + query,
                                                           ("[1, 2]", "a")))
            assert "SEARCH l USING INTEGER PRIMARY KEY" in plan, plan
