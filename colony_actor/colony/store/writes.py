"""Every write to the store as a pure description: its SPARQL update and what it changes.

A `Write` is built from its inputs and from values read beforehand (under the same write
lock); `GraphStore.apply` runs it as ONE store request, which oxigraph applies as one
transaction: an edit and its queueing land together or not at all. Addresses given here
are checked ones (64 lowercase hex). This module must never do I/O, and never paste a raw
user string into SPARQL: values go in as pyoxigraph terms (`str()` is their escaped
N-Triples form) or as pyoxigraph's own N-Triples serialisation (`PodData`).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence, Set
from dataclasses import dataclass, field

from pyoxigraph import NamedNode, Triple

from colony_actor.colony import registry
from colony_actor.colony.store.changes import WHOLE, Changes, Touch, merge, subjects
from colony_actor.colony.store.poddata import PodData
from colony_actor.colony.store.rows import GraphRows
from colony_actor.colony.store.sparql import (
    bump_seq,
    delete_all,
    delete_subject,
    insert,
    integer,
    set_value,
    touch,
)
from colony_actor.colony.vocab import (
    CONFIG_POD_NAME,
    CREATION,
    DATA,
    DEPTH,
    INDEX,
    KEY_INDEX,
    LOCAL_GRAPH,
    MODIFIED,
    NAME,
    POD,
    POINTER_COUNTER,
    RDF_TYPE,
    REF,
    REMOVED,
    REMOVED_SCRATCHPAD,
    SCRATCHPAD_COUNTER,
    UPDATE_SEQ,
    pod_node,
    text,
)


@dataclass(frozen=True)
class Write:
    """One store request: `sparql`, which changes `changes` in the pod graphs (and only
    those); `written` may give the index rows of graphs it replaces wholly."""
    sparql: str
    changes: Changes = field(default_factory=dict)
    written: Mapping[NamedNode, GraphRows] = field(default_factory=dict)


@dataclass(frozen=True)
class Replacement:
    """A downloaded pod to store: its data, its pointer's counter, and the depth it was
    reached at (None for an own pod, whose depth stays 0)."""
    address: str
    data: PodData
    counter: int
    depth: int | None


def init_config(config: str, scratchpad: str, timestamp: str) -> Write:
    """Create the configuration pod (the caller checked it is missing)."""
    c = pod_node(config)
    triples = [Triple(c, RDF_TYPE, POD), Triple(c, NAME, text(CONFIG_POD_NAME)),
               Triple(c, CREATION, text(timestamp)), Triple(c, MODIFIED, text(timestamp)),
               Triple(c, DATA, pod_node(scratchpad))]
    local = [Triple(c, KEY_INDEX, integer(0)), Triple(pod_node(scratchpad), KEY_INDEX,
                                                      integer(1))]
    return Write(insert(c, triples) + insert(LOCAL_GRAPH, local) + bump_seq(c), {c: WHOLE})


def create_pod(config: str, address: str, scratchpad: str, pod_index: int,
               scratch_index: int, name: str, timestamp: str) -> Write:
    p, s, c = pod_node(address), pod_node(scratchpad), pod_node(config)
    pod = [Triple(p, RDF_TYPE, POD), Triple(p, NAME, text(name)),
           Triple(p, CREATION, text(timestamp)), Triple(p, MODIFIED, text(timestamp))]
    registered = [Triple(p, RDF_TYPE, POD), Triple(p, DEPTH, registry.depth_literal(0)),
                  Triple(p, DATA, s)]
    local = [Triple(p, KEY_INDEX, integer(pod_index)), Triple(s, KEY_INDEX, integer(scratch_index))]
    return Write(insert(p, pod) + insert(c, registered) + insert(LOCAL_GRAPH, local)
                 + touch(c, timestamp) + bump_seq(p) + bump_seq(c),
                 {p: WHOLE, c: subjects(p, c)})


def rename_pod(address: str, name: str, timestamp: str) -> Write:
    p = pod_node(address)
    return Write(set_value(p, p, NAME, text(name)) + touch(p, timestamp) + bump_seq(p),
                 {p: subjects(p)})


def remove_pod(config: str, address: str, own_scratchpads: Sequence[str] | None,
               timestamp: str) -> Write:
    """Drop the pod. An own pod (`own_scratchpads` given) also leaves the registry and
    joins the removed list, with its scratchpads, to be blanked on the network."""
    p, c = pod_node(address), pod_node(config)
    sparql = f"DROP SILENT GRAPH {p} ;\n" + delete_all(LOCAL_GRAPH, p, UPDATE_SEQ)
    if own_scratchpads is not None:
        marks = [Triple(p, REMOVED, text(""))] + [
            Triple(p, REMOVED_SCRATCHPAD, pod_node(s)) for s in own_scratchpads]
        sparql += insert(LOCAL_GRAPH, marks)
    else:
        sparql += delete_all(LOCAL_GRAPH, p, POINTER_COUNTER)
    sparql += f"DELETE WHERE {{ GRAPH {c} {{ {p} ?pr ?o }} }} ;\n"
    return Write(sparql + touch(c, timestamp) + bump_seq(c), {p: WHOLE, c: subjects(p, c)})


def put_subject(address: str, subject: NamedNode, triples: Sequence[Triple],
                timestamp: str) -> Write:
    """Replace the subject's data (and its nested anonymous nodes') in the pod."""
    p = pod_node(address)
    return Write(delete_subject(p, subject) + insert(p, triples) + touch(p, timestamp)
                 + bump_seq(p), {p: Touch(subjects=frozenset({p}), trees=frozenset({subject}))})


def set_ref(address: str, ref: str, present: bool, timestamp: str) -> Write:
    p, r = pod_node(address), pod_node(ref)
    op = "INSERT DATA" if present else "DELETE DATA"
    return Write(f"{op} {{ GRAPH {p} {{ {r} {RDF_TYPE} {REF} }} }} ;\n" + touch(p, timestamp)
                 + bump_seq(p), {p: subjects(p, r)})


def add_scratchpads(config: str, address: str, scratchpads: Sequence[tuple[str, int]],
                    timestamp: str) -> Write:
    """Register new scratchpads (address, key index) of the pod in the configuration pod."""
    p, c = pod_node(address), pod_node(config)
    registered = [Triple(p, DATA, pod_node(s)) for s, _ in scratchpads]
    local = [Triple(pod_node(s), KEY_INDEX, integer(i)) for s, i in scratchpads]
    return Write(insert(c, registered) + insert(LOCAL_GRAPH, local) + touch(c, timestamp)
                 + bump_seq(c), {c: subjects(p, c)})


def record_key_indexes(indexes: Mapping[str, int]) -> Write:
    return Write(insert(LOCAL_GRAPH, [Triple(pod_node(a), KEY_INDEX, integer(i))
                                      for a, i in sorted(indexes.items())]))


def _counters(address: str, pointer_counter: int | None,
              scratchpad_counters: Mapping[str, int]) -> str:
    sparql = ""
    if pointer_counter is not None:
        sparql += set_value(LOCAL_GRAPH, pod_node(address), POINTER_COUNTER,
                            integer(pointer_counter))
    for scratchpad, counter in sorted(scratchpad_counters.items()):
        sparql += set_value(LOCAL_GRAPH, pod_node(scratchpad), SCRATCHPAD_COUNTER,
                            integer(counter))
    return sparql


def finish_upload(address: str, seq: int | None, pointer_counter: int | None,
                  scratchpad_counters: Mapping[str, int]) -> Write:
    """Record the counters written; dequeue the pod if it was not edited since `seq`
    (and its pointer was written)."""
    sparql = _counters(address, pointer_counter, scratchpad_counters)
    if seq is not None and pointer_counter is not None:
        # Exact-term delete: if an edit bumped the sequence, nothing matches.
        sparql += (f"DELETE DATA {{ GRAPH {LOCAL_GRAPH} {{ {pod_node(address)} {UPDATE_SEQ} "
                   f"{integer(seq)} }} }} ;\n")
    return Write(sparql)


def finish_removal(address: str, pointer_counter: int | None,
                   scratchpad_counters: Mapping[str, int], done: bool) -> Write:
    """Record the counters written; once `done`, the pod leaves the removed list."""
    p = pod_node(address)
    sparql = _counters(address, pointer_counter, scratchpad_counters)
    if done:
        sparql += delete_all(LOCAL_GRAPH, p, REMOVED) + delete_all(LOCAL_GRAPH, p,
                                                                    REMOVED_SCRATCHPAD)
    return Write(sparql)


def replace_pods(config: str, pods: Sequence[Replacement], *, pending: Set[str],
                 known_depths: Mapping[str, int], timestamp: str) -> tuple[Write, list[bool]]:
    """Replace each pod's graph with its downloaded data, in ONE request, and record the
    depths they were reached at. Pods waiting for upload (`pending`) are left alone: False
    at their position. `known_depths`: the registry's depths of the pods given one."""
    sparql = ""
    changes: Changes = {}
    written: dict[NamedNode, GraphRows] = {}
    depths: dict[str, int] = {}
    stored = []
    for pod in pods:
        if pod.address in pending:
            stored.append(False)
            continue
        p = pod_node(pod.address)
        written[p] = pod.data.rows
        sparql += f"DROP SILENT GRAPH {p} ;\n"
        if pod.data.statements:
            sparql += f"INSERT DATA {{ GRAPH {p} {{ {pod.data.statements} }} }} ;\n"
        sparql += set_value(LOCAL_GRAPH, p, POINTER_COUNTER, integer(pod.counter))
        changes = merge(changes, {p: WHOLE})
        if pod.depth is not None:
            depths[pod.address] = pod.depth
        stored.append(True)
    if depths:
        recorded = set_depths(config, depths, known=known_depths, timestamp=timestamp)
        sparql += recorded.sparql
        changes = merge(changes, recorded.changes)
        for graph in recorded.changes:  # written to after its content was given
            written.pop(graph, None)
    return Write(sparql, changes, written), stored


