"""Pod edits and reads: CRUD, name resolution, subject data, references, the update list."""

from __future__ import annotations

import contextlib
import json
from typing import Any

import pytest
import trio

from colony_actor.colony.errors import InvalidInput, PodNotFound

from .conftest import MemoryNetwork, OpenColony

CTX = {"schema": "http://schema.org/"}
H1 = "a1" * 32
H2 = "b2" * 32


def names(data: dict) -> list[str]:
    return sorted(b["object"]["value"] for b in data["results"]["bindings"]
                  if b["predicate"]["value"] == "http://schema.org/name")


async def test_create_list_rename_remove(open_colony: OpenColony, network: MemoryNetwork) -> None:
    colony = await open_colony(network)
    assert await colony.list_pods() == []
    pod = await colony.create_pod("Films")
    assert len(pod.address) == 64 and pod.depth == 0 and pod.name == "Films"
    assert pod.created_at.endswith("Z")
    other = await colony.create_pod("Books")
    assert other.address != pod.address
    assert {p.name for p in await colony.list_pods()} == {"Films", "Books"}

    renamed = await colony.rename_pod("Films", "Movies")
    assert renamed.address == pod.address and renamed.name == "Movies"
    with pytest.raises(PodNotFound):
        await colony.rename_pod("Films", "x")
    assert (await colony.rename_pod("ant://" + pod.address, "Cinema")).name == "Cinema"
    assert (await colony.rename_pod(pod.address.upper(), "Cinema 2")).name == "Cinema 2"

    await colony.remove_pod("Books")
    assert [p.name for p in await colony.list_pods()] == ["Cinema 2"]
    updates = await colony.updates()
    assert updates["remove"] == [other.address]
    assert other.address not in updates["update"]
    with pytest.raises(PodNotFound):
        await colony.remove_pod("Books")


async def test_config_pod_is_protected(open_colony: OpenColony, network: MemoryNetwork) -> None:
    colony = await open_colony(network)
    config = (await colony.updates())["update"][0]
    with pytest.raises(InvalidInput, match="The configuration pod cannot be removed"):
        await colony.remove_pod("User Configuration")
    with pytest.raises(InvalidInput, match="The configuration pod cannot be removed"):
        await colony.remove_pod(config)
    with pytest.raises(InvalidInput):
        await colony.rename_pod(config, "mine")
    with pytest.raises(InvalidInput):
        await colony.put_subject_data(config, H1, {"@context": CTX, "schema:name": "x"})


@pytest.mark.parametrize("name", ["", "   ", "a" * 201, "bad\nname", "tab\there", "nul\x00"])
async def test_bad_pod_names(open_colony: OpenColony, network: MemoryNetwork, name: str) -> None:
    colony = await open_colony(network)
    with pytest.raises(InvalidInput):
        await colony.create_pod(name)
    assert await colony.list_pods() == []


async def test_hostile_pod_names_are_stored_verbatim(open_colony: OpenColony,
                                                     network: MemoryNetwork) -> None:
    colony = await open_colony(network)
    hostile = ['quote " } > # \\ <x>', "DROP ALL ; INSERT DATA { <a> <b> <c> }",
               "Café 日本 😀", "x" * 200]
    for name in hostile:
        pod = await colony.create_pod(name)
        assert pod.name == name
        assert (await colony.rename_pod(name, name)).address == pod.address
    assert sorted(p.name for p in await colony.list_pods()) == sorted(hostile)


async def test_name_resolves_only_pods(open_colony: OpenColony, network: MemoryNetwork) -> None:
    colony = await open_colony(network)
    pod = await colony.create_pod("Films")
    # A subject named like a pod never resolves as that pod.
    await colony.put_subject_data("Films", H1, {"@context": CTX, "schema:name": "Decoy"})
    with pytest.raises(PodNotFound):
        await colony.rename_pod("Decoy", "x")
    with pytest.raises(PodNotFound):
        await colony.put_subject_data(H1, H2, {"@context": CTX, "schema:name": "x"})
    with pytest.raises(PodNotFound):
        await colony.remove_pod("nope")
    await colony.create_pod("Films")
    with pytest.raises(InvalidInput, match="Several pods"):
        await colony.rename_pod("Films", "x")
    assert (await colony.rename_pod(pod.address, "Mine")).name == "Mine"


