"""Search over the pod graphs: the query forms, text terms, and SPARQL JSON results.

`parse_query` turns a caller's query (a mapping, or a bare string for a text search) into
a `SearchQuery`, refusing anything malformed with InvalidInput. `run` executes it against
a pyoxigraph Store. A text search goes through the full-text index (fulltext.py) when
there is a usable one, which narrows the same query to the subjects that can rank within
the limit; `scan_text_search` is the reference scan it must always agree with. User text
reaches SPARQL only as pyoxigraph Literals and IRIs only after validation, as NamedNodes.
This module must never search the local bookkeeping graph and never run anything but a
read-only query.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Final, TypeVar

from pyoxigraph import (
    BlankNode,
    DefaultGraph,
    Literal,
    NamedNode,
    QueryBoolean,
    QuerySolutions,
    Store,
    Triple,
)

from colony_actor.colony.errors import InvalidInput, SearchTimeout
from colony_actor.colony.search import sparql_json
from colony_actor.colony.vocab import (
    CONTENT_SIZE,
    DEPTH,
    DESCRIPTION,
    LOCAL_GRAPH,
    NAME,
    POD,
    RDF_TYPE,
    REF,
    check_iri,
    text,
)

if TYPE_CHECKING:
    from colony_actor.colony.fulltext.index import FullTextIndex

T = TypeVar("T")

DEFAULT_LIMIT: Final = 50
MAX_LIMIT: Final = 1000
MAX_TEXT: Final = 10_000
MAX_TERMS: Final = 64
MAX_SPARQL: Final = 100_000
# An advanced query's rows are collected in memory; past this the result is truncated.
MAX_ADVANCED_ROWS: Final = 100_000
# Each triple term is two JSON objects deep; Python's encoder and parser stop near 1,000.
MAX_TRIPLE_NESTING: Final = 100
FORMS: Final = ("text", "by_type", "by_predicate", "advanced", "browse")
_XSD_STRING: Final = "http://www.w3.org/2001/XMLSchema#string"
_LANG_STRING: Final = "http://www.w3.org/1999/02/22-rdf-syntax-ns#langString"
_READ_ONLY: Final = ("SELECT", "ASK", "CONSTRUCT", "DESCRIBE")


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


_PROLOGUE: Final = re.compile(
    r"""(?:\s+|\#[^\n]*(?:\n|$)
        |BASE\s*<[^>]*>
        |PREFIX\s+[^\s:]*:\s*<[^>]*>)""",
    re.IGNORECASE | re.VERBOSE)


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


# Strings, IRIs and comments, whose text is not SPARQL keywords.
_OPAQUE: Final = re.compile(
    r'"""(?:[^"\\]|\\.|"(?!""))*"""|\'\'\'(?:[^\'\\]|\\.|\'(?!\'\'))*\'\'\''
    r'|"(?:[^"\\\n]|\\.)*"|\'(?:[^\'\\\n]|\\.)*\''
    r'|<[^<>"{}|^`\\\s]*>|#[^\n]*',
    re.DOTALL)
_SERVICE: Final = re.compile(r"(?<![\w:?$])SERVICE(?![\w:])", re.IGNORECASE)


def check_read_only(sparql: str) -> None:
    form = query_form(sparql)
    if form not in _READ_ONLY:
        shown = form or "nothing recognisable"
        raise InvalidInput(f"Only read-only queries (SELECT, ASK, CONSTRUCT, DESCRIBE) are "
                           f"allowed; this query starts with {shown[:30]}")
    # pyoxigraph would send a SERVICE clause's query over HTTP to any host named in it.
    if _SERVICE.search(_OPAQUE.sub(" ", sparql)):
        raise InvalidInput("Federated queries (SERVICE) are not allowed")


# -- results --------------------------------------------------------------------------


def term_json(term: Any, depth: int = 0) -> dict[str, Any]:
    """A term in the W3C SPARQL 1.1 JSON results format; InvalidInput for triple terms
    nested past MAX_TRIPLE_NESTING (no JSON encoder or parser would take them)."""
    if isinstance(term, NamedNode):
        return {"type": "uri", "value": term.value}
    if isinstance(term, BlankNode):
        return {"type": "bnode", "value": term.value}
    if isinstance(term, Literal):
        out: dict[str, Any] = {"type": "literal", "value": term.value}
        if term.language:
            out["xml:lang"] = term.language
        elif term.datatype.value not in (_XSD_STRING, _LANG_STRING):
            out["datatype"] = term.datatype.value
        return out
    if isinstance(term, Triple):
        if depth >= MAX_TRIPLE_NESTING:
            raise InvalidInput(f"The answer nests triple terms deeper than "
                               f"{MAX_TRIPLE_NESTING} levels")
        return {"type": "triple", "value": {"subject": term_json(term.subject, depth + 1),
                                            "predicate": term_json(term.predicate, depth + 1),
                                            "object": term_json(term.object, depth + 1)}}
    raise TypeError(f"not an RDF term: {type(term).__name__}")


@dataclass
class Results:
    variables: list[str]
    bindings: list[dict[str, Any]]
    boolean: bool | None = None
    truncated: bool = False

    def to_json(self) -> dict[str, Any]:
        if self.boolean is not None:
            sparql: dict[str, Any] = {"head": {}, "boolean": self.boolean}
            count = 1
        else:
            sparql = {"head": {"vars": self.variables},
                      "results": {"bindings": self.bindings}}
            count = len(self.bindings)
        found: dict[str, None] = {}  # in order of first appearance
        for row in self.bindings:
            graph = row.get("graph")
            if graph and graph.get("type") == "uri":
                found[graph["value"]] = None
        out = {"sparql_results": sparql, "result_count": count, "pods_found": list(found)}
        if self.truncated:
            out["truncated"] = True
        return out


def _read(read: Callable[[Any, float, int], T], solutions: Any, deadline: float,
          max_rows: int) -> T | Exception:
    """`read(solutions, deadline, max_rows)`, or the exception that stopped it.

    pyoxigraph's solution iterators must be dropped on the thread that made them, so an
    error is returned rather than raised: a raised one would keep this frame, and the
    iterator, alive in its traceback until some other thread collects it.
    """
    try:
        return read(solutions, deadline, max_rows)
    except Exception as exc:
        return exc.with_traceback(None)


def _rows(solutions: Any, deadline: float, max_rows: int) -> Results:
    if isinstance(solutions, QueryBoolean):
        return Results([], [], boolean=bool(solutions))
    variables = (["subject", "predicate", "object"] if not isinstance(solutions, QuerySolutions)
                 else [v.value for v in solutions.variables])
    bindings: list[dict[str, Any]] = []
    truncated = False
    for item in solutions:
        if time.monotonic() > deadline:
            raise SearchTimeout("The search ran out of time")
        if len(bindings) >= max_rows:
            truncated = True
            break
        if isinstance(solutions, QuerySolutions):
            bindings.append({v: term_json(item[v]) for v in variables if item[v] is not None})
        else:
            # CONSTRUCT / DESCRIBE: triples, shown as subject/predicate/object rows.
            bindings.append({"subject": term_json(item.subject),
                             "predicate": term_json(item.predicate),
                             "object": term_json(item.object)})
    return Results(variables, bindings, truncated=truncated)


def _query(store: Store, sparql: str, deadline: float, max_rows: int,
           **options: Any) -> Results:
    solutions = store.query(sparql, **options)
    result = _read(_rows, solutions, deadline, max_rows)
    del solutions
    if isinstance(result, Exception):
        raise result
    return result


def _advanced(store: Store, sparql: str, deadline: float,
              **options: Any) -> Results | sparql_json.Serialized:
    """An advanced query: SELECT solutions as SPARQL JSON text (sparql_json.py), unless
    there are more than one result keeps; other forms, and those, as rows."""
    solutions = store.query(sparql, **options)
    read: Callable[[Any, float, int], Results | sparql_json.Serialized] = (
        sparql_json.collect if isinstance(solutions, QuerySolutions) else _rows)
    answer = _read(read, solutions, deadline, MAX_ADVANCED_ROWS)
    del solutions
    if isinstance(answer, sparql_json.TooLarge):
        # The rows path stops at the row limit and marks the result truncated.
        return _query(store, sparql, deadline, MAX_ADVANCED_ROWS, **options)
    if isinstance(answer, Exception):
        raise answer
    return answer


def pod_graphs(store: Store) -> list[NamedNode]:
    return sorted((g for g in store.named_graphs()
                   if isinstance(g, NamedNode) and g != LOCAL_GRAPH), key=lambda g: g.value)


def run(store: Store, query: SearchQuery, config: NamedNode, deadline: float,
        index: FullTextIndex | None = None) -> Results | sparql_json.Serialized:
    """Execute a parsed query (blocking; call it in a worker thread)."""
    if query.form == "text":
        return text_search(store, query.terms, query.limit, config, deadline, index)
    if query.form == "advanced":
        graphs: list[NamedNode | BlankNode] = list(pod_graphs(store))
        default: list[NamedNode | BlankNode | DefaultGraph] = list(graphs) or [DefaultGraph()]
        return _advanced(store, query.sparql, deadline, default_graph=default,
                         named_graphs=graphs)
    return _query(store, _builtin_sparql(query, config), deadline, query.limit)


def _builtin_sparql(query: SearchQuery, config: NamedNode) -> str:
    not_local = f"FILTER(?graph != {LOCAL_GRAPH})"
    if query.form == "by_type":
        return (f"SELECT DISTINCT ?subject ?graph WHERE {{ GRAPH ?graph {{ ?subject {RDF_TYPE} "
                f"{query.iri} }} {not_local} }} ORDER BY ?graph ?subject LIMIT {query.limit}")
    if query.form == "by_predicate":
        return (f"SELECT ?subject ?object ?graph WHERE {{ GRAPH ?graph {{ ?subject {query.iri} "
                f"?object }} {not_local} }} ORDER BY ?graph ?subject ?object "
                f"LIMIT {query.limit}")
    # browse: the described subjects (not pod headers or references), own pods first.
    return (
        "SELECT ?subject ?name ?type ?description ?size ?graph ?depth WHERE { "
        "{ SELECT ?graph ?subject (SAMPLE(?n) AS ?name) (SAMPLE(?t) AS ?type) "
        "(SAMPLE(?ds) AS ?description) (SAMPLE(?sz) AS ?size) WHERE { "
        "{ SELECT DISTINCT ?graph ?subject WHERE { GRAPH ?graph { ?subject ?anyp ?anyo } "
        f"FILTER(isIRI(?subject)) FILTER(?graph NOT IN ({LOCAL_GRAPH}, {config})) "
        f"FILTER NOT EXISTS {{ GRAPH ?graph {{ ?subject {RDF_TYPE} ?k "
        f"FILTER(?k IN ({POD}, {REF})) }} }} }} }} "
        f"OPTIONAL {{ GRAPH ?graph {{ ?subject {NAME} ?n }} }} "
        f"OPTIONAL {{ GRAPH ?graph {{ ?subject {RDF_TYPE} ?t }} }} "
        f"OPTIONAL {{ GRAPH ?graph {{ ?subject {DESCRIPTION} ?ds }} }} "
        f"OPTIONAL {{ GRAPH ?graph {{ ?subject {CONTENT_SIZE} ?sz }} }} "
        "} GROUP BY ?graph ?subject } "
        f"OPTIONAL {{ GRAPH {config} {{ ?graph {DEPTH} ?d }} }} "
        f"BIND(COALESCE(?d, {text('0')}) AS ?depth) "
        "} ORDER BY ASC(COALESCE(<http://www.w3.org/2001/XMLSchema#integer>(?depth), 999999)) "
        f"?graph ?subject LIMIT {query.limit}")


TEXT_VARIABLES: Final = ("subject", "predicate", "object", "graph", "depth", "match_count")


def text_sparql(terms: Iterable[str], limit: int, config: NamedNode,
                groups: Sequence[tuple[NamedNode, NamedNode]] | None = None) -> str:
    """The text search as one SPARQL query: one row per literal that contains any term,
    `match_count` = how many distinct terms the subject's literals in that graph contain;
    ranked by match_count, then own pods first (the config pod's depth statements), then
    graph, subject, predicate, object. With `groups`, only those (graph, subject) pairs
    are considered (the full-text index narrows a search this way)."""
    values = " ".join(str(text(t)) for t in terms)
    matches = "FILTER(CONTAINS(LCASE(STR(?o)), LCASE(?term)))"
    only = ""
    if groups is not None:
        only = "VALUES (?graph ?subject) { " + " ".join(
            f"({g} {s})" for g, s in groups) + " } "
    return (
        f"SELECT {' '.join('?' + v for v in TEXT_VARIABLES)} WHERE {{ "
        "{ SELECT ?graph ?subject (COUNT(DISTINCT ?term) AS ?match_count) WHERE { "
        f"{only}GRAPH ?graph {{ ?subject ?p ?o FILTER(isLiteral(?o)) }} "
        f"FILTER(?graph != {LOCAL_GRAPH}) VALUES ?term {{ {values} }} {matches} "
        "} GROUP BY ?graph ?subject } "
        "GRAPH ?graph { ?subject ?predicate ?object FILTER(isLiteral(?object)) } "
        f"FILTER EXISTS {{ VALUES ?term {{ {values} }} "
        "FILTER(CONTAINS(LCASE(STR(?object)), LCASE(?term))) } "
        f"OPTIONAL {{ GRAPH {config} {{ ?graph {DEPTH} ?d }} }} "
        f"BIND(COALESCE(?d, {text('0')}) AS ?depth) "
        "} ORDER BY DESC(?match_count) "
        "ASC(COALESCE(<http://www.w3.org/2001/XMLSchema#integer>(?depth), 999999)) "
        f"?graph ?subject ?predicate ?object LIMIT {limit}")


def scan_text_search(store: Store, terms: Iterable[str], limit: int, config: NamedNode,
                     deadline: float, *, named_graphs: Sequence[NamedNode] | None = None,
                     groups: Sequence[tuple[NamedNode, NamedNode]] | None = None) -> Results:
    """The text search by scanning every literal of every pod (the reference semantics).

    The full-text index narrows it to the pods (`named_graphs`, plus the config pod, the
    only one that gives depths) or the (graph, subject) pairs (`groups`) that can rank
    within the limit; see fulltext.py."""
    sparql = text_sparql(terms, limit, config, groups)
    if named_graphs is None:
        return _query(store, sparql, deadline, limit)
    graphs: list[NamedNode | BlankNode] = list(named_graphs)
    return _query(store, sparql, deadline, limit, named_graphs=graphs)


def text_search(store: Store, terms: Iterable[str], limit: int, config: NamedNode,
                deadline: float, index: FullTextIndex | None = None) -> Results:
    """The text search: through the full-text index when there is a usable one, else by
    scanning; both give the same rows in the same order."""
    terms = list(terms)
    if index is not None:
        found = index.search(store, terms, limit, config, deadline)
        if found is not None:
            return found
    return scan_text_search(store, terms, limit, config, deadline)


def subject_data(store: Store, subject: NamedNode) -> dict[str, Any]:
    sparql = (f"SELECT ?graph ?predicate ?object WHERE {{ GRAPH ?graph {{ {subject} ?predicate "
              f"?object }} FILTER(?graph != {LOCAL_GRAPH}) }} ORDER BY ?graph ?predicate ?object")
    results = _query(store, sparql, float("inf"), 1 << 40)
    return {"head": {"vars": ["graph", "predicate", "object"]},
            "results": {"bindings": results.bindings}}
