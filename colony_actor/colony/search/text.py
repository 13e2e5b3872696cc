"""The text search: through the full-text index when it can answer, else by scanning.

Terms are split on spaces, `"quoted phrases"` kept whole, matched case-insensitively
against every literal; rows ranked by the number of matching terms, then by depth (own
pods first), then graph, subject, predicate, object (queries.text_sparql, the reference).
The index only says which (graph, subject) groups can rank within the limit; the query
runs on those, so both ways give the same rows in the same order. Blocking; this module
must never search the local graph, and never answer from the index what the scan would
order differently.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Final

from pyoxigraph import BlankNode, NamedNode, Store

from colony_actor.colony.fulltext.index import FullTextIndex
from colony_actor.colony.fulltext.ranking import Candidates
from colony_actor.colony.search.queries import TEXT_VARIABLES, text_sparql
from colony_actor.colony.search.results import Results, run_query

# A search overlapping this many writes in a row gives up on the index (and scans).
ATTEMPTS: Final = 4


def scan_text_search(store: Store, terms: Iterable[str], limit: int, config: NamedNode,
                     deadline: float, *, named_graphs: Sequence[NamedNode] | None = None,
                     groups: Sequence[tuple[NamedNode, NamedNode]] | None = None) -> Results:
    """The text search by scanning every literal of every pod (the reference semantics).

    The full-text index narrows it to the pods (`named_graphs`, plus the config pod, the
    only one that gives depths) or the (graph, subject) pairs (`groups`) that can rank
    within the limit."""
    sparql = text_sparql(terms, limit, config, groups)
    if named_graphs is None:
        return run_query(store, sparql, deadline, limit)
    graphs: list[NamedNode | BlankNode] = list(named_graphs)
    return run_query(store, sparql, deadline, limit, named_graphs=graphs)


def indexed_search(store: Store, index: FullTextIndex, terms: Sequence[str], limit: int,
                   config: NamedNode, deadline: float) -> Results | None:
    """The text search's results through the index, or None when the index cannot answer
    (the caller scans then). Same rows, same order as `scan_text_search`."""
    distinct = list(dict.fromkeys(terms))
    if not distinct:
        return None
    for _ in range(ATTEMPTS):
        candidates = index.candidates(store, distinct, limit, config, deadline)
        if candidates is None:
            return None
        result = _narrowed(store, terms, limit, config, deadline, candidates)
        if index.changed_since(candidates.version):
            continue
        if ambiguous(candidates, result):
            # The scan's order among these rows is an artefact of its evaluation.
            return None
        return result
    return None


def text_search(store: Store, terms: Iterable[str], limit: int, config: NamedNode,
                deadline: float, index: FullTextIndex | None = None) -> Results:
    """The text search: through the full-text index when there is a usable one, else by
    scanning; both give the same rows in the same order."""
    terms = list(terms)
    if index is not None:
        found = indexed_search(store, index, terms, limit, config, deadline)
        if found is not None:
            return found
    return scan_text_search(store, terms, limit, config, deadline)


def ambiguous(candidates: Candidates, result: Results) -> bool:
    """Whether the scan's order of these rows is not fixed by the ORDER BY: rows of one
    predicate mixing literal kinds (oxigraph compares literals of different kinds
    inconsistently, and equal numbers of different types as ties), or rows repeated for
    two depth statements of one graph with the same sort key."""
    for row in result.bindings:
        graph = row["graph"]["value"]
        subject = row["subject"]
        key = subject["value"] if subject["type"] == "uri" else "_:" + subject["value"]
        if (graph, key) in candidates.ambiguous_groups:
            return True
        keys = candidates.depths.get(graph, [])
        if len(keys) != len(set(keys)):
            return True
    return False


def _narrowed(store: Store, terms: Sequence[str], limit: int, config: NamedNode,
              deadline: float, candidates: Candidates) -> Results:
    groups = candidates.groups
    if not groups:
        return Results(list(TEXT_VARIABLES), [])
    if any(subject.startswith("_:") for _, subject in groups):
        # A blank node cannot be named in a query: narrow to whole pods instead.
        named = sorted({config.value, *(graph for graph, _ in groups)})
        return scan_text_search(store, terms, limit, config, deadline,
                                named_graphs=[NamedNode(g) for g in named])
    return scan_text_search(store, terms, limit, config, deadline, groups=[
        (NamedNode(g), NamedNode(x)) for g, x in groups])