async def test_put_subject_data_replaces(open_colony: OpenColony, network: MemoryNetwork) -> None:
    colony = await open_colony(network)
    await colony.create_pod("Films")
    stored = await colony.put_subject_data("Films", H1, {
        "@context": CTX, "@type": "schema:Movie", "schema:name": "First",
        "schema:director": {"schema:name": "Nested", "schema:x": {"schema:y": "deeper"}}})
    assert stored["@id"] == "ant://" + H1
    data = await colony.get_subject_data(H1)
    assert names(data) == ["First"]
    assert len(data["results"]["bindings"]) == 3

    # Bare hex and ant:// are the same subject; the new data replaces all of the old,
    # nested anonymous objects included.
    await colony.put_subject_data("Films", "ant://" + H1.upper(),
                                  json.dumps({"@context": CTX, "schema:name": "Second"}))
    data = await colony.get_subject_data("ant://" + H1)
    assert names(data) == ["Second"]
    assert len(data["results"]["bindings"]) == 1
    search = await colony.search({"type": "text", "text": "nested deeper"}, lambda *a: None)
    assert search["result_count"] == 0
    assert await colony.get_subject_data(H2) == {
        "head": {"vars": ["graph", "predicate", "object"]}, "results": {"bindings": []}}


async def test_put_subject_data_refusals_change_nothing(open_colony: OpenColony,
                                                       network: MemoryNetwork) -> None:
    colony = await open_colony(network)
    pod = await colony.create_pod("Films")
    await colony.put_subject_data("Films", H1, {"@context": CTX, "schema:name": "Kept"})
    before = await colony.updates()
    bad = [
        ({"@context": "http://schema.org/", "name": "x"}, "inline context"),
        ({"@context": ["https://schema.org/docs/jsonldcontext.json"], "name": "x"},
         "inline context"),
        ("{not json", "Invalid JSON-LD"),
        ([{"@id": "ant://" + H1}], "JSON object"),
        ({"@context": CTX, "@id": "ant://" + H2, "schema:name": "x"}, "does not match"),
        ({"@context": CTX, "schema:author": {"@id": "ant://" + H2, "schema:name": "x"}},
         "also describes"),
        ({"@context": CTX, "@graph": [{"schema:name": "x"}]}, "@graph"),
        ({"@context": {"c": "ant://colonylib/v1/"}, "c:depth": "9"}, "reserved"),
        ({"@context": {"@version": 3}}, "Invalid JSON-LD"),
    ]
    for document, message in bad:
        with pytest.raises(InvalidInput, match=message):
            await colony.put_subject_data("Films", H1, document)
    for subject in ["", "abc", "ant://", "ant://a b", "ant://x>y", "http://example.com/x",
                    "ant://" + "a" * 300, 'ant://"', "ant://a/b"]:
        with pytest.raises(InvalidInput):
            await colony.put_subject_data("Films", subject, {"@context": CTX})
    with pytest.raises(InvalidInput, match="own subject"):
        await colony.put_subject_data("Films", pod.address, {"@context": CTX})
    assert names(await colony.get_subject_data(H1)) == ["Kept"]
    assert await colony.updates() == before


async def test_subject_token_and_hostile_literals(open_colony: OpenColony,
                                                 network: MemoryNetwork) -> None:
    colony = await open_colony(network)
    await colony.create_pod("Films")
    value = 'say "hi" } > # \\ \n newline <tag> ' + "long" * 5000
    await colony.put_subject_data("Films", "ant://my-file_1.txt~",
                                  {"@context": CTX, "schema:name": value})
    assert names(await colony.get_subject_data("ant://my-file_1.txt~")) == [value]


