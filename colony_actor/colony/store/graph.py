"""The pyoxigraph store on disk: pods as named graphs, plus the local bookkeeping graph.

Pods are graphs `ant://<address>`. The local graph `ant://colony-actor/local` holds what
must never be uploaded: the update list with each pod's edit sequence, the removed list,
the last-seen pointer and scratchpad counters, the key index of each own address. Every
write here is ONE `store.update` request, which oxigraph applies as one transaction: an
edit and its queueing land together or not at all.

Every write also names the graphs (or subjects) it changes: their generation tokens change
in the same request, and the full-text index (fulltext.py, when there is one) follows under
the same lock.

Everything is synchronous and blocking; the async facade (pods.py) calls it in worker
threads and serialises writes with its lock. Every value put into SPARQL text is a
pyoxigraph term (`str()` gives its escaped N-Triples form) or pyoxigraph's own N-Triples
serialisation of statements it parsed (`PodData`); this module must never paste a raw user
string into SPARQL, and never upload or search the local graph.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pyoxigraph
import structlog
from pyoxigraph import (
    DefaultGraph,
    Literal,
    NamedNode,
    QuerySolutions,
    RdfFormat,
    Store,
    Triple,
)

from colony_actor.colony import registry
from colony_actor.colony.fulltext.index import (
    LITERAL_ROWS,
    WHOLE,
    Changes,
    FullTextIndex,
    GraphRows,
    Touch,
    csv_rows,
    generation_sparql,
    merge,
    subjects,
)
from colony_actor.colony.jsonld import subject_tree_pattern
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
    XSD_INTEGER,
    address_of_node,
    pod_node,
    text,
)

L = str(LOCAL_GRAPH)
log = structlog.get_logger("colony_actor.colony.store.graph")


def _integer(value: int) -> Literal:
    return Literal(str(value), datatype=XSD_INTEGER)


def _int_of(term: Any) -> int | None:
    if isinstance(term, Literal):
        try:
            return int(term.value)
        except ValueError:
            return None
    return None


def _data(triples: Iterable[Triple]) -> str:
    return "\n".join(f"{t.subject} {t.predicate} {t.object} ." for t in triples)


def _values(variable: str, addresses: Iterable[str]) -> str:
    """A VALUES clause binding `?variable` to these pods' nodes ("" for none): the
    pattern then costs what these pods hold, not what the store holds."""
    nodes = sorted({str(pod_node(a)) for a in addresses})
    return f"VALUES ?{variable} {{ {' '.join(nodes)} }} " if nodes else ""


def _insert(graph: NamedNode, triples: Sequence[Triple]) -> str:
    if not triples:
        return ""
    return f"INSERT DATA {{ GRAPH {graph} {{ {_data(triples)} }} }} ;\n"


def _bump_seq(node: NamedNode) -> str:
    """Queue `node`'s pod for upload: its edit sequence grows by one (starting at 1)."""
    return (f"DELETE {{ GRAPH {L} {{ {node} {UPDATE_SEQ} ?old }} }} "
            f"INSERT {{ GRAPH {L} {{ {node} {UPDATE_SEQ} ?new }} }} "
            f"WHERE {{ OPTIONAL {{ GRAPH {L} {{ {node} {UPDATE_SEQ} ?old }} }} "
            f"BIND(COALESCE(?old + 1, 1) AS ?new) }} ;\n")


def _set(graph: NamedNode, subject: NamedNode, predicate: NamedNode, value: Any) -> str:
    """Replace every (subject, predicate, *) in graph by one statement (or none)."""
    out = f"DELETE WHERE {{ GRAPH {graph} {{ {subject} {predicate} ?v }} }} ;\n"
    if value is not None:
        out += f"INSERT DATA {{ GRAPH {graph} {{ {subject} {predicate} {value} }} }} ;\n"
    return out


