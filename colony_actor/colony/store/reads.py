"""What the store says: pods, the registry, and the local bookkeeping graph.

Pods are graphs `ant://<address>`. The local graph `ant://colony-actor/local` holds what
must never be uploaded: the update list with each pod's edit sequence, the removed list,
the last-seen pointer and scratchpad counters, the key index of each own address.
Everything here is a blocking read; async callers run it in worker threads. This module
must never write, and never paste a raw user string into SPARQL (names are Literals).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any, Final

from pyoxigraph import NamedNode, QuerySolutions, RdfFormat, Store, Triple, serialize

from colony_actor.colony import registry
from colony_actor.colony.store.sparql import L, int_of, values
from colony_actor.colony.vocab import (
    CREATION,
    DATA,
    DEPTH,
    KEY_INDEX,
    LOCAL_GRAPH,
    MODIFIED,
    NAME,
    NODE_PATTERN,
    POD,
    POINTER_COUNTER,
    RDF_TYPE,
    REF,
    REMOVED,
    REMOVED_SCRATCHPAD,
    SCRATCHPAD_COUNTER,
    UPDATE_SEQ,
    address_of_node,
    pod_node,
    text,
)

# How the N-Triples line of a reference ends (`<pod> a colony:Ref`).
_REF_END: Final = f" {RDF_TYPE} {REF} .\n".encode()


def _network_order(lines: list[bytes]) -> list[bytes]:
    """A pod's N-Triples lines as uploaded: references first, then the rest, each sorted."""
    refs = sorted(line for line in lines if line.endswith(_REF_END))
    return refs + sorted(line for line in lines if not line.endswith(_REF_END))


def pod_graphs(store: Store) -> list[NamedNode]:
    """Every pod graph (the configuration pod's included, the local graph never)."""
    return sorted((g for g in store.named_graphs()
                   if isinstance(g, NamedNode) and g != LOCAL_GRAPH), key=lambda g: g.value)


@dataclass(frozen=True)
class ReadStatistics:
    """What the whole-graph reads have cost so far: the graphs read whole and their triples
    (an edit reads none: its cost must not grow with the store)."""
    graphs_read: int
    triples_read: int


@dataclass(frozen=True)
class HeldCopy:
    """What a refresh needs to know of the copy held of a pod before downloading it."""
    pointer_counter: int | None  # of the version held; None if never downloaded
    has_data: bool
    pending: bool  # local changes wait for upload


@dataclass(frozen=True)
class PodRow:
    address: str
    name: str
    created_at: str
    modified_at: str
    depth: int


@dataclass(frozen=True)
class Snapshot:
    """What an upload needs of a pod, read in one go under the write lock."""
    address: str
    statements: list[bytes]  # N-Triples lines: references first, then the rest
    seq: int | None  # edit sequence at the snapshot; None if not queued
    scratchpads: list[str]  # in chunk order
    pointer_counter: int | None
    scratchpad_counters: dict[str, int]


