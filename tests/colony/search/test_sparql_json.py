"""SELECT answers written as SPARQL JSON text by pyoxigraph (colony/sparql_json.py) must
read back as exactly what the rows path of results.py builds, with the same count and pod
graphs; and they must stop at their bounds."""

from __future__ import annotations

import contextlib
import gc
import json
import sys
import threading
import time
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pyoxigraph import BlankNode, Literal, NamedNode, Quad, QueryResultsFormat, Store, Triple

from colony_actor.colony.errors import InvalidInput, SearchTimeout
from colony_actor.colony.search import advanced, results, run, sparql_json
from colony_actor.colony.search.forms import parse_query
from colony_actor.colony.vocab import LOCAL_GRAPH
from colony_actor.runtime.json_pieces import Raw
from colony_actor.runtime.threads import INLINE_MAX_BYTES

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
    expected = results.run_query(store, sparql, FAR, 1000).to_json()
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


def late_in_sqlite(monkeypatch: pytest.MonkeyPatch) -> None:
    """From the moment the text is whole and goes to SQLite, the deadline has passed."""
    late = False
    summary = sparql_json.summarize

    def summarize(*args: Any) -> sparql_json.Serialized:
        nonlocal late
        late = True
        return summary(*args)

    monkeypatch.setattr(sparql_json, "summarize", summarize)
    monkeypatch.setattr(sparql_json.time, "monotonic", lambda: 100.0 if late else 0.0)
    monkeypatch.setattr(sparql_json, "DEADLINE_STEPS", 10)


def test_the_deadline_holds_while_sqlite_reads_the_text(monkeypatch: pytest.MonkeyPatch) -> None:
    store = filled([(n, 1, Literal(str(n))) for n in range(500)])
    late_in_sqlite(monkeypatch)
    with pytest.raises(SearchTimeout):
        sparql_json.collect(store.query(SELECT), 50.0, 1000)


@pytest.mark.parametrize("max_rows,stops", [(3, False), (2, True), (1, True)])
def test_rows_are_counted_across_the_pieces_edges(max_rows: int, stops: bool) -> None:
    text = b'{"head":{"vars":["a"]},"results":{"bindings":[{"a":1},{"a":2},{},{"a":3},{"a":4}]}}'
    # Three separators ({} between rows 2 and 4 hides one): more than 3 rows is certain.
    for cut in range(len(text) + 1):
        out = sparql_json.Collector(FAR, 1 << 20, max_rows)
        if stops:
            with pytest.raises(sparql_json.TooLarge):
                out.write(text[:cut])
                out.write(text[cut:])
        else:
            out.write(text[:cut])
            out.write(text[cut:])
            assert b"".join(out.pieces) == text
    # One byte at a time.
    out = sparql_json.Collector(FAR, 1 << 20, max_rows)
    with pytest.raises(sparql_json.TooLarge) if stops else contextlib.nullcontext():
        for byte in range(len(text)):
            out.write(text[byte:byte + 1])


def test_values_that_look_like_a_row_edge_are_not_counted() -> None:
    # A string value ending in "},{" is written `...},{"` and then `}` or `,`.
    store = Store()
    for n in range(5):
        store.add(Quad(NamedNode(f"http://example.com/s{n}"), NamedNode("http://example.com/p"),
                       Literal('},{'), NamedNode("ant://pod")))
        store.add(Quad(NamedNode(f"http://example.com/s{n}"), NamedNode("http://example.com/q"),
                       Triple(NamedNode("http://x/s"), NamedNode("http://x/p"), Literal('a},{')),
                       NamedNode("ant://pod")))
    out = sparql_json.Collector(FAR, 1 << 20, 9)
    store.query(SELECT).serialize(out, format=QueryResultsFormat.JSON)  # type: ignore[arg-type]
    answer = sparql_json.collect(store.query(SELECT), FAR, 10)
    assert answer.count == 10 and json.loads(answer.text)["results"]["bindings"][0]


def test_triple_terms_nested_too_deep_are_refused_in_the_rows_path() -> None:
    term: Any = Literal("x")
    for _ in range(results.MAX_TRIPLE_NESTING + 1):
        term = Triple(NamedNode("http://x/s"), NamedNode("http://x/p"), term)
    with pytest.raises(InvalidInput, match="deeper than"):
        results.term_json(term)
    assert results.term_json(term.object)["type"] == "triple"


def test_too_many_rows_stop_the_writing_before_sqlite(monkeypatch: pytest.MonkeyPatch) -> None:
    def never(*args: Any) -> None:
        raise AssertionError("SQLite read an answer already known to be too large")

    monkeypatch.setattr(sparql_json, "summarize", never)
    store = filled([(n, 1, Literal(str(n))) for n in range(5000)])
    with pytest.raises(sparql_json.TooLarge):
        sparql_json.collect(store.query(SELECT), FAR, 100)


@pytest.mark.parametrize("form", ["SELECT", "CONSTRUCT"])
def test_a_failed_query_holds_nothing_another_thread_would_drop(
        form: str, monkeypatch: pytest.MonkeyPatch) -> None:
    # pyoxigraph's iterators may only be dropped on the thread that made them; an error
    # that held one in its frames would drop it wherever the error is dropped.
    dropped: list[Any] = []
    monkeypatch.setattr(sys, "unraisablehook", dropped.append)
    store = filled([(n, 1, Literal(str(n))) for n in range(500)])
    sparql = SELECT if form == "SELECT" else (
        "CONSTRUCT { ?subject ?p ?object } WHERE { GRAPH ?graph { ?subject ?p ?object } }")
    query = parse_query({"type": "advanced", "sparql": sparql})
    deadline = 50.0
    if form == "SELECT":
        late_in_sqlite(monkeypatch)  # fails in SQLite, after the solutions were written
    else:
        deadline = -1.0  # fails in the rows path
        monkeypatch.setattr(time, "monotonic", lambda: 0.0)
    failures: list[BaseException] = []

    def worker() -> None:
        try:
            run.run(store, query, NamedNode("ant://config"), deadline)
        except SearchTimeout as exc:
            failures.append(exc)

    thread = threading.Thread(target=worker)
    thread.start()
    thread.join()
    assert len(failures) == 1
    failures.clear()
    gc.collect()
    assert dropped == []


def test_an_advanced_query_past_the_row_limit_is_truncated_as_rows(
        monkeypatch: pytest.MonkeyPatch) -> None:
    store = filled([(n, 1 + n % 2, Literal(str(n))) for n in range(4)])
    query = parse_query({"type": "advanced", "sparql": SELECT + " ORDER BY ?object"})
    config = NamedNode("ant://config")
    whole = run.run(store, query, config, FAR)
    assert isinstance(whole, sparql_json.Serialized) and whole.count == 4
    monkeypatch.setattr(advanced, "MAX_ADVANCED_ROWS", 3)
    cut = run.run(store, query, config, FAR).to_json()
    assert cut["truncated"] is True and cut["result_count"] == 3
    assert [row["object"]["value"] for row in cut["sparql_results"]["results"]["bindings"]] \
        == ["0", "1", "2"]
    assert cut["pods_found"] == ["ant://pod1", "ant://pod2"]
    # ASK and CONSTRUCT keep the rows path.
    ask = run.run(store, parse_query({"type": "advanced", "sparql": "ASK {}"}),
                     config, FAR)
    assert ask.to_json()["sparql_results"] == {"head": {}, "boolean": True}
    assert LOCAL_GRAPH.value not in whole.pods_found
