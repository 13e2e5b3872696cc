"""The SPARQL of the built-in search forms, the text search and a subject's data.

User text reaches this SPARQL only as pyoxigraph Literals, and IRIs only after validation,
as NamedNodes. Every query here leaves out the local bookkeeping graph. Text only; this
module must never run a query.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Final

from pyoxigraph import NamedNode

from colony_actor.colony.search.forms import SearchQuery
from colony_actor.colony.store.sparql import NO_DEPTH, depth_key
from colony_actor.colony.vocab import (
    CONTENT_SIZE,
    DEPTH,
    DESCRIPTION,
    LOCAL_GRAPH,
    NAME,
    POD,
    RDF_TYPE,
    REF,
    text,
)

TEXT_VARIABLES: Final = ("subject", "predicate", "object", "graph", "depth", "match_count")
# ?depth of a graph: its depth statement in the configuration pod, NO_DEPTH without one.
_DEPTH = f"BIND(COALESCE(?d, {text(str(NO_DEPTH))}) AS ?depth) "


def builtin_sparql(query: SearchQuery, config: NamedNode) -> str:
    """The query of a `by_type`, `by_predicate` or `browse` search."""
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
        + _DEPTH +
        f"}} ORDER BY ASC({depth_key('depth')}) ?graph ?subject LIMIT {query.limit}")


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
        + _DEPTH +
        f"}} ORDER BY DESC(?match_count) ASC({depth_key('depth')}) "
        f"?graph ?subject ?predicate ?object LIMIT {limit}")


def subject_data_sparql(subject: NamedNode) -> str:
    """Every (graph, predicate, object) about `subject` in the pods."""
    return (f"SELECT ?graph ?predicate ?object WHERE {{ GRAPH ?graph {{ {subject} ?predicate "
            f"?object }} FILTER(?graph != {LOCAL_GRAPH}) }} ORDER BY ?graph ?predicate ?object")
