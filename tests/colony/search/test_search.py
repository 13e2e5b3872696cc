"""Search: the query forms, their errors, text terms and ranking, hostile input."""

from __future__ import annotations

import random
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st
from pyoxigraph import BlankNode, DefaultGraph, NamedNode, Quad, Store

from colony_actor.colony.errors import ColonyError, InvalidInput
from colony_actor.colony.facade import Colony
from colony_actor.colony.search.forms import parse_query, parse_terms
from colony_actor.colony.search.queries import builtin_sparql
from colony_actor.colony.search.readonly import query_form
from colony_actor.colony.search.results import Results, run_query
from colony_actor.colony.search.run import run
from colony_actor.colony.vocab import LOCAL_GRAPH, RDF_TYPE
from colony_actor.runtime import threads

from ..conftest import MemoryNetwork, OpenColony, no_progress

CTX = {"schema": "http://schema.org/"}
S = [f"{i:064x}" for i in range(1, 6)]


async def fill(colony: Colony) -> str:
    pod = await colony.create_pod("Music")
    await colony.put_subject_data("Music", S[0], {
        "@context": CTX, "@type": "schema:MusicAlbum", "schema:name": "Abbey Road",
        "schema:description": "The Beatles, 1969", "schema:contentSize": "42 MB"})
    await colony.put_subject_data("Music", S[1], {
        "@context": CTX, "@type": "schema:MusicAlbum", "schema:name": "Let It Be",
        "schema:description": "beatles again"})
    await colony.put_subject_data("Music", S[2], {
        "@context": CTX, "@type": "schema:Movie", "schema:name": "Yellow Submarine Road"})
    await colony.put_subject_data("Music", S[3], {
        "@context": CTX, "schema:name": 'Quote " brace } angle > hash # café 日本'})
    return pod.address


def rows(result: dict[str, Any]) -> list[dict[str, str]]:
    return [{k: v["value"] for k, v in b.items()}
            for b in result["sparql_results"]["results"]["bindings"]]


async def test_text_search_ranks_by_terms(open_colony: OpenColony,
                                          network: MemoryNetwork) -> None:
    colony = await open_colony(network)
    pod = await fill(colony)
    result = await colony.search({"type": "text", "text": 'BEATLES "abbey road"'}, no_progress)
    assert result["sparql_results"]["head"]["vars"] == [
        "subject", "predicate", "object", "graph", "depth", "match_count"]
    found = rows(result)
    # S[0] matches both terms (name and description); S[1] one.
    assert [r["subject"] for r in found] == ["ant://" + S[0]] * 2 + ["ant://" + S[1]]
    assert [r["match_count"] for r in found] == ["2", "2", "1"]
    assert all(r["depth"] == "0" and r["graph"] == "ant://" + pod for r in found)
    assert result["pods_found"] == ["ant://" + pod]
    assert result["result_count"] == 3
    assert result["search_timestamp"].endswith("Z")

    bare = await colony.search("road", no_progress)
    assert {r["subject"] for r in rows(bare)} == {"ant://" + S[0], "ant://" + S[2]}
    limited = await colony.search({"type": "text", "text": "road", "limit": 1}, no_progress)
    assert limited["result_count"] == 1


async def test_a_built_in_search_takes_one_thread_hand_off(
        open_colony: OpenColony, network: MemoryNetwork, monkeypatch: pytest.MonkeyPatch) -> None:
    """A short query is parsed on the loop, and a built-in form is run and put in its JSON
    form in one worker-thread call: each hand-off costs the event loop a dispatch and a
    wake-up (benchmark 2's search case runs searches back to back)."""
    colony = await open_colony(network)
    await fill(colony)
    called: list[str] = []
    real = threads.run_sync

    async def counted(fn: Any, *args: Any, **kwargs: Any) -> Any:
        called.append(getattr(fn, "__name__", repr(fn)))
        return await real(fn, *args, **kwargs)

    monkeypatch.setattr(threads, "run_sync", counted)
    query = {"type": "text", "text": "beatles road"}
    await colony.check_search(query)
    result = await colony.search(query, no_progress)
    assert result["result_count"] == 4
    assert len(called) == 1, called


