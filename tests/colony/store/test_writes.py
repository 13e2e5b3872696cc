"""Write descriptions: pure values, built without a store; and applied, one transaction."""

from __future__ import annotations

from pathlib import Path

from pyoxigraph import BlankNode, Literal, NamedNode, Triple

from colony_actor.colony.store import writes
from colony_actor.colony.store.changes import (
    WHOLE,
    Touch,
    generation_sparql,
    merge,
    new_tokens,
    subjects,
)
from colony_actor.colony.store.poddata import PodData, serialize_lines
from colony_actor.colony.store.writes import Replacement
from colony_actor.colony.vocab import (
    DEPTH,
    INDEX,
    LOCAL_GRAPH,
    NAME,
    POD,
    RDF_TYPE,
    REF,
    UPDATE_SEQ,
    pod_node,
)

from ..conftest import open_graph

CONFIG, POD_A, POD_B, PAD = ("c" * 64, "a" * 64, "b" * 64, "d" * 64)
STAMP = "2025-01-01T00:00:00.000000Z"
C, A, B = pod_node(CONFIG), pod_node(POD_A), pod_node(POD_B)


def test_an_edit_names_what_it_changes_and_queues_its_pod() -> None:
    rename = writes.rename_pod(POD_A, 'quote " } name', STAMP)
    assert rename.changes == {A: subjects(A)}
    assert str(UPDATE_SEQ) in rename.sparql
    assert '"quote \\" } name"' in rename.sparql  # a term, escaped, never pasted
    created = writes.create_pod(CONFIG, POD_A, PAD, 2, 3, "Films", STAMP)
    assert created.changes == {A: WHOLE, C: subjects(A, C)}
    subject = NamedNode("ant://s")
    put = writes.put_subject(POD_A, subject, [Triple(subject, NAME, Literal("x"))], STAMP)
    assert put.changes == {A: Touch(subjects=frozenset({A}), trees=frozenset({subject}))}


def test_bookkeeping_changes_no_pod_graph() -> None:
    for write in (writes.record_key_indexes({POD_A: 4}),
                  writes.finish_upload(POD_A, 3, 7, {PAD: 2}),
                  writes.finish_removal(POD_A, 7, {PAD: 2}, done=True)):
        assert write.changes == {}
        assert f"GRAPH {LOCAL_GRAPH}" in write.sparql
    assert writes.finish_upload(POD_A, None, None, {}).sparql == ""


def test_removing_a_pod_remembers_an_own_pods_scratchpads_only() -> None:
    own = writes.remove_pod(CONFIG, POD_A, [PAD], STAMP)
    other = writes.remove_pod(CONFIG, POD_A, None, STAMP)
    assert pod_node(PAD).value in own.sparql and pod_node(PAD).value not in other.sparql
    assert own.changes == other.changes == {A: WHOLE, C: subjects(A, C)}


def test_replacing_leaves_pending_pods_and_records_new_depths_only() -> None:
    data = PodData.of([Triple(A, NAME, Literal("a"))])
    write, stored = writes.replace_pods(
        CONFIG, [Replacement(POD_A, data, 1, 2), Replacement(POD_B, data, 1, 2)],
        pending={POD_B}, known_depths={}, timestamp=STAMP)
    assert stored == [True, False]
    assert write.changes == {A: WHOLE, C: subjects(C, A)}
    assert write.written == {A: data.rows}  # its rows are known: not read back
    assert B.value not in write.sparql
    again, _ = writes.replace_pods(CONFIG, [Replacement(POD_A, data, 1, 2)], pending=set(),
                                   known_depths={POD_A: 2}, timestamp=STAMP)
    assert again.changes == {A: WHOLE}
    assert writes.set_depths(CONFIG, {POD_A: 2}, known={POD_A: 2}, timestamp=STAMP).sparql == ""


def test_a_newer_registry_wins_and_drops_the_pods_it_no_longer_lists() -> None:
    local = [Triple(C, RDF_TYPE, POD), Triple(A, RDF_TYPE, POD), Triple(B, RDF_TYPE, POD)]
    remote = [Triple(C, RDF_TYPE, POD), Triple(A, RDF_TYPE, POD),
              Triple(pod_node(PAD), INDEX, Literal("1"))]
    write, owned = writes.load_config(CONFIG, remote, 5, STAMP, local=local, pending=set(),
                                      removed=set())
    assert owned == {POD_A}
    assert write.changes == {C: WHOLE, B: WHOLE}
    assert str(INDEX) not in write.sparql
    # B has local changes: the registry keeps it.
    _, kept = writes.load_config(CONFIG, remote, 5, STAMP, local=local, pending={POD_B},
                                 removed=set())
    assert kept == {POD_A, POD_B}


def test_changes_merge_and_each_graph_gets_a_new_token() -> None:
    merged = merge({A: subjects(A)}, {A: Touch(trees=frozenset({B})), C: WHOLE})
    assert merged == {A: Touch(False, frozenset({A}), frozenset({B})), C: WHOLE}
    sparql = generation_sparql(new_tokens({**merged, LOCAL_GRAPH: WHOLE}))
    assert sparql.count("INSERT") == 2 and f"GRAPH {LOCAL_GRAPH} {{ {LOCAL_GRAPH}" not in sparql