async def test_refs_and_updates(open_colony: OpenColony, network: MemoryNetwork) -> None:
    colony = await open_colony(network)
    films = await colony.create_pod("Films")
    books = await colony.create_pod("Books")
    config = [a for a in (await colony.updates())["update"]
              if a not in {films.address, books.address}]
    assert len(config) == 1
    await colony.add_pod_ref("Films", "ant://" + books.address)
    data = await colony.get_subject_data(books.address)
    assert {"type": "uri", "value": "ant://colonylib/v1/ref"} in [
        b["object"] for b in data["results"]["bindings"]]
    await colony.remove_pod_ref("Films", books.address)
    data = await colony.get_subject_data(books.address)
    assert all(b["object"]["value"] != "ant://colonylib/v1/ref"
               for b in data["results"]["bindings"])
    for bad in ["nothex", "ant://x", "", films.address + "0"]:
        with pytest.raises(InvalidInput):
            await colony.add_pod_ref("Films", bad)
    with pytest.raises(InvalidInput):
        await colony.add_pod_ref("Films", films.address)
    assert sorted((await colony.updates())["update"]) == sorted(
        [films.address, books.address, config[0]])


async def test_store_survives_reopen(open_colony: OpenColony, network: MemoryNetwork) -> None:
    colony = await open_colony(network)
    await colony.create_pod("Films")
    await colony.put_subject_data("Films", H1, {"@context": CTX, "schema:name": "Kept"})
    updates = await colony.updates()
    await colony.aclose()
    again = await open_colony(network)
    assert [p.name for p in await again.list_pods()] == ["Films"]
    assert await again.updates() == updates
    assert names(await again.get_subject_data(H1)) == ["Kept"]


HOSTILE = ['"', "'", ">", "<", "}", "{", "\n", "\r\n", "#", "\\", "\x00", "\ud800", "\u2028",
           "ant://", "ant://" + "a" * 64 + ">", "a" * 100_000, "ant://x y", "😀", "?s",
           '" } ; DROP ALL ; INSERT DATA { <a:b> <a:c> "d', "http://schema.org/name"]


async def test_hostile_inputs_everywhere(open_colony: OpenColony, network: MemoryNetwork) -> None:
    colony = await open_colony(network)
    pod = await colony.create_pod("Safe")
    allowed = (InvalidInput, PodNotFound)
    for value in HOSTILE:
        for call in (
            lambda v: colony.create_pod(v),
            lambda v: colony.rename_pod(v, "x"),
            lambda v: colony.rename_pod(pod.address, v),
            lambda v: colony.remove_pod(v),
            lambda v: colony.put_subject_data(v, H1, {"@context": CTX}),
            lambda v: colony.put_subject_data(pod.address, v, {"@context": CTX}),
            lambda v: colony.put_subject_data(pod.address, H1, {"@context": CTX, "@id": v}),
            lambda v: colony.put_subject_data(pod.address, H1, {"@context": CTX, "@type": v}),
            lambda v: colony.put_subject_data(pod.address, H1, {"@context": {"x": v}, "x:y": "1"}),
            lambda v: colony.put_subject_data(pod.address, H1, v),
            lambda v: colony.add_pod_ref(pod.address, v),
            lambda v: colony.add_pod_ref(v, pod.address),
            lambda v: colony.remove_pod_ref(pod.address, v),
            lambda v: colony.get_subject_data(v),
            lambda v: colony.search({"type": "text", "text": v}, lambda *a: None),
            lambda v: colony.search({"type": "by_type", "type_uri": v}, lambda *a: None),
            lambda v: colony.search({"type": "by_predicate", "predicate_uri": v},
                                    lambda *a: None),
            lambda v: colony.search({"type": "advanced", "sparql": v}, lambda *a: None),
            lambda v: colony.search({"type": v}, lambda *a: None),
            lambda v: colony.upload_pod(v, lambda *a: None),
        ):
            with contextlib.suppress(*allowed):
                await call(value)
    # The store still answers, and nothing was injected.
    assert await colony.list_pods()
    assert (await colony.search({"type": "advanced", "sparql":
                                 "ASK { GRAPH ?g { <a:b> ?p ?o } }"}, lambda *a: None))[
        "sparql_results"]["boolean"] is False


