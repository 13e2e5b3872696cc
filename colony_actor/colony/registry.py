"""The configuration pod's registry: what it says about the user's pods, and merging it.

The configuration pod (`User Configuration`, at key 0's address) holds, besides its own
name and dates:

    <ant://P> rdf:type ant://colonylib/v1/pod      P is one of the user's pods
    <ant://P> ant://colonylib/v1/data <ant://S>     S is one of P's scratchpads
    <ant://P> ant://colonylib/v1/depth "n"          P is known at depth n (0 = own)

and `<ant://config> ant://colonylib/v1/data <ant://S>` for its own scratchpads.
Pure functions over pyoxigraph triples; this module must never touch the store or network.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from pyoxigraph import Literal, NamedNode, Triple

from colony_actor.colony.vocab import (
    CREATION,
    DATA,
    DEPTH,
    MODIFIED,
    NAME,
    POD,
    RDF_TYPE,
    address_of_node,
    text,
)


def own_pods(triples: Iterable[Triple], config: NamedNode) -> set[str]:
    """Addresses of the pods a configuration graph registers (not the config pod itself)."""
    return {_address(t.subject) for t in triples
            if t.predicate == RDF_TYPE and t.object == POD and t.subject != config
            and _address(t.subject)}


def own_addresses(triples: Iterable[Triple], config: NamedNode) -> set[str]:
    """Every address the registry says belongs to the user: pods and their scratchpads."""
    triples = list(triples)
    pods = own_pods(triples, config)
    found = set(pods)
    for t in triples:
        if t.predicate == DATA and (t.subject == config or _address(t.subject) in pods):
            address = _address(t.object)
            if address:
                found.add(address)
    return found


@dataclass(frozen=True)
class Merged:
    triples: list[Triple]
    differs_from_remote: bool  # the result must be uploaded again


def merge_config(local: Iterable[Triple], remote: Iterable[Triple], config: NamedNode, *,
                 keep_local: bool, pending_pods: set[str], removed_pods: set[str]) -> Merged:
    """The configuration graph to keep after downloading a newer one.

    Without local changes the remote graph wins, except that pods with edits still waiting
    for upload keep their registry entries. With local changes (`keep_local`), both
    registries are united (the remote header wins). Pods removed here stay removed, and a
    pod with two depths keeps the smaller.
    """
    local = list(local)
    remote = list(remote)
    header = {NAME, CREATION, MODIFIED}
    result: set[Triple] = set(remote)
    if keep_local:
        result.update(t for t in local if not (t.subject == config and t.predicate in header))
    else:
        for address in pending_pods - own_pods(remote, config):
            node = NamedNode("ant://" + address)
            result.update(t for t in local if t.subject == node)
    removed = {NamedNode("ant://" + a) for a in removed_pods}
    result = {t for t in result if t.subject not in removed}
    if not any(t.subject == config and t.predicate in header for t in result):
        result.update(t for t in local if t.subject == config and t.predicate in header)
    result = _smallest_depths(result)
    ordered = sorted(result, key=str)
    return Merged(ordered, set(ordered) != set(remote))


def _smallest_depths(triples: set[Triple]) -> set[Triple]:
    best: dict[object, tuple[int, Triple]] = {}
    for t in triples:
        if t.predicate == DEPTH:
            depth = depth_value(t.object)
            if depth is not None and (t.subject not in best or depth < best[t.subject][0]):
                best[t.subject] = (depth, t)
    keep = {entry[1] for entry in best.values()}
    return {t for t in triples if t.predicate != DEPTH or t in keep}


def depth_value(term: object) -> int | None:
    if isinstance(term, Literal) and term.value.isdigit() and len(term.value) < 10:
        return int(term.value)
    return None


def depth_literal(depth: int) -> Literal:
    return text(str(depth))


def _address(term: object) -> str:
    return address_of_node(term) or ""
