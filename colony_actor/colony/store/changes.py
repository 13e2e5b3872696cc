"""What a write changes in the pod graphs, and the generation tokens that record it.

Every write names the graphs (or subjects) it changes: their generation tokens change in
the same store request, and whatever follows the store's writes (the full-text index)
learns from the same description what to read again. Pure values and text; this module
must never run anything.
"""

from __future__ import annotations

import secrets
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Final

from pyoxigraph import NamedNode

from colony_actor.colony.store.sparql import L
from colony_actor.colony.vocab import INDEX_GENERATION, LOCAL_GRAPH, text


@dataclass(frozen=True)
class Touch:
    """What one write changes in one graph: all of it, or the literals of some subjects
    (`subjects`) and of some subjects with the anonymous nodes nested under them (`trees`:
    what put_subject_data replaces)."""
    whole: bool = False
    subjects: frozenset[NamedNode] = frozenset()
    trees: frozenset[NamedNode] = frozenset()


Changes = Mapping[NamedNode, Touch]
WHOLE: Final = Touch(whole=True)


def subjects(*nodes: NamedNode) -> Touch:
    return Touch(subjects=frozenset(nodes))


def merge(*changes: Changes) -> dict[NamedNode, Touch]:
    out: dict[NamedNode, Touch] = {}
    for change in changes:
        for graph, touch in change.items():
            known = out.get(graph)
            if known is None:
                out[graph] = touch
            else:
                out[graph] = Touch(known.whole or touch.whole, known.subjects | touch.subjects,
                                   known.trees | touch.trees)
    return out


def new_tokens(changes: Changes) -> dict[NamedNode, str]:
    """A fresh generation token for each pod graph these changes touch (the local graph
    has none). Chosen before the write, so that what follows it knows them unread."""
    return {graph: secrets.token_hex(16) for graph in changes if graph != LOCAL_GRAPH}


def generation_sparql(tokens: Mapping[NamedNode, str]) -> str:
    """The update operations that give each graph its new token (`new_tokens`), to run
    AFTER the edit in the same request: a graph left empty or dropped keeps none."""
    out = ""
    for graph in sorted(tokens, key=lambda g: g.value):
        token = text(tokens[graph])
        out += (f"DELETE WHERE {{ GRAPH {L} {{ {graph} {INDEX_GENERATION} ?v }} }} ;\n"
                f"INSERT {{ GRAPH {L} {{ {graph} {INDEX_GENERATION} {token} }} }} WHERE "
                f"{{ {{ SELECT * WHERE {{ GRAPH {graph} {{ ?s ?p ?o }} }} LIMIT 1 }} }} ;\n")
    return out