def set_depths(config: str, depths: Mapping[str, int], *, known: Mapping[str, int],
               timestamp: str) -> Write:
    """Record each pod's depth in the registry where it differs from the `known` one."""
    changed = {a: d for a, d in depths.items() if known.get(a) != d}
    if not changed:
        return Write("")
    c = pod_node(config)
    sparql = "".join(set_value(c, pod_node(a), DEPTH, registry.depth_literal(d))
                     for a, d in sorted(changed.items()))
    return Write(sparql + touch(c, timestamp) + bump_seq(c),
                 {c: subjects(c, *(pod_node(a) for a in changed))})


def load_config(config: str, remote: Sequence[Triple], counter: int, timestamp: str, *,
                local: Sequence[Triple], pending: Set[str], removed: Set[str]
                ) -> tuple[Write, set[str]]:
    """Take a newer configuration pod from the network; with it, the own addresses.

    `local`: the configuration pod held; `pending`: the pods waiting for upload; `removed`:
    the pods removed here. With local changes pending the registries are merged, otherwise
    the remote one wins; own pods it no longer lists are dropped unless they have local
    changes.
    """
    c = pod_node(config)
    before = registry.own_pods(local, c)
    merged = registry.merge_config(
        local, [t for t in remote if t.predicate != INDEX], c,
        keep_local=config in pending, pending_pods=set(pending), removed_pods=set(removed))
    after = registry.own_pods(merged.triples, c)
    sparql = f"DROP SILENT GRAPH {c} ;\n" + insert(c, merged.triples)
    sparql += set_value(LOCAL_GRAPH, c, POINTER_COUNTER, integer(counter))
    changes: dict[NamedNode, Touch] = {c: WHOLE}
    for gone in sorted(before - after):
        changes[pod_node(gone)] = WHOLE
        sparql += f"DROP SILENT GRAPH {pod_node(gone)} ;\n"
        sparql += delete_all(LOCAL_GRAPH, pod_node(gone), POINTER_COUNTER)
    if merged.differs_from_remote and config not in pending:
        sparql += bump_seq(c)
    elif not merged.differs_from_remote and config in pending:
        # Everything changed here is already in the remote registry (typically a new
        # device whose own config pod only has its creation date): nothing to upload.
        sparql += delete_all(LOCAL_GRAPH, c, UPDATE_SEQ)
    return Write(sparql, changes), registry.own_addresses(merged.triples, c)