class HangingNetwork(MemoryNetwork):
    """A network whose reads never answer (a peer that accepted the connection and went
    silent)."""

    async def get_pointer(self, address: str) -> None:
        await trio.sleep_forever()

    async def get_scratchpad(self, address: str) -> None:
        await trio.sleep_forever()


async def test_create_pod_does_not_wait_for_a_hanging_network(
        open_colony: OpenColony, autojump_clock: Any) -> None:
    colony = await open_colony(HangingNetwork(), claim_timeout=2.0)
    started = trio.current_time()
    pod = await colony.create_pod("Films")
    waited = trio.current_time() - started
    # Two probes (the pod's key and its scratchpad's), each bounded.
    assert waited <= 2 * 2.0 + 0.5
    assert [p.address for p in await colony.list_pods()] == [pod.address]
    assert sorted((await colony.updates())["update"]) == sorted(
        [pod.address, colony.store.config])


async def test_an_edit_reads_no_whole_graph(open_colony: OpenColony,
                                            network: MemoryNetwork) -> None:
    """An edit checks that the pod is the user's by asking for that one registry entry: it
    never reads the configuration pod (which grows with the number of pods) nor the pod."""
    colony = await open_colony(network)
    made = [await colony.create_pod(f"Pod {i}") for i in range(12)]
    target = made[5].address
    before = colony.store.statistics().triples_read
    await colony.put_subject_data(target, H2, {"@context": CTX, "schema:name": "Edited"})
    await colony.rename_pod(target, "Renamed")
    await colony.add_pod_ref(target, H1)
    await colony.remove_pod_ref(target, H1)
    assert colony.store.statistics().triples_read == before


async def test_one_pod_is_read_by_its_graph(open_colony: OpenColony, network: MemoryNetwork,
                                            monkeypatch: pytest.MonkeyPatch) -> None:
    """Creating or renaming a pod reads that pod's entry by its graph's name. A pattern
    over a variable graph restricted by VALUES is evaluated over every graph before the
    restriction when it holds an OPTIONAL (pyoxigraph 0.5): 35 ms a pod at 50,000 pods."""
    colony = await open_colony(network)
    queries: list[str] = []
    select = type(colony.store).select

    def spy(self: Any, query: str) -> Any:
        queries.append(query)
        return select(self, query)

    monkeypatch.setattr(type(colony.store), "select", spy)
    pod = await colony.create_pod("Films")
    renamed = await colony.rename_pod(pod.address, "Movies")
    assert (pod.name, renamed.name, renamed.address) == ("Films", "Movies", pod.address)
    assert renamed.created_at == pod.created_at and renamed.depth == 0
    assert queries and not [q for q in queries if "GRAPH ?" in q]


async def test_pods_are_counted_as_listed(open_colony: OpenColony,
                                          network: MemoryNetwork) -> None:
    """The start's inventory counts the pods without reading them: the same number as
    the list, whatever else the store holds."""
    from pyoxigraph import NamedNode, Quad

    from colony_actor.colony.vocab import POD, RDF_TYPE

    colony = await open_colony(network)
    assert await colony.count_pods() == 0
    await colony.create_pod("Films")
    await colony.create_pod("Books")
    # A referenced pod as a refresh stores it, and graphs that are no pod of the list.
    referenced = NamedNode("ant://" + H1)
    odd = NamedNode("ant://" + H2 + "x")
    quads = [Quad(referenced, RDF_TYPE, POD, referenced), Quad(odd, RDF_TYPE, POD, odd),
             Quad(NamedNode("ant://" + H2), RDF_TYPE, POD, NamedNode("ant://" + "c3" * 32))]
    colony.store.store.extend(quads)
    assert len(await colony.list_pods()) == 3
    assert await colony.count_pods() == 3
    for quad in quads:  # written behind the full-text index's back
        colony.store.store.remove_graph(quad.graph_name)
