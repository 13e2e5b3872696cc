"""Telling a read-only SPARQL query from anything else, before it runs.

Only SELECT, ASK, CONSTRUCT and DESCRIBE pass, and never a federated query (SERVICE),
which pyoxigraph would send over HTTP to any host named in it. Pure text inspection; the
store still runs the query read-only. This module must never run a query.
"""

from __future__ import annotations

import re
from typing import Final

from colony_actor.colony.errors import InvalidInput

_READ_ONLY: Final = ("SELECT", "ASK", "CONSTRUCT", "DESCRIBE")
_PROLOGUE: Final = re.compile(
    r"""(?:\s+|\#[^\n]*(?:\n|$)
        |BASE\s*<[^>]*>
        |PREFIX\s+[^\s:]*:\s*<[^>]*>)""",
    re.IGNORECASE | re.VERBOSE)
# Strings, IRIs and comments, whose text is not SPARQL keywords.
_OPAQUE: Final = re.compile(
    r'"""(?:[^"\\]|\\.|"(?!""))*"""|\'\'\'(?:[^\'\\]|\\.|\'(?!\'\'))*\'\'\''
    r'|"(?:[^"\\\n]|\\.)*"|\'(?:[^\'\\\n]|\\.)*\''
    r'|<[^<>"{}|^`\\\s]*>|#[^\n]*',
    re.DOTALL)
_SERVICE: Final = re.compile(r"(?<![\w:?$])SERVICE(?![\w:])", re.IGNORECASE)


def query_form(sparql: str) -> str:
    """The keyword after the prologue (BASE, PREFIX, comments): SELECT, ASK, INSERT..."""
    position = 0
    while True:
        match = _PROLOGUE.match(sparql, position)
        if not match or match.end() == position:
            break
        position = match.end()
    word = re.match(r"[A-Za-z]+", sparql[position:])
    return word.group(0).upper() if word else ""


def check_read_only(sparql: str) -> None:
    form = query_form(sparql)
    if form not in _READ_ONLY:
        shown = form or "nothing recognisable"
        raise InvalidInput(f"Only read-only queries (SELECT, ASK, CONSTRUCT, DESCRIBE) are "
                           f"allowed; this query starts with {shown[:30]}")
    if _SERVICE.search(_OPAQUE.sub(" ", sparql)):
        raise InvalidInput("Federated queries (SERVICE) are not allowed")
