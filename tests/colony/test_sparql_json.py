"""SELECT answers written as SPARQL JSON text by pyoxigraph (colony/sparql_json.py) must
read back as exactly what the rows path of search.py builds, with the same count and pod
graphs; and they must stop at their bounds."""

from __future__ import annotations

import json
import time
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pyoxigraph import BlankNode, Literal, NamedNode, Quad, Store, Triple

from colony_actor.colony import search, sparql_json
from colony_actor.colony.errors import SearchTimeout
from colony_actor.colony.vocab import LOCAL_GRAPH
from colony_actor.json_pieces import Raw
from colony_actor.threads import INLINE_MAX_BYTES

SELECT = "SELECT ?subject ?object ?graph ?unbound WHERE { GRAPH ?graph { ?subject ?p ?object } }"
FAR = float("inf")

texts = st.text(st.characters(blacklist_categories=("Cs",)), max_size=30)
objects = st.one_of(
    texts.map(Literal),
    st.tuples(texts, st.sampled_from(["en", "en-gb", "fr"])).map(
        lambda t: Literal(t[0], language=t[1])),
    st.integers().map(lambda n: Literal(str(n), datatype=NamedNode(
        "http://www.w3.org/2001/XMLSchema#integer"))),
    st.integers(0, 5).map(lambda n: NamedNode(f"http://example.com/o{n}")),
    st.integers(0, 5).map(lambda n: BlankNode(f"b{n}")),
    texts.map(lambda t: Triple(NamedNode("http://x/s"), NamedNode("http://x/p"), Literal(t))),
)
quads = st.lists(st.tuples(st.integers(0, 3), st.integers(0, 4), objects), max_size=40)


def filled(rows: list[tuple[int, int, Any]]) -> Store:
    store = Store()
    for subject, graph, obj in rows:
        store.add(Quad(NamedNode(f"http://example.com/s{subject}"),
                       NamedNode("http://example.com/p"), obj,
                       NamedNode(f"ant://pod{graph}") if graph else BlankNode("g")))
    return store


@settings(max_examples=60, deadline=None)
@given(quads)
def test_the_text_reads_back_as_the_rows_path_builds(rows: list[tuple[int, int, Any]]) -> None:
    store = filled(rows)
    sparql = SELECT + " ORDER BY ?graph ?subject ?object"
    expected = search._query(store, sparql, FAR, 1000).to_json()
    answer = sparql_json.collect(store.query(sparql), FAR, 1000)
    assert json.loads(answer.text) == expected["sparql_results"]
    assert answer.count == expected["result_count"]
    assert answer.pods_found == expected["pods_found"]  # the order of first appearance too
    assert answer.to_json() == expected


def test_a_large_answer_stays_text_and_a_small_one_is_parsed() -> None:
    store = Store()
    for n in range(2000):
        store.add(Quad(NamedNode(f"http://example.com/s{n}"), NamedNode("http://example.com/p"),
                       Literal("é" * 40), NamedNode(f"ant://pod{n % 7}")))
    large = sparql_json.collect(store.query(SELECT), FAR, 10_000)
    assert len(large.text) > INLINE_MAX_BYTES
    out = large.to_json()
    assert isinstance(out["sparql_results"], Raw) and out["result_count"] == 2000
    assert len(out["pods_found"]) == 7
    small = sparql_json.collect(store.query(SELECT + " LIMIT 3"), FAR, 10_000).to_json()
    assert len(small["sparql_results"]["results"]["bindings"]) == 3


def test_bounds() -> None:
    store = filled([(n, 1, Literal(str(n))) for n in range(4)])
    assert sparql_json.collect(store.query(SELECT), FAR, 4).count == 4
    with pytest.raises(sparql_json.TooLarge):
        sparql_json.collect(store.query(SELECT), FAR, 3)
    with pytest.raises(sparql_json.TooLarge):
        sparql_json.collect(store.query(SELECT), FAR, 4, max_bytes=100)
    with pytest.raises(SearchTimeout):
        sparql_json.collect(store.query(SELECT), time.monotonic() - 1, 4)


def test_the_deadline_holds_while_sqlite_reads_the_text(monkeypatch: pytest.MonkeyPatch) -> None:
    store = filled([(n, 1, Literal(str(n))) for n in range(500)])
    late = False
    written = sparql_json._Collector.getvalue

    def getvalue(self: sparql_json._Collector) -> bytes:
        nonlocal late
        late = True  # the text is whole: from here on, the deadline has passed
        return written(self)

    monkeypatch.setattr(sparql_json._Collector, "getvalue", getvalue)
    monkeypatch.setattr(sparql_json.time, "monotonic", lambda: 100.0 if late else 0.0)
    monkeypatch.setattr(sparql_json, "_DEADLINE_STEPS", 10)
    with pytest.raises(SearchTimeout):
        sparql_json.collect(store.query(SELECT), 50.0, 1000)


def test_an_advanced_query_past_the_row_limit_is_truncated_as_rows(
        monkeypatch: pytest.MonkeyPatch) -> None:
    store = filled([(n, 1 + n % 2, Literal(str(n))) for n in range(4)])
    query = search.parse_query({"type": "advanced", "sparql": SELECT + " ORDER BY ?object"})
    config = NamedNode("ant://config")
    whole = search.run(store, query, config, FAR)
    assert isinstance(whole, sparql_json.Serialized) and whole.count == 4
    monkeypatch.setattr(search, "MAX_ADVANCED_ROWS", 3)
    cut = search.run(store, query, config, FAR).to_json()
    assert cut["truncated"] is True and cut["result_count"] == 3
    assert [row["object"]["value"] for row in cut["sparql_results"]["results"]["bindings"]] \
        == ["0", "1", "2"]
    assert cut["pods_found"] == ["ant://pod1", "ant://pod2"]
    # ASK and CONSTRUCT keep the rows path.
    ask = search.run(store, search.parse_query({"type": "advanced", "sparql": "ASK {}"}),
                     config, FAR)
    assert ask.to_json()["sparql_results"] == {"head": {}, "boolean": True}
    assert LOCAL_GRAPH.value not in whole.pods_found
