"""Telling a read-only SPARQL query from anything else, before it runs.

Only SELECT, ASK, CONSTRUCT and DESCRIBE pass, and never a federated query (SERVICE),
which pyoxigraph would send over HTTP to any host named in it. The text is read by a real
lexer (lexer.py), in one pass; what it cannot read is refused. pyoxigraph's parser matches
a keyword without looking at what follows it (`SERVICESILENT` is `SERVICE SILENT`, and
`SERVICE:x` is `SERVICE :x`), so SERVICE is refused inside any word, any prefix, and after
any dot of a name, not only as a word of its own. Pure; this module must never run a query,
and is not the only guard: the query worker has no way to the network (search/sandbox.py).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from typing import Final

from colony_actor.colony.errors import InvalidInput
from colony_actor.colony.search.lexer import Kind, Token, tokenize

_READ_ONLY: Final = ("SELECT", "ASK", "CONSTRUCT", "DESCRIBE")
_QUIET: Final = (Kind.SPACE, Kind.COMMENT)
_SERVICE: Final = re.compile("service", re.IGNORECASE)
_AFTER_DOT: Final = re.compile(r"\.service", re.IGNORECASE)


def query_form(sparql: str) -> str:
    """The keyword after the prologue (BASE, PREFIX, comments): SELECT, ASK, INSERT...;
    "" when the text starts otherwise. InvalidInput if the text cannot be read."""
    return _form(_significant(tokenize(sparql)))


def check_read_only(sparql: str) -> None:
    """InvalidInput unless `sparql` is one read-only query with no SERVICE in it."""
    federated = False

    def watched() -> Iterator[Token]:
        nonlocal federated
        for token in _significant(tokenize(sparql)):
            federated = federated or _federated(token)
            yield token

    # One pass, keeping no token: the form from the first few, then the rest read through
    # (what cannot be read is refused first), every one of them watched for SERVICE.
    tokens = watched()
    form = _form(tokens)
    for _ in tokens:
        pass
    if form not in _READ_ONLY:
        shown = form or "nothing recognisable"
        raise InvalidInput(f"Only read-only queries (SELECT, ASK, CONSTRUCT, DESCRIBE) are "
                           f"allowed; this query starts with {shown[:30]}")
    if federated:
        raise InvalidInput("Federated queries (SERVICE) are not allowed")


def _significant(tokens: Iterable[Token]) -> Iterable[Token]:
    return (token for token in tokens if token.kind not in _QUIET)


def _form(tokens: Iterable[Token]) -> str:
    skip = 0
    for token in tokens:
        if skip:
            skip -= 1
            continue
        if token.kind is not Kind.WORD:
            return ""
        word = token.text.upper()
        if word == "BASE":
            skip = 1  # its IRI
        elif word == "PREFIX":
            skip = 2  # its name and IRI
        else:
            return word
    return ""


def _federated(token: Token) -> bool:
    if token.kind in (Kind.WORD, Kind.LANGTAG):
        return bool(_SERVICE.search(token.text))
    if token.kind is Kind.NAME:
        prefix, _, local = token.text.partition(":")
        return bool(_SERVICE.search(prefix) or _AFTER_DOT.search(local))
    if token.kind is Kind.BLANK:
        return bool(_AFTER_DOT.search(token.text))
    return False