def test_a_write_is_applied_as_one_transaction(tmp_path: Path) -> None:
    graph, index = open_graph(tmp_path, CONFIG)
    try:
        graph.apply(writes.init_config(CONFIG, PAD, STAMP))
        graph.apply(writes.create_pod(CONFIG, POD_A, POD_B, 2, 3, "Films", STAMP))
        assert graph.own_pods() == [POD_A]
        assert graph.edit_seqs() == {CONFIG: 2, POD_A: 1}
        assert graph.key_indexes_of([CONFIG, PAD, POD_A, POD_B]) == {
            CONFIG: 0, PAD: 1, POD_A: 2, POD_B: 3}
        graph.apply(writes.set_depths(CONFIG, {POD_B: 4}, known={}, timestamp=STAMP))
        assert graph.depths() == {POD_A: 0, POD_B: 4}
        assert Triple(pod_node(POD_B), DEPTH, Literal("4")) in graph.triples(CONFIG)
        assert index is not None and index.differences(graph.store) == []
    finally:
        graph.close()


def test_the_own_pods_are_read_without_reading_the_whole_registry(tmp_path: Path) -> None:
    """The configuration pod holds a depth for every pod referenced (100,000 at 10M
    triples): a refresh or an upload reads the user's own pods by their type and
    scratchpad statements alone, never the whole graph."""
    graph, _ = open_graph(tmp_path, CONFIG, fulltext=None)
    try:
        graph.apply(writes.init_config(CONFIG, PAD, STAMP))
        graph.apply(writes.create_pod(CONFIG, POD_A, POD_B, 2, 3, "Films", STAMP))
        referenced = {f"{n:064x}": 1 + n % 3 for n in range(1, 200)}
        graph.apply(writes.set_depths(CONFIG, referenced, known={}, timestamp=STAMP))
        before = graph.statistics()
        assert graph.own_pods() == [POD_A]
        assert graph.own_addresses() == {POD_A, POD_B, PAD}
        assert graph.statistics() == before  # no graph read whole
    finally:
        graph.close()


def test_a_pods_statements_are_its_sorted_lines_references_first(tmp_path: Path) -> None:
    """What an upload sends: every statement of the pod as one N-Triples line, the
    references first, each part sorted; blank nodes, escapes and any script kept."""
    graph, _ = open_graph(tmp_path, CONFIG, fulltext=None)
    try:
        graph.apply(writes.init_config(CONFIG, PAD, STAMP))
        graph.apply(writes.create_pod(CONFIG, POD_A, POD_B, 2, 3, "Films", STAMP))
        graph.apply(writes.set_ref(POD_A, POD_B, True, STAMP))
        graph.apply(writes.set_ref(POD_A, "e" * 64, True, STAMP))
        thing = NamedNode("ant://thing/1")
        author = BlankNode()
        graph.apply(writes.put_subject(POD_A, thing, [
            Triple(thing, NAME, Literal('Quote " back \\ new\nline 東京 😀')),
            Triple(thing, NAME, Literal("Road", language="en")),
            Triple(thing, NamedNode("http://schema.org/author"), author),
            Triple(author, NAME, Literal("Someone"))], STAMP))
        lines = graph.statements(POD_A)
        triples = graph.triples(POD_A)
        refs = [t for t in triples if t.predicate == RDF_TYPE and t.object == REF]
        rest = [t for t in triples if t not in refs]
        assert len(refs) == 2 and len(lines) == len(triples)
        assert lines == serialize_lines(refs) + serialize_lines(rest)
        assert lines[:2] == sorted(lines[:2]) and lines[2:] == sorted(lines[2:])
    finally:
        graph.close()


def test_the_lines_about_a_pod_itself_are_read_again_as_a_whole_read_gives_them(
        tmp_path: Path) -> None:
    """Registering a pod's new scratchpads changes only the lines about that pod in the
    configuration pod (and its modified date): an upload reads those again instead of
    the whole registry, and must send what a whole read would give."""
    graph, _ = open_graph(tmp_path, CONFIG, fulltext=None)
    try:
        graph.apply(writes.init_config(CONFIG, PAD, STAMP))
        graph.apply(writes.create_pod(CONFIG, POD_A, POD_B, 2, 3, 'Films "é"', STAMP))
        graph.apply(writes.set_ref(CONFIG, POD_A, True, STAMP))
        referenced = {f"{n:064x}": 1 + n % 3 for n in range(1, 50)}
        graph.apply(writes.set_depths(CONFIG, referenced, known={}, timestamp=STAMP))
        for address in (CONFIG, POD_A):
            before = graph.statements(address)
            graph.apply(writes.add_scratchpads(CONFIG, address, [(f"{address[:1]}9" * 32, 7)],
                                               "2026-01-01T00:00:00.000000Z"))
            again = graph.with_header_again(address, before)
            assert again == graph.statements(address)
            assert again != before or address != CONFIG
    finally:
        graph.close()
