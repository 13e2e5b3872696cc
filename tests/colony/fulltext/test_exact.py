"""Searches of several one-word terms, answered from the word index's postings
(fulltext/exact.py): the scan's rows, the graphs named by the literal ids, and the SQL
ranking when the postings are too many."""

from __future__ import annotations

import pytest
import trio

from colony_actor.colony.fulltext import exact, schema

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
