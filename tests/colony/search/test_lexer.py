"""The SPARQL lexer and the read-only check built on it (issue 14, findings 3 and 4)."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from colony_actor.colony.errors import InvalidInput
from colony_actor.colony.search.lexer import Kind, tokenize
from colony_actor.colony.search.readonly import check_read_only, query_form

URL = "<http://127.0.0.1:9/sparql>"
# Each once walked around the SERVICE check, or would with a lexer that guesses.
WALK_AROUNDS = [
    f"PREFIX ex: <http://e/> SELECT * WHERE {{ BIND(ex:a\\' AS ?v) SERVICE {URL} "
    "{ ?x ?y ?z } BIND('q' AS ?w) }",
    f"PREFIX ex: <http://e/> SELECT * WHERE {{ BIND(ex:a\\# AS ?v) SERVICE {URL} {{ ?x ?y ?z }} }}",
    f"SELECT * WHERE {{ SERVICESILENT {URL} {{ ?x ?y ?z }} }}",
    f"SELECT * WHERE {{ service {URL} {{ ?x ?y ?z }} }}",
    f"SELECT * WHERE {{ # a comment\rSERVICE {URL} {{ ?x ?y ?z }} }}",
    "SELECT * WHERE { SERVICE:x { ?x ?y ?z } }",
    f"SELECT * WHERE {{ ?s ?p ?o . SERVICE {URL} {{ ?x ?y ?z }} }}",
    f"SELECT * WHERE {{ ?s ?p 'a\\'' SERVICE {URL} {{ ?x ?y ?z }} }}",
    f"SELECT * WHERE {{ ?s ?p '''a''' SERVICE {URL} {{ ?x ?y ?z }} }}",
    f"SELECT * WHERE {{ ?s ?p <a> SERVICE {URL} {{ ?x ?y ?z }} }}",
]
ALLOWED = [
    "SELECT * WHERE { ?s ?p ?o }",
    "PREFIX ex: <http://e/> SELECT * WHERE { ?s ex:a\\' ?o . ?s ex:b\\# 'x#y' }",
    "SELECT ?service WHERE { ?service ?p \"SERVICE <http://x/>\" } # SERVICE <http://x/>",
    "PREFIX ex: <http://e/> ASK { ?s ex:service <http://e/SERVICE> }",
    "SELECT * WHERE { ?s ?p 1.5e3, .5, 'a'@en-GB, \"\"\"multi\nline\"\"\" }",
    "SELECT * WHERE { _:b0 ?p ?o FILTER(?o < 3 && ?o >= 1 || !BOUND(?o)) }",
    "BASE <http://x/>\nPREFIX : <http://a/>\nDESCRIBE :a",
    "CONSTRUCT { ?s ?p ?o } WHERE { GRAPH ?g { ?s ?p ?o } } LIMIT 1",
]


@pytest.mark.parametrize("sparql", WALK_AROUNDS)
def test_service_is_refused_however_it_is_hidden(sparql: str) -> None:
    with pytest.raises(InvalidInput, match="SERVICE"):
        check_read_only(sparql)


@pytest.mark.parametrize("sparql", ALLOWED)
def test_read_only_queries_pass(sparql: str) -> None:
    check_read_only(sparql)


@pytest.mark.parametrize("sparql", [
    "SELECT * WHERE { ?s ?p ?o } ` ",  # a character no token starts with
    "SELECT * WHERE { ?s ?p 'unclosed }",
    "SELECT * WHERE { ?s ?p ?o } \\",
    "SELECT * WHERE { ?s ?p \"a\\q\" }",  # an escape SPARQL does not have
    'PREFIX ex: <http://e/> SELECT * WHERE { BIND(ex:a\\" AS ?v) SERVICE <x:> { } "" }',
    "SELECT * WHERE { ?s ?p ?o } " + "'\\" * 1000,
])
def test_what_cannot_be_read_is_refused(sparql: str) -> None:
    with pytest.raises(InvalidInput, match="cannot be read"):
        check_read_only(sparql)


@pytest.mark.parametrize("sparql", ["INSERT DATA { <a> <b> <c> }", "PREFIX : <a:> DROP ALL",
                                    "LOAD <http://x/>", "", "# only a comment"])
def test_updates_and_nothing_are_refused(sparql: str) -> None:
    with pytest.raises(InvalidInput, match="read-only"):
        check_read_only(sparql)


def test_query_form_reads_past_the_prologue() -> None:
    assert query_form("PREFIX a: <http://a/> # c\r\nBASE <x:>\n ask {}") == "ASK"


SPARQL_TEXT = st.text(alphabet=st.sampled_from(list(" \t\n\r#<>'\"\\:._-?$@{}()!^|ab0é%"))
                      | st.characters(), max_size=200)


@given(SPARQL_TEXT)
@settings(max_examples=400, deadline=None)
def test_tokens_tile_the_text_or_it_is_refused(text: str) -> None:
    """Every character is read once, by one token, in order: no character is skipped
    (which could hide a keyword) and none is read twice (the size bound of linear time:
    the tokens' lengths add up to the text's)."""
    try:
        tokens = list(tokenize(text))
    except InvalidInput as exc:
        assert "cannot be read" in str(exc)
        return
    position = 0
    for token in tokens:
        assert token.start == position < token.end
        assert text[token.start:token.end] == token.text
        position = token.end
    assert position == len(text)


@given(st.sampled_from(["a", "ex", "SERVICE", "b.c"]), st.sampled_from(list("'#\"")),
       st.sampled_from(["", " ", "\n", " . "]))
@settings(max_examples=100, deadline=None)
def test_an_escaped_local_name_never_hides_what_follows(prefix: str, escape: str,
                                                       gap: str) -> None:
    sparql = (f"PREFIX {prefix}: <http://e/> SELECT * WHERE {{ BIND({prefix}:a\\{escape} AS ?v)"
              f"{gap}SERVICE {URL} {{ ?x ?y ?z }} }}")
    with pytest.raises(InvalidInput, match=r"SERVICE|cannot be read"):
        check_read_only(sparql)


@given(st.lists(st.sampled_from(["SELECT", "*", "{", "}", "?s", "'x'", "<http://e/>", "ex:a",
                                 "ex:a\\'", "ex:a\\#", "# c\n", "1.5", "_:b", ".", ";"]),
                max_size=40))
@settings(max_examples=300, deadline=None)
def test_service_anywhere_in_readable_text_is_found(pieces: list[str]) -> None:
    sparql = "SELECT * WHERE { " + " ".join(pieces) + f" SERVICE {URL} {{ ?x ?y ?z }} }}"
    # A comment piece ends its line, so SERVICE is never inside it.
    with pytest.raises(InvalidInput, match=r"SERVICE|cannot be read"):
        check_read_only(sparql)


def test_a_name_escape_is_part_of_the_name() -> None:
    kinds = [(t.kind, t.text) for t in tokenize("ex:a\\'") if t.kind is not Kind.SPACE]
    assert kinds == [(Kind.NAME, "ex:a\\'")]
