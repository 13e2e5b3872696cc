"""Turning a subject's JSON-LD into triples that may replace the subject's data in a pod.

pyoxigraph parses the JSON-LD and refuses remote contexts itself (nothing is ever
fetched). What is accepted describes exactly one subject: triples about the subject and
about anonymous nodes nested under it, so that replacing "the subject's triples" later
removes all of them. This module must never touch the store, and never let a parse
problem escape as anything but InvalidInput.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any, Final

import pyoxigraph
from pyoxigraph import BlankNode, NamedNode, RdfFormat, Triple

from colony_actor.colony.errors import InvalidInput
from colony_actor.colony.vocab import is_reserved_predicate, normalize_subject

# put_subject_data deletes nested anonymous nodes down to this depth; deeper nesting is
# refused rather than left behind as orphans on the next replace.
MAX_NESTING: Final = 8
MAX_TRIPLES: Final = 100_000
_INLINE_HINT: Final = ('use an inline context such as '
                       '{"@context": {"schema": "http://schema.org/"}}')


@dataclass(frozen=True)
class SubjectData:
    subject: NamedNode
    document: dict[str, Any]  # the JSON-LD object as stored (with its @id)
    triples: list[Triple]


def prepare(subject: str, jsonld: Any) -> SubjectData:
    node = normalize_subject(subject)
    document = _as_object(jsonld)
    if "@id" in document:
        given = document["@id"]
        try:
            same = normalize_subject(given) == node
        except InvalidInput:
            same = False
        if not same:
            raise InvalidInput(f"The JSON-LD @id {given!r:.100} does not match the subject "
                               f"{node.value}")
    if "@graph" in document:
        raise InvalidInput("A subject's JSON-LD must describe the subject itself; "
                           "@graph is not supported here")
    document["@id"] = node.value
    triples = _parse(document)
    _check_shape(node, triples)
    return SubjectData(node, document, triples)


def subject_tree_pattern(subject: NamedNode) -> str:
    """A SPARQL group pattern (to put inside `GRAPH g { ... }`) binding ?x ?p ?o to the
    subject's statements and those of the anonymous nodes nested under it, down to
    MAX_NESTING: exactly what replacing the subject's data removes."""
    branches = [f"{{ VALUES ?x {{ {subject} }} ?x ?p ?o }}"]
    for depth in range(1, MAX_NESTING + 1):
        chain = [f"{subject} ?q0 ?b1 . FILTER(isBlank(?b1))"]
        for step in range(1, depth):
            chain.append(f"?b{step} ?q{step} ?b{step + 1} . FILTER(isBlank(?b{step + 1}))")
        branches.append("{ " + " ".join(chain) + f" BIND(?b{depth} AS ?x) ?x ?p ?o }}")
    return " UNION ".join(branches)


def _as_object(jsonld: Any) -> dict[str, Any]:
    if isinstance(jsonld, bytes | str):
        try:
            jsonld = json.loads(jsonld)
        except (ValueError, RecursionError) as exc:
            raise InvalidInput(f"Invalid JSON-LD: not valid JSON ({exc})") from None
    if not isinstance(jsonld, dict):
        raise InvalidInput("Invalid JSON-LD: expected a JSON object describing the subject")
    return dict(jsonld)


def _parse(document: dict[str, Any]) -> list[Triple]:
    try:
        raw = json.dumps(document, ensure_ascii=False, allow_nan=False)
        quads = list(pyoxigraph.parse(raw.encode("utf-8"), format=RdfFormat.JSON_LD,
                                      without_named_graphs=True, rename_blank_nodes=True))
    except SyntaxError as exc:
        message = str(exc)
        if "remote context" in message.lower() or "LoadDocumentCallback" in message:
            raise InvalidInput("Remote JSON-LD contexts are not fetched; " + _INLINE_HINT) \
                from None
        raise InvalidInput(f"Invalid JSON-LD: {message[:300]}") from None
    except (ValueError, TypeError, RecursionError, UnicodeError) as exc:
        raise InvalidInput(f"Invalid JSON-LD: {str(exc)[:300]}") from None
    if len(quads) > MAX_TRIPLES:
        raise InvalidInput(f"The JSON-LD has more than {MAX_TRIPLES} statements")
    return [q.triple for q in quads]


def _check_shape(subject: NamedNode, triples: list[Triple]) -> None:
    for t in triples:
        if is_reserved_predicate(t.predicate.value):
            raise InvalidInput(f"The predicate {t.predicate.value} is reserved for Colony's "
                               "own bookkeeping")
    by_subject: dict[object, list[Triple]] = {}
    for t in triples:
        by_subject.setdefault(t.subject, []).append(t)
    # Breadth-first from the subject through anonymous nodes: what is not reached this way
    # would not be removed by the next replace.
    reached: set[object] = {subject}
    frontier: list[object] = [subject]
    depth = 0
    while frontier:
        following: list[object] = []
        for node in frontier:
            for t in by_subject.get(node, []):
                if isinstance(t.object, BlankNode) and t.object not in reached:
                    reached.add(t.object)
                    following.append(t.object)
        if following:
            depth += 1
            if depth > MAX_NESTING:
                raise InvalidInput(f"The JSON-LD nests anonymous objects more than "
                                   f"{MAX_NESTING} levels deep")
        frontier = following
    for node in by_subject:
        if node not in reached:
            shown = getattr(node, "value", str(node))
            raise InvalidInput(f"The JSON-LD also describes {shown!r:.100}; a subject's data "
                               "may only describe the subject and anonymous objects nested "
                               "in it")
