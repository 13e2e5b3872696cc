"""The search forms a caller may ask for, parsed and checked: `parse_query`.

A query is a mapping (`{"type": "text", "text": ...}`, or another form of API.md §5) or a
bare string, which is a text search. Anything malformed is refused with InvalidInput
naming the problem. Pure; this module must never run a query, and never hand on a user
string that has not been checked (IRIs come out as NamedNodes, SPARQL as read-only).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Final

from pyoxigraph import NamedNode

from colony_actor.colony.errors import InvalidInput
from colony_actor.colony.search.readonly import check_read_only
from colony_actor.colony.vocab import check_iri

DEFAULT_LIMIT: Final = 50
MAX_LIMIT: Final = 1000
MAX_TEXT: Final = 10_000
MAX_TERMS: Final = 64
MAX_SPARQL: Final = 100_000
FORMS: Final = ("text", "by_type", "by_predicate", "advanced", "browse")


@dataclass(frozen=True)
class SearchQuery:
    form: str
    limit: int = DEFAULT_LIMIT
    terms: tuple[str, ...] = ()
    iri: NamedNode | None = None
    sparql: str = ""


def parse_terms(value: str) -> list[str]:
    """Search terms: split on whitespace, `"quoted phrases"` kept whole, duplicates dropped
    (case-insensitively), empty pieces ignored. An unclosed quote runs to the end."""
    terms: list[str] = []
    seen: set[str] = set()

    def add(term: str) -> None:
        if term and term.lower() not in seen:
            seen.add(term.lower())
            terms.append(term)

    position = 0
    while position < len(value):
        char = value[position]
        if char.isspace():
            position += 1
        elif char == '"':
            end = value.find('"', position + 1)
            end = len(value) if end < 0 else end
            phrase = value[position + 1:end].strip()
            add(" ".join(phrase.split()))
            position = end + 1
        else:
            end = position
            while end < len(value) and not value[end].isspace() and value[end] != '"':
                end += 1
            add(value[position:end])
            position = end
    return terms


def parse_query(query: Mapping[str, Any] | str, default_limit: int = DEFAULT_LIMIT) -> SearchQuery:
    if isinstance(query, str):
        query = {"type": "text", "text": query}
    if not isinstance(query, Mapping):
        raise InvalidInput("A search query must be an object or a string")
    form = query.get("type", "text")
    if not isinstance(form, str):
        raise InvalidInput("The search type must be a string")
    if form not in FORMS:
        raise InvalidInput(f"Unknown search type: {form[:100]}; expected one of "
                           + ", ".join(FORMS))
    limit = _limit(query.get("limit", default_limit))
    if form == "text":
        value = _required_str(query, "text")
        if len(value) > MAX_TEXT:
            raise InvalidInput(f"The search text is longer than {MAX_TEXT} characters")
        if any(0xD800 <= ord(c) <= 0xDFFF for c in value):
            raise InvalidInput("The search text is not valid Unicode")
        terms = parse_terms(value)
        if not terms:
            raise InvalidInput("The search text has no terms")
        if len(terms) > MAX_TERMS:
            raise InvalidInput(f"The search text has more than {MAX_TERMS} terms")
        return SearchQuery("text", limit, terms=tuple(terms))
    if form == "by_type":
        return SearchQuery(form, limit, iri=check_iri(_required_str(query, "type_uri"),
                                                      "type_uri"))
    if form == "by_predicate":
        return SearchQuery(form, limit, iri=check_iri(_required_str(query, "predicate_uri"),
                                                      "predicate_uri"))
    if form == "advanced":
        sparql = _required_str(query, "sparql")
        if len(sparql) > MAX_SPARQL:
            raise InvalidInput(f"The SPARQL query is longer than {MAX_SPARQL} characters")
        check_read_only(sparql)
        return SearchQuery(form, limit, sparql=sparql)
    return SearchQuery("browse", limit)


def _required_str(query: Mapping[str, Any], name: str) -> str:
    value = query.get(name)
    if value is None or (isinstance(value, str) and not value.strip()):
        raise InvalidInput(f"Missing parameter: {name}")
    if not isinstance(value, str):
        raise InvalidInput(f"The parameter {name} must be a string")
    return value


def _limit(value: Any) -> int:
    if isinstance(value, str) and value.strip().isdigit():
        value = int(value)
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= MAX_LIMIT:
        raise InvalidInput(f"limit must be an integer from 1 to {MAX_LIMIT}")
    return value