def _touch(pod: NamedNode, timestamp: str) -> str:
    return _set(pod, pod, MODIFIED, text(timestamp))


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


@dataclass(frozen=True)
class PodData:
    """A downloaded pod's statements, parsed and checked in a scratch in-memory store, ready
    to replace its graph: made without a Python object per statement, so that a refresh's
    store thread spends its time in oxigraph and SQLite (which let the event loop run)
    rather than holding the interpreter."""
    statements: str  # N-Triples, `.../index` statements left out
    count: int  # statements in the data, `.../index` ones included
    rows: GraphRows  # for the full-text index

    @classmethod
    def parse(cls, body: bytes) -> PodData:
        """The pod's data as published (TriG; statements in named graphs count as the
        pod's own); SyntaxError if it does not parse."""
        scratch = Store()
        scratch.load(body, format=RdfFormat.TRIG)
        if next(iter(scratch.named_graphs()), None) is not None:
            scratch.update("INSERT { ?s ?p ?o } WHERE { GRAPH ?g { ?s ?p ?o } } ; DROP NAMED")
        count = len(scratch)
        if next(iter(scratch.quads_for_pattern(None, INDEX, None)), None) is not None:
            scratch.update(f"DELETE WHERE {{ ?s {INDEX} ?o }}")
        dumped = scratch.dump(format=RdfFormat.N_TRIPLES, from_graph=DefaultGraph())
        assert isinstance(dumped, bytes)
        # Blank nodes get new names when stored: the index reads their rows back then.
        found = csv_rows(scratch, LITERAL_ROWS.format(inner="?x ?p ?o FILTER(isLiteral(?o))"))
        rows = [row for row in found if not row[0].startswith("_:")]
        return cls(dumped.decode("utf-8"), count, GraphRows(rows, len(rows) < len(found)))

    @classmethod
    def of(cls, triples: Iterable[Triple]) -> PodData:
        return cls.parse(pyoxigraph.serialize(list(triples), format=RdfFormat.N_TRIPLES) or b"")


