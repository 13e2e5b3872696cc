"""SPARQL text builders for the store's own reads and writes.

Every value put into SPARQL text here is a pyoxigraph term (`str()` gives its escaped
N-Triples form) or an address already checked (`vocab.pod_node`); this module must never
paste a raw user string into SPARQL, and never run anything.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any, Final

from pyoxigraph import Literal, NamedNode, Triple

from colony_actor.colony.jsonld import subject_tree_pattern
from colony_actor.colony.vocab import (
    LOCAL_GRAPH,
    MODIFIED,
    UPDATE_SEQ,
    XSD_INTEGER,
    pod_node,
    text,
)

L: Final = str(LOCAL_GRAPH)
# A graph that has no depth statement in the configuration pod ranks as depth 0 (own).
NO_DEPTH: Final = 0


def depth_key(variable: str) -> str:
    """How a search ranks a pod by the depth in `?variable` (a depth statement's literal):
    as an integer, anything that is not one after every number."""
    return f"COALESCE({XSD_INTEGER}(?{variable}), 999999)"


def integer(value: int) -> Literal:
    return Literal(str(value), datatype=XSD_INTEGER)


def int_of(term: Any) -> int | None:
    if isinstance(term, Literal):
        try:
            return int(term.value)
        except ValueError:
            return None
    return None


def data(triples: Iterable[Triple]) -> str:
    return "\n".join(f"{t.subject} {t.predicate} {t.object} ." for t in triples)


def values(variable: str, addresses: Iterable[str]) -> str:
    """A VALUES clause binding `?variable` to these pods' nodes ("" for none): the
    pattern then costs what these pods hold, not what the store holds."""
    nodes = sorted({str(pod_node(a)) for a in addresses})
    return f"VALUES ?{variable} {{ {' '.join(nodes)} }} " if nodes else ""


def insert(graph: NamedNode, triples: Sequence[Triple]) -> str:
    if not triples:
        return ""
    return f"INSERT DATA {{ GRAPH {graph} {{ {data(triples)} }} }} ;\n"


def bump_seq(node: NamedNode) -> str:
    """Queue `node`'s pod for upload: its edit sequence grows by one (starting at 1)."""
    return (f"DELETE {{ GRAPH {L} {{ {node} {UPDATE_SEQ} ?old }} }} "
            f"INSERT {{ GRAPH {L} {{ {node} {UPDATE_SEQ} ?new }} }} "
            f"WHERE {{ OPTIONAL {{ GRAPH {L} {{ {node} {UPDATE_SEQ} ?old }} }} "
            f"BIND(COALESCE(?old + 1, 1) AS ?new) }} ;\n")


def set_value(graph: NamedNode, subject: NamedNode, predicate: NamedNode, value: Any) -> str:
    """Replace every (subject, predicate, *) in graph by one statement (or none)."""
    out = f"DELETE WHERE {{ GRAPH {graph} {{ {subject} {predicate} ?v }} }} ;\n"
    if value is not None:
        out += f"INSERT DATA {{ GRAPH {graph} {{ {subject} {predicate} {value} }} }} ;\n"
    return out


def delete_all(graph: NamedNode, subject: NamedNode, predicate: NamedNode) -> str:
    """Delete every (subject, predicate, *) in graph."""
    return set_value(graph, subject, predicate, None)


def touch(pod: NamedNode, timestamp: str) -> str:
    """Set the pod's modified date."""
    return set_value(pod, pod, MODIFIED, text(timestamp))


def delete_subject(graph: NamedNode, subject: NamedNode) -> str:
    """Delete the subject's statements and those of anonymous nodes nested under it."""
    return (f"DELETE {{ GRAPH {graph} {{ ?x ?p ?o }} }} WHERE {{ GRAPH {graph} {{ "
            + subject_tree_pattern(subject) + " } } ;\n")