@pytest.mark.parametrize("text", ['"', '}', '>', '#', "\\", '" } ; DROP ALL #', "\n", "café 日本",
                                  "x" * 5000, "'''", '"""', "?s ?p ?o", "<ant://x>"])
async def test_hostile_text_terms(open_colony: OpenColony, network: MemoryNetwork,
                                  text: str) -> None:
    colony = await open_colony(network)
    await fill(colony)
    try:
        result = await colony.search({"type": "text", "text": text}, no_progress)
    except InvalidInput:
        return
    for row in rows(result):
        assert any(t.lower() in row["object"].lower() for t in parse_terms(text))


async def test_hostile_terms_match_literally(open_colony: OpenColony,
                                             network: MemoryNetwork) -> None:
    colony = await open_colony(network)
    await fill(colony)
    for text in ["}", ">", "#", "CAFÉ", "日本", "brace } angle"]:
        found = rows(await colony.search({"type": "text", "text": text}, no_progress))
        assert [r["subject"] for r in found] == ["ant://" + S[3]], text


async def test_structured_forms(open_colony: OpenColony, network: MemoryNetwork) -> None:
    colony = await open_colony(network)
    pod = await fill(colony)
    by_type = await colony.search({"type": "by_type", "type_uri": "http://schema.org/MusicAlbum"},
                                  no_progress)
    assert by_type["sparql_results"]["head"]["vars"] == ["subject", "graph"]
    assert [r["subject"] for r in rows(by_type)] == ["ant://" + S[0], "ant://" + S[1]]

    by_pred = await colony.search({"type": "by_predicate",
                                   "predicate_uri": "http://schema.org/description",
                                   "limit": 10}, no_progress)
    assert by_pred["sparql_results"]["head"]["vars"] == ["subject", "object", "graph"]
    assert len(rows(by_pred)) == 2

    browse = await colony.search({"type": "browse"}, no_progress)
    assert browse["sparql_results"]["head"]["vars"] == [
        "subject", "name", "type", "description", "size", "graph", "depth"]
    found = rows(browse)
    assert {r["subject"] for r in found} == {"ant://" + s for s in S[:4]}
    first = next(r for r in found if r["subject"] == "ant://" + S[0])
    assert first["size"] == "42 MB" and first["type"] == "http://schema.org/MusicAlbum"
    assert browse["pods_found"] == ["ant://" + pod]
    assert (await colony.search({"type": "browse", "limit": 2}, no_progress))[
        "result_count"] == 2


async def test_advanced(open_colony: OpenColony, network: MemoryNetwork) -> None:
    colony = await open_colony(network)
    await fill(colony)
    query = ("PREFIX schema: <http://schema.org/>\n# a comment\n"
             "SELECT ?name WHERE { GRAPH ?g { ?s schema:name ?name } } ORDER BY ?name")
    result = await colony.search({"type": "advanced", "sparql": query}, no_progress)
    assert "Abbey Road" in [r["name"] for r in rows(result)]
    ask = await colony.search({"type": "advanced", "sparql": "ASK { ?s ?p ?o }"}, no_progress)
    assert ask["sparql_results"] == {"head": {}, "boolean": True}
    construct = await colony.search(
        {"type": "advanced", "sparql": "CONSTRUCT { ?s ?p ?o } WHERE { GRAPH ?g { ?s ?p ?o } }"},
        no_progress)
    assert construct["result_count"] > 0
    # The local bookkeeping graph is never searched, however it is named.
    for sparql in ["SELECT * WHERE { GRAPH <ant://colony-actor/local> { ?s ?p ?o } }",
                   "SELECT * FROM NAMED <ant://colony-actor/local> WHERE { GRAPH ?g { ?s ?p ?o } "
                   "FILTER(?g = <ant://colony-actor/local>) }",
                   "SELECT * FROM <ant://colony-actor/local> WHERE { ?s "
                   "<ant://colony-actor/local/update> ?o }"]:
        result = await colony.search({"type": "advanced", "sparql": sparql}, no_progress)
        assert result["result_count"] == 0, sparql
    for text in ["colony-actor", "update"]:
        found = await colony.search(text, no_progress)
        assert all("colony-actor" not in r["graph"] for r in rows(found))