class GraphStore:
    def __init__(self, path: Path, config_address: str, fulltext: Path | None = None) -> None:
        """The store in directory `path`; with `fulltext`, the full-text index at that file
        (opened, and brought in step with the store: this may rebuild it)."""
        path.mkdir(parents=True, exist_ok=True)
        self.store = Store(str(path))
        self.config = config_address
        self.config_node = pod_node(config_address)
        self.fulltext: FullTextIndex | None = None
        if fulltext is not None:
            try:
                self.fulltext = FullTextIndex.open(fulltext, self.store)
            except (sqlite3.Error, OSError) as exc:
                # Searches scan instead; nothing else depends on the index.
                log.error("fulltext_unavailable", path=str(fulltext), error=str(exc))

    def close(self) -> None:
        """Flush and release the store (its directory lock goes with the last reference)."""
        if self.fulltext is not None:
            self.fulltext.close()
        self.store.flush()
        del self.store

    def update(self, sparql: str) -> None:
        """A raw write whose changes are not described: the full-text index stops being
        used (and is rebuilt at the next open). The methods below use `_write`."""
        if sparql.strip():
            self.store.update(sparql)
            if self.fulltext is not None:
                self.fulltext.invalidate("a write with undescribed changes")

    def _write(self, sparql: str, changes: Changes,
               written: Mapping[NamedNode, GraphRows] | None = None) -> None:
        """One store transaction making `changes` (and only those, in pod graphs);
        `written`: the index rows of some graphs it replaces wholly (`FullTextIndex.writing`)."""
        if not sparql.strip():
            return
        if not changes:
            self.store.update(sparql)
            return
        if not sparql.rstrip().endswith(";"):
            sparql += " ;\n"
        sparql += generation_sparql(changes)
        if self.fulltext is None:
            self.store.update(sparql)
            return
        with self.fulltext.writing(self.store, changes, written):
            self.store.update(sparql)

    def select(self, sparql: str) -> list[Any]:
        solutions = self.store.query(sparql)
        assert isinstance(solutions, QuerySolutions)
        return list(solutions)

    # -- reads ---------------------------------------------------------------------------

    def triples(self, address: str) -> list[Triple]:
        return [q.triple for q in
                self.store.quads_for_pattern(None, None, None, pod_node(address))]

    def held_copies(self, addresses: Sequence[str]) -> dict[str, HeldCopy]:
        """`HeldCopy` of each of these pods, in three queries whatever their number."""
        if not addresses:
            return {}
        counters = self._local_ints(POINTER_COUNTER, addresses)
        pending = self._local_ints(UPDATE_SEQ, addresses)
        rows = self.select(f"SELECT ?g WHERE {{ {_values('g', addresses)}"
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

    def own_pods(self) -> list[str]:
        return sorted(registry.own_pods(self.triples(self.config), self.config_node))

    def own_addresses(self) -> set[str]:
        return registry.own_addresses(self.triples(self.config), self.config_node)

    def pod_rows(self, address: str | None = None) -> list[PodRow]:
        """Every pod but the configuration pod (or only the one at `address`)."""
        restrict = "" if address is None else f"VALUES ?g {{ {pod_node(address)} }} "
        rows = self.select(
            f"SELECT ?g ?name ?created ?modified ?depth WHERE {{ {restrict}"
            f"GRAPH ?g {{ ?g {RDF_TYPE} {POD} "
            f"OPTIONAL {{ ?g {NAME} ?name }} OPTIONAL {{ ?g {CREATION} ?created }} "
            f"OPTIONAL {{ ?g {MODIFIED} ?modified }} }} "
            f"FILTER(?g NOT IN ({L}, {self.config_node})) "
            f"OPTIONAL {{ GRAPH {self.config_node} {{ ?g {DEPTH} ?depth }} }} }}")
        found: dict[str, PodRow] = {}
        for r in rows:
            address = address_of_node(r["g"])
            if not address or address in found:
                continue
            found[address] = PodRow(address, _value(r["name"]), _value(r["created"]),
                                    _value(r["modified"]),
                                    registry.depth_value(r["depth"]) or 0)
        return sorted(found.values(), key=lambda p: (p.depth, p.name, p.address))

    def key_indexes(self) -> dict[str, int]:
        return self._local_ints(KEY_INDEX)

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
            restrict = _values("a", addresses)
            if not restrict:
                return {}
        rows = self.select(f"SELECT ?a ?v WHERE {{ {restrict}"
                           f"GRAPH {L} {{ ?a {predicate} ?v }} }}")
        out = {}
        for r in rows:
            address, value = address_of_node(r["a"]), _int_of(r["v"])
            if address and value is not None:
                out[address] = value
        return out

    def edit_seqs(self) -> dict[str, int]:
        return self._local_ints(UPDATE_SEQ)

    def edit_seq(self, address: str) -> int | None:
        return self._local_ints(UPDATE_SEQ, [address]).get(address)

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
            restrict = _values("p", addresses)
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
        """The pod's N-Triples lines in network order: references first, then the rest."""
        triples = self.triples(address)
        if not triples:
            return []
        refs = [t for t in triples if t.predicate == RDF_TYPE and t.object == REF]
        rest = [t for t in triples if not (t.predicate == RDF_TYPE and t.object == REF)]
        return serialize_lines(refs) + serialize_lines(rest)

    def snapshot(self, address: str) -> Snapshot:
        scratchpads = self.scratchpads(address)
        return Snapshot(address, self.statements(address), self.edit_seq(address), scratchpads,
                        self.pointer_counter(address), self.scratchpad_counters(scratchpads))

    # -- writes (each one transaction) -------------------------------------------------

    def init_config(self, scratchpad: str, timestamp: str) -> bool:
        """Create the configuration pod if missing; True if it was created."""
        if self.pod_exists(self.config):
            return False
        c = self.config_node
        triples = [Triple(c, RDF_TYPE, POD), Triple(c, NAME, text(CONFIG_POD_NAME)),
                   Triple(c, CREATION, text(timestamp)), Triple(c, MODIFIED, text(timestamp)),
                   Triple(c, DATA, pod_node(scratchpad))]
        local = [Triple(c, KEY_INDEX, _integer(0)), Triple(pod_node(scratchpad), KEY_INDEX,
                                                           _integer(1))]
        self._write(_insert(c, triples) + _insert(LOCAL_GRAPH, local) + _bump_seq(c), {c: WHOLE})
        return True

    def create_pod(self, address: str, scratchpad: str, pod_index: int, scratch_index: int,
                   name: str, timestamp: str) -> None:
        p, s, c = pod_node(address), pod_node(scratchpad), self.config_node
        pod = [Triple(p, RDF_TYPE, POD), Triple(p, NAME, text(name)),
               Triple(p, CREATION, text(timestamp)), Triple(p, MODIFIED, text(timestamp))]
        config = [Triple(p, RDF_TYPE, POD), Triple(p, DEPTH, registry.depth_literal(0)),
                  Triple(p, DATA, s)]
        local = [Triple(p, KEY_INDEX, _integer(pod_index)),
                 Triple(s, KEY_INDEX, _integer(scratch_index))]
        self._write(_insert(p, pod) + _insert(c, config) + _insert(LOCAL_GRAPH, local)
                    + _touch(c, timestamp) + _bump_seq(p) + _bump_seq(c),
                    {p: WHOLE, c: subjects(p, c)})

    def rename_pod(self, address: str, name: str, timestamp: str) -> None:
        p = pod_node(address)
        self._write(_set(p, p, NAME, text(name)) + _touch(p, timestamp) + _bump_seq(p),
                    {p: subjects(p)})

    def remove_pod(self, address: str, *, own: bool, timestamp: str) -> None:
        """Drop the pod; an own pod also leaves the registry and joins the removed list."""
        p, c = pod_node(address), self.config_node
        sparql = f"DROP SILENT GRAPH {p} ;\n"
        sparql += f"DELETE WHERE {{ GRAPH {L} {{ {p} {UPDATE_SEQ} ?v }} }} ;\n"
        if own:
            marks = [Triple(p, REMOVED, text(""))] + [
                Triple(p, REMOVED_SCRATCHPAD, pod_node(s)) for s in self.scratchpads(address)]
            sparql += _insert(LOCAL_GRAPH, marks)
        else:
            sparql += f"DELETE WHERE {{ GRAPH {L} {{ {p} {POINTER_COUNTER} ?v }} }} ;\n"
        sparql += f"DELETE WHERE {{ GRAPH {c} {{ {p} ?pr ?o }} }} ;\n"
        self._write(sparql + _touch(c, timestamp) + _bump_seq(c), {p: WHOLE, c: subjects(p, c)})

    def put_subject(self, address: str, subject: NamedNode, triples: Sequence[Triple],
                    timestamp: str) -> None:
        p = pod_node(address)
        self._write(_delete_subject(p, subject) + _insert(p, triples) + _touch(p, timestamp)
                    + _bump_seq(p), {p: Touch(subjects=frozenset({p}),
                                              trees=frozenset({subject}))})

    def set_ref(self, address: str, ref: str, present: bool, timestamp: str) -> None:
        p, r = pod_node(address), pod_node(ref)
        triple = f"GRAPH {p} {{ {r} {RDF_TYPE} {REF} }}"
        op = "INSERT DATA" if present else "DELETE DATA"
        self._write(f"{op} {{ {triple} }} ;\n" + _touch(p, timestamp) + _bump_seq(p),
                    {p: subjects(p, r)})

    def add_scratchpads(self, address: str, scratchpads: Sequence[tuple[str, int]],
                        timestamp: str) -> None:
        p, c = pod_node(address), self.config_node
        config = [Triple(p, DATA, pod_node(s)) for s, _ in scratchpads]
        local = [Triple(pod_node(s), KEY_INDEX, _integer(i)) for s, i in scratchpads]
        self._write(_insert(c, config) + _insert(LOCAL_GRAPH, local) + _touch(c, timestamp)
                    + _bump_seq(c), {c: subjects(p, c)})

    def record_key_indexes(self, indexes: dict[str, int]) -> None:
        self._write(_insert(LOCAL_GRAPH, [Triple(pod_node(a), KEY_INDEX, _integer(i))
                                          for a, i in sorted(indexes.items())]), {})

    def _counters(self, pointer: tuple[str, int] | None,
                  scratchpads: dict[str, int]) -> str:
        sparql = ""
        if pointer is not None:
            sparql += _set(LOCAL_GRAPH, pod_node(pointer[0]), POINTER_COUNTER,
                           _integer(pointer[1]))
        for address, counter in sorted(scratchpads.items()):
            sparql += _set(LOCAL_GRAPH, pod_node(address), SCRATCHPAD_COUNTER, _integer(counter))
        return sparql

    def finish_upload(self, address: str, seq: int | None, pointer_counter: int | None,
                      scratchpad_counters: dict[str, int]) -> bool:
        """Record the counters written; dequeue the pod if it was not edited since `seq`.

        Returns True if the pod left the update list (or was not in it)."""
        p = pod_node(address)
        sparql = self._counters(None if pointer_counter is None else (address, pointer_counter),
                                scratchpad_counters)
        if seq is not None and pointer_counter is not None:
            # Exact-term delete: if an edit bumped the sequence, nothing matches.
            sparql += f"DELETE DATA {{ GRAPH {L} {{ {p} {UPDATE_SEQ} {_integer(seq)} }} }} ;\n"
        self._write(sparql, {})
        return pointer_counter is not None and self.edit_seq(address) is None

    def finish_removal(self, address: str, pointer_counter: int | None,
                       scratchpad_counters: dict[str, int], done: bool) -> None:
        p = pod_node(address)
        sparql = self._counters(None if pointer_counter is None else (address, pointer_counter),
                                scratchpad_counters)
        if done:
            sparql += f"DELETE WHERE {{ GRAPH {L} {{ {p} {REMOVED} ?v }} }} ;\n"
            sparql += f"DELETE WHERE {{ GRAPH {L} {{ {p} {REMOVED_SCRATCHPAD} ?v }} }} ;\n"
        self._write(sparql, {})

    def replace_pod(self, address: str, data: PodData, counter: int,
                    depth: int | None, timestamp: str) -> bool:
        """Replace the pod's graph with downloaded data, unless it has local changes.

        Returns False (and changes nothing) if the pod is waiting for upload."""
        return self.replace_pods([(address, data, counter, depth)], timestamp)[0]

    def replace_pods(self, pods: Sequence[tuple[str, PodData, int, int | None]],
                     timestamp: str) -> list[bool]:
        """`replace_pod` for several pods (address, data, counter, depth) in ONE store
        transaction (and one index transaction): what a refresh downloaded meanwhile.

        Each pod waiting for upload is left alone (False at its position)."""
        pending = self._local_ints(UPDATE_SEQ, [a for a, _, _, _ in pods])
        sparql = ""
        changes: Changes = {}
        written: dict[NamedNode, GraphRows] = {}
        depths: dict[str, int] = {}
        out = []
        for address, data, counter, depth in pods:
            if address in pending:
                out.append(False)
                continue
            p = pod_node(address)
            written[p] = data.rows
            sparql += f"DROP SILENT GRAPH {p} ;\n"
            if data.statements:
                sparql += f"INSERT DATA {{ GRAPH {p} {{ {data.statements} }} }} ;\n"
            sparql += _set(LOCAL_GRAPH, p, POINTER_COUNTER, _integer(counter))
            changes = merge(changes, {p: WHOLE})
            if depth is not None:
                depths[address] = depth
            out.append(True)
        if depths:
            more, config = self._depths_sparql(depths, timestamp)
            sparql += more
            changes = merge(changes, config)
            for graph in config:  # written to after its content was given
                written.pop(graph, None)
        self._write(sparql, changes, written)
        return out

    def _depths_sparql(self, depths: dict[str, int], timestamp: str) -> tuple[str, Changes]:
        known = self.depths(depths)
        changed = {a: d for a, d in depths.items() if known.get(a) != d}
        if not changed:
            return "", {}
        c = self.config_node
        sparql = "".join(_set(c, pod_node(a), DEPTH, registry.depth_literal(d))
                         for a, d in sorted(changed.items()))
        return (sparql + _touch(c, timestamp) + _bump_seq(c),
                {c: subjects(c, *(pod_node(a) for a in changed))})

    def set_depths(self, depths: dict[str, int], timestamp: str) -> None:
        self._write(*self._depths_sparql(depths, timestamp))

    def load_config(self, remote: Sequence[Triple], counter: int, timestamp: str) -> set[str]:
        """Take a newer configuration pod from the network; returns the own addresses.

        With local changes pending the registries are merged, otherwise the remote one
        wins; own pods it no longer lists are dropped unless they have local changes.
        """
        c = self.config_node
        seqs = self.edit_seqs()
        local = self.triples(self.config)
        before = registry.own_pods(local, c)
        merged = registry.merge_config(
            local, [t for t in remote if t.predicate != INDEX], c,
            keep_local=self.config in seqs, pending_pods=set(seqs),
            removed_pods=set(self.removed()))
        after = registry.own_pods(merged.triples, c)
        sparql = f"DROP SILENT GRAPH {c} ;\n" + _insert(c, merged.triples)
        sparql += _set(LOCAL_GRAPH, c, POINTER_COUNTER, _integer(counter))
        changes: dict[NamedNode, Touch] = {c: WHOLE}
        for gone in sorted(before - after):
            changes[pod_node(gone)] = WHOLE
            sparql += f"DROP SILENT GRAPH {pod_node(gone)} ;\n"
            sparql += _set(LOCAL_GRAPH, pod_node(gone), POINTER_COUNTER, None)
        if merged.differs_from_remote and self.config not in seqs:
            sparql += _bump_seq(c)
        elif not merged.differs_from_remote and self.config in seqs:
            # Everything changed here is already in the remote registry (typically a new
            # device whose own config pod only has its creation date): nothing to upload.
            sparql += _set(LOCAL_GRAPH, c, UPDATE_SEQ, None)
        self._write(sparql, changes)
        return registry.own_addresses(merged.triples, c)


def _delete_subject(graph: NamedNode, subject: NamedNode) -> str:
    """Delete the subject's statements and those of anonymous nodes nested under it."""
    return (f"DELETE {{ GRAPH {graph} {{ ?x ?p ?o }} }} WHERE {{ GRAPH {graph} {{ "
            + subject_tree_pattern(subject) + " } } ;\n")


def _value(term: Any) -> str:
    return str(term.value) if term is not None else ""


def serialize_lines(triples: Sequence[Triple]) -> list[bytes]:
    """Triples as sorted N-Triples lines (UTF-8, one statement per line)."""
    if not triples:
        return []
    raw = pyoxigraph.serialize(triples, format=RdfFormat.N_TRIPLES) or b""
    return sorted(raw.splitlines(keepends=True))


def parse_statements(body: bytes) -> list[Triple]:
    """Triples from downloaded statements; SyntaxError if they do not parse."""
    return [q.triple for q in pyoxigraph.parse(body, format=RdfFormat.TRIG)]