class StoreReads:
    """The reads of one store whose configuration pod is at `config`."""

    def __init__(self, store: Store, config: str) -> None:
        self.store = store
        self.config = config
        self.config_node = pod_node(config)
        self._graphs_read = 0
        self._triples_read = 0

    def statistics(self) -> ReadStatistics:
        return ReadStatistics(self._graphs_read, self._triples_read)

    def select(self, sparql: str) -> list[Any]:
        solutions = self.store.query(sparql)
        assert isinstance(solutions, QuerySolutions)
        return list(solutions)

    def triples(self, address: str) -> list[Triple]:
        """Every triple of the pod's graph (counted in `statistics`)."""
        found = [q.triple for q in
                 self.store.quads_for_pattern(None, None, None, pod_node(address))]
        self._graphs_read += 1
        self._triples_read += len(found)
        return found

    def held_copies(self, addresses: Sequence[str]) -> dict[str, HeldCopy]:
        """`HeldCopy` of each of these pods, in three queries whatever their number."""
        if not addresses:
            return {}
        counters = self._local_ints(POINTER_COUNTER, addresses)
        pending = self._local_ints(UPDATE_SEQ, addresses)
        rows = self.select(f"SELECT ?g WHERE {{ {values('g', addresses)}"
                           "FILTER EXISTS { GRAPH ?g { ?s ?p ?o } } }")
        filled = {address_of_node(r["g"]) for r in rows}
        return {a: HeldCopy(counters.get(a), a in filled, a in pending) for a in addresses}

    def pod_exists(self, address: str) -> bool:
        g = pod_node(address)
        return bool(self.store.query(f"ASK {{ GRAPH {g} {{ {g} {RDF_TYPE} {POD} }} }}"))

    def pods_named(self, name: str) -> list[str]:
        rows = self.select(
            f"SELECT DISTINCT ?g WHERE {{ GRAPH ?g {{ ?g {RDF_TYPE} {POD} ; {NAME} {text(name)} }}"
            f" FILTER(?g != {L}) }}")
        return sorted(a for a in (address_of_node(r["g"]) for r in rows) if a)

    def is_own(self, address: str) -> bool:
        """Whether the registry lists the pod as the user's: one entry looked up, whatever
        the number of pods."""
        if address == self.config:
            return False
        g = pod_node(address)
        return bool(self.store.query(
            f"ASK {{ GRAPH {self.config_node} {{ {g} {RDF_TYPE} {POD} }} }}"))

    def own_pods(self) -> list[str]:
        """The pods the registry lists as the user's, from its type statements alone: the
        configuration pod also holds a depth for every pod referenced (1.5 s of the
        interpreter to read whole at 100,000 pods, twice in a refresh)."""
        return sorted(registry.own_pods(self._registry(RDF_TYPE), self.config_node))

    def own_addresses(self) -> set[str]:
        """The user's pods and scratchpads, from the registry's type and scratchpad
        statements alone."""
        return registry.own_addresses(self._registry(RDF_TYPE) + self._registry(DATA),
                                      self.config_node)

    def _registry(self, predicate: NamedNode) -> list[Triple]:
        """The configuration pod's statements of `predicate`."""
        return [q.triple for q in
                self.store.quads_for_pattern(None, predicate, None, self.config_node)]

    def pod_rows(self, address: str | None = None) -> list[PodRow]:
        """Every pod but the configuration pod (or only the one at `address`)."""
        if address is None:
            return self._pod_rows("?g", self._listed_pods())
        g = pod_node(address)
        if g in (L, self.config_node):
            return []
        # The graph is named in the pattern, not bound by VALUES: pyoxigraph evaluates a
        # variable graph's OPTIONALs over every graph before such a restriction.
        return self._pod_rows(str(g), "", address)

    def count_pods(self) -> int:
        """How many pods `pod_rows` lists, counted in the store: no row of them is read
        (at 100,000 pods, reading them cost a second of the interpreter)."""
        rows = self.select(f"SELECT (COUNT(DISTINCT ?g) AS ?n) WHERE {{ "
                           f"GRAPH ?g {{ ?g {RDF_TYPE} {POD} }} {self._listed_pods()}}}")
        return (int_of(rows[0]["n"]) or 0) if rows else 0

    def _listed_pods(self) -> str:
        """The restriction of a pod graph `?g` to those `pod_rows` lists: not the local
        graph nor the configuration pod, and named by an address."""
        return (f"FILTER(?g NOT IN ({L}, {self.config_node}) "
                f"&& REGEX(STR(?g), \"^{NODE_PATTERN}$\")) ")

    def _pod_rows(self, g: str, restrict: str, address: str | None = None) -> list[PodRow]:
        rows = self.select(
            f"SELECT {'?g ' if address is None else ''}?name ?created ?modified ?depth WHERE {{ "
            f"GRAPH {g} {{ {g} {RDF_TYPE} {POD} "
            f"OPTIONAL {{ {g} {NAME} ?name }} OPTIONAL {{ {g} {CREATION} ?created }} "
            f"OPTIONAL {{ {g} {MODIFIED} ?modified }} }} {restrict}"
            f"OPTIONAL {{ GRAPH {self.config_node} {{ {g} {DEPTH} ?depth }} }} }}")
        found: dict[str, PodRow] = {}
        for r in rows:
            pod = address or address_of_node(r["g"])
            if not pod or pod in found:
                continue
            found[pod] = PodRow(pod, _value(r["name"]), _value(r["created"]),
                                _value(r["modified"]), registry.depth_value(r["depth"]) or 0)
        return sorted(found.values(), key=lambda p: (p.depth, p.name, p.address))

    def key_indexes_of(self, addresses: Iterable[str]) -> dict[str, int]:
        """The key indexes of these addresses only (those recorded)."""
        return self._local_ints(KEY_INDEX, addresses)

    def scratchpads(self, address: str) -> list[str]:
        """The pod's scratchpads in chunk order: allocation order, so chunk 0 stays put."""
        rows = self.select(f"SELECT ?s WHERE {{ GRAPH {self.config_node} {{ "
                           f"{pod_node(address)} {DATA} ?s }} }}")
        found = {a for a in (address_of_node(r["s"]) for r in rows) if a}
        indexes = self.key_indexes_of(found)
        return sorted(found, key=lambda a: (indexes.get(a, 1 << 62), a))

    def _local_ints(self, predicate: NamedNode,
                    addresses: Iterable[str] | None = None) -> dict[str, int]:
        """Integer values of `predicate` in the local graph: of every subject, or (bound in
        the pattern, so the cost does not grow with the store) of these addresses only."""
        restrict = ""
        if addresses is not None:
            restrict = values("a", addresses)
            if not restrict:
                return {}
        rows = self.select(f"SELECT ?a ?v WHERE {{ {restrict}"
                           f"GRAPH {L} {{ ?a {predicate} ?v }} }}")
        out = {}
        for r in rows:
            address, value = address_of_node(r["a"]), int_of(r["v"])
            if address and value is not None:
                out[address] = value
        return out

    def edit_seqs(self, addresses: Iterable[str] | None = None) -> dict[str, int]:
        """The edit sequence of each pod waiting for upload (of these only, if given)."""
        return self._local_ints(UPDATE_SEQ, addresses)

    def edit_seq(self, address: str) -> int | None:
        return self.edit_seqs([address]).get(address)

    def removed(self) -> list[str]:
        rows = self.select(f"SELECT ?a WHERE {{ GRAPH {L} {{ ?a {REMOVED} ?x }} }}")
        return sorted(a for a in (address_of_node(r["a"]) for r in rows) if a)

    def removed_scratchpads(self, address: str) -> list[str]:
        rows = self.select(f"SELECT ?s WHERE {{ GRAPH {L} {{ "
                           f"{pod_node(address)} {REMOVED_SCRATCHPAD} ?s }} }}")
        return sorted(a for a in (address_of_node(r["s"]) for r in rows) if a)

    def pointer_counter(self, address: str) -> int | None:
        return self._local_ints(POINTER_COUNTER, [address]).get(address)

    def scratchpad_counters(self, addresses: Iterable[str] | None = None) -> dict[str, int]:
        return self._local_ints(SCRATCHPAD_COUNTER, addresses)

    def refs_of(self, addresses: Iterable[str]) -> list[str]:
        """The raw references (IRIs or blank labels) in these pods, for the next generation."""
        found: set[str] = set()
        for address in addresses:
            g = pod_node(address)
            rows = self.select(
                f"SELECT DISTINCT ?r WHERE {{ GRAPH {g} {{ ?r {RDF_TYPE} {REF} }} }}")
            found.update(str(getattr(r["r"], "value", r["r"])) for r in rows)
        return sorted(found)

    def depths(self, addresses: Iterable[str] | None = None) -> dict[str, int]:
        """Each pod's (least) depth in the registry: of every pod, or of these only."""
        restrict = ""
        if addresses is not None:
            restrict = values("p", addresses)
            if not restrict:
                return {}
        rows = self.select(f"SELECT ?p ?d WHERE {{ {restrict}"
                           f"GRAPH {self.config_node} {{ ?p {DEPTH} ?d }} }}")
        out: dict[str, int] = {}
        for r in rows:
            address, depth = address_of_node(r["p"]), registry.depth_value(r["d"])
            if address and depth is not None:
                out[address] = min(depth, out.get(address, depth))
        return out

    def statements(self, address: str) -> list[bytes]:
        """The pod's N-Triples lines in network order: references first, then the rest,
        each sorted. Serialised by the store itself, with no Python object a statement
        (the configuration pod holds 100,000 and more: 2.2 s to read as triples)."""
        dumped = self.store.dump(format=RdfFormat.N_TRIPLES, from_graph=pod_node(address))
        assert isinstance(dumped, bytes)
        lines = dumped.splitlines(keepends=True)
        self._graphs_read += 1
        self._triples_read += len(lines)
        return _network_order(lines)

    def with_header_again(self, address: str, statements: list[bytes]) -> list[bytes]:
        """`statements` (the pod's lines as read before) with those about the pod itself
        read again: registering a pod's scratchpads changes only those of the
        configuration pod, which holds a line for every pod it knows (a second whole read
        of it took 1.3 s at 100,000 pods)."""
        node = pod_node(address)
        mine = f"{node} ".encode()
        fresh = serialize((Triple(q.subject, q.predicate, q.object)
                           for q in self.store.quads_for_pattern(node, None, None, node)),
                          format=RdfFormat.N_TRIPLES)
        assert isinstance(fresh, bytes)
        return _network_order([line for line in statements if not line.startswith(mine)]
                              + fresh.splitlines(keepends=True))

    def snapshot(self, address: str, statements: list[bytes] | None = None) -> Snapshot:
        """What an upload needs of the pod; `statements` if its lines are known already."""
        scratchpads = self.scratchpads(address)
        if statements is None:
            statements = self.statements(address)
        return Snapshot(address, statements, self.edit_seq(address), scratchpads,
                        self.pointer_counter(address), self.scratchpad_counters(scratchpads))


def _value(term: Any) -> str:
    return str(term.value) if term is not None else ""