@pytest.mark.parametrize("query,message", [
    ({"type": "foo"}, "Unknown search type: foo"),
    ({"type": "by_type"}, "Missing parameter: type_uri"),
    ({"type": "by_predicate"}, "Missing parameter: predicate_uri"),
    ({"type": "advanced"}, "Missing parameter: sparql"),
    ({"type": "text"}, "Missing parameter: text"),
    ({"type": "text", "text": "   "}, "Missing parameter: text"),
    ({"type": "text", "text": '""'}, "no terms"),
    ({"type": "text", "text": "a", "limit": 0}, "limit"),
    ({"type": "text", "text": "a", "limit": 1001}, "limit"),
    ({"type": "text", "text": "a", "limit": "ten"}, "limit"),
    ({"type": "browse", "limit": True}, "limit"),
    ({"type": "by_type", "type_uri": "http://x> } <y"}, "Invalid type_uri"),
    ({"type": "by_type", "type_uri": "no scheme"}, "Invalid type_uri"),
    ({"type": "by_type", "type_uri": "http://x\ny"}, "Invalid type_uri"),
    ({"type": "by_predicate", "predicate_uri": 'http://x"'}, "Invalid predicate_uri"),
    ({"type": "by_predicate", "predicate_uri": "relative"}, "Invalid predicate_uri"),
    ({"type": "advanced", "sparql": "INSERT DATA { <a:a> <a:b> <a:c> }"}, "read-only"),
    ({"type": "advanced", "sparql": "PREFIX x: <http://x/> DELETE WHERE { ?s ?p ?o }"},
     "read-only"),
    ({"type": "advanced", "sparql": "CLEAR ALL"}, "read-only"),
    ({"type": "advanced", "sparql": "LOAD <http://example.com/>"}, "read-only"),
    ({"type": "advanced", "sparql": "# SELECT\nDROP ALL"}, "read-only"),
    ({"type": "advanced", "sparql": "SELECT * { SERVICE <http://127.0.0.1:1/> { ?s ?p ?o } }"},
     "SERVICE"),
    ({"type": "advanced", "sparql": "SELECT * {?x<1)service silent<http://e/>{?s?p?o}}"},
     "SERVICE"),
    ({"type": "advanced", "sparql": "SELECT ?x WHERE {"}, "Invalid SPARQL"),
    ({"type": "advanced", "sparql": "SELECT * WHERE { ?s ?p ?o } ; DROP ALL"}, "Invalid SPARQL"),
])
async def test_search_errors(open_colony: OpenColony, network: MemoryNetwork,
                             query: dict[str, Any], message: str) -> None:
    colony = await open_colony(network)
    await fill(colony)
    with pytest.raises(InvalidInput, match=message):
        await colony.search(query, no_progress)
    assert len(await colony.list_pods()) == 1


async def test_advanced_times_out(open_colony: OpenColony, network: MemoryNetwork) -> None:
    colony = await open_colony(network, search_timeout=0.2)
    await colony.create_pod("Big")
    for i in range(30):
        await colony.put_subject_data("Big", f"{i:064x}", {
            "@context": CTX, "schema:name": f"n{i}", "schema:a": "x", "schema:b": "y"})
    slow = ("SELECT * WHERE { GRAPH ?g { ?a ?b ?c } GRAPH ?h { ?d ?e ?f } "
            "GRAPH ?i { ?x ?y ?z } GRAPH ?j { ?q ?r ?t } }")
    with pytest.raises(ColonyError, match=r"Search timed out after 0\.2 seconds"):
        await colony.search({"type": "advanced", "sparql": slow}, no_progress)


async def test_subject_data_errors(open_colony: OpenColony, network: MemoryNetwork) -> None:
    colony = await open_colony(network)
    for subject in ["", "x", "ant://a b", "ant://<>", "http://schema.org/"]:
        with pytest.raises(InvalidInput):
            await colony.get_subject_data(subject)


# -- pure parts ---------------------------------------------------------------------

words = st.text(alphabet=st.characters(blacklist_categories=("Cs", "Zs", "Cc", "Zl", "Zp"),
                                       blacklist_characters='"'), min_size=1, max_size=12)


@given(st.lists(words, max_size=10))
def test_terms_split_on_spaces(parts: list[str]) -> None:
    expected: list[str] = []
    for part in parts:
        if part.lower() not in {e.lower() for e in expected}:
            expected.append(part)
    assert parse_terms(" ".join(parts)) == expected
    assert parse_terms("  \t".join(parts) + "  ") == expected


@given(st.lists(words, min_size=1, max_size=5), st.lists(words, max_size=3))
def test_quoted_phrases_stay_whole(phrase: list[str], rest: list[str]) -> None:
    text = '"' + " ".join(phrase) + '" ' + " ".join(rest)
    terms = parse_terms(text)
    assert terms[0] == " ".join(phrase)
    assert all('"' not in t for t in terms)


@given(st.text(max_size=200))
def test_parse_terms_never_fails(text: str) -> None:
    terms = parse_terms(text)
    assert all(t and t == t.strip() for t in terms)
    assert len({t.lower() for t in terms}) == len(terms)


def test_unclosed_quote_runs_to_end() -> None:
    assert parse_terms('abbey "road to') == ["abbey", "road to"]


def test_query_form_skips_prologue() -> None:
    assert query_form("BASE <http://x/>\nPREFIX a: <http://a/>\n# c\n select *") == "SELECT"
    assert query_form("PREFIX : <http://a/> INSERT DATA {}") == "INSERT"
    assert parse_query("x").form == "text"


def test_pods_found_lists_each_graph_once_in_order_of_first_row() -> None:
    def row(graph: dict[str, str] | None) -> dict[str, Any]:
        return {"s": {"type": "uri", "value": "ant://s"}, **({"graph": graph} if graph else {})}

    graphs = [{"type": "uri", "value": f"ant://g{n % 7}"} for n in (3, 1, 3, 5, 1, 0)]
    rows = [row(g) for g in graphs] + [row(None), row({"type": "literal", "value": "x"})]
    found = Results(["s", "graph"], rows).to_json()
    assert found["pods_found"] == ["ant://g3", "ant://g1", "ant://g5", "ant://g0"]
    assert found["result_count"] == len(rows)


@pytest.mark.parametrize("limit", [1, 3, 7, 40, 1000])
def test_by_type_keeps_the_first_rows_of_its_sparql(tmp_path: Path, limit: int) -> None:
    """by_type streams the typed statements and keeps the first `limit`: the same rows in
    the same order as its SPARQL, which sorts every match (blank subjects, several graphs,
    the local graph and the default graph, other types)."""
    store = Store(str(tmp_path / "store"))
    wanted, other = NamedNode("http://schema.org/Book"), NamedNode("http://schema.org/Film")
    rng = random.Random(limit)
    quads = []
    for _ in range(60):
        graph: Any = rng.choice([NamedNode(f"ant://{g:064x}") for g in range(5)]
                                + [LOCAL_GRAPH, DefaultGraph()])
        subject: Any = (BlankNode(f"b{rng.randrange(30)}") if rng.random() < 0.3
                        else NamedNode(f"ant://{rng.randrange(40):064x}"))
        quads.append(Quad(subject, RDF_TYPE, rng.choice([wanted, wanted, other]), graph))
    store.extend(quads)
    query = parse_query({"type": "by_type", "type_uri": wanted.value, "limit": limit})
    config = NamedNode(f"ant://{0:064x}")
    reference = run_query(store, builtin_sparql(query, config), float("inf"), limit)
    found = run(store, query, config, float("inf"))
    assert isinstance(found, Results)
    assert found.variables == reference.variables
    assert found.bindings == reference.bindings
    assert 0 < len(found.bindings) <= limit
