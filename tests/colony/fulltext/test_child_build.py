"""The whole index built by a child process (fulltext/builder.py) when most of the store
is to be read: adopted, then the graphs written meanwhile re-read; a child that fails
leaves the work to the batches. Both run the real child on the real store."""

from __future__ import annotations

from pathlib import Path

import pytest
import trio
from structlog.testing import capture_logs

from colony_actor.colony.facade import FULLTEXT_FILE
from colony_actor.colony.fulltext import rows

from ..conftest import MemoryNetwork, OpenColony, no_progress
from .test_fulltext import CTX, S, reopened_without_index


async def test_a_child_builds_the_index_and_edits_meanwhile_are_kept(
        open_colony: OpenColony, network: MemoryNetwork, tmp_path: Path) -> None:
    colony, pods, before = await reopened_without_index(open_colony, network, tmp_path)
    try:
        with capture_logs() as logs:
            async with trio.open_nursery() as nursery:
                nursery.start_soon(colony.catch_up_index, 1)
                # An edit while the child builds (or once it is adopted): never lost.
                await colony.put_subject_data(pods[0], S[30], {
                    "@context": CTX, "schema:name": "Zanzibar meanwhile"})
        events = [e["event"] for e in logs]
        built = [e for e in logs if e["event"] == "fulltext_built_in_child"]
        # The child's file is used: only the edited pod, if any, is read again.
        assert built and built[0]["pods_written_since"] <= 1, events
        assert "fulltext_child_build_failed" not in events
        # The child ran only when a CPU was idle (SCHED_IDLE, allowed to any process).
        assert [e["priority"] for e in logs if e["event"] == "fulltext_child_built"] == ["idle"]
        assert colony.fulltext is not None and not colony.fulltext.behind
        again = await colony.search("beatles road", no_progress)
        assert again["sparql_results"] == before["sparql_results"]
        assert (await colony.search("zanzibar", no_progress))["result_count"] == 1
        assert colony.fulltext.differences(colony.store.store) == []
        assert not (tmp_path / "alice-1" / (FULLTEXT_FILE + ".build")).exists()
    finally:
        await colony.aclose()


async def test_a_child_that_fails_leaves_the_build_to_the_batches(
        open_colony: OpenColony, network: MemoryNetwork, tmp_path: Path) -> None:
    colony, _, before = await reopened_without_index(open_colony, network, tmp_path)
    # The child cannot write its file where a directory stands.
    (tmp_path / "alice-1" / (FULLTEXT_FILE + ".build")).mkdir()
    try:
        with capture_logs() as logs:
            await colony.catch_up_index(1)
        failed = [e for e in logs if e["event"] == "fulltext_child_build_failed"]
        assert failed and failed[0]["returncode"] != 0, logs
        assert "fulltext_built_in_child" not in [e["event"] for e in logs]
        assert colony.fulltext is not None and colony.fulltext.usable
        assert not colony.fulltext.behind
        again = await colony.search("beatles road", no_progress)
        assert again["sparql_results"] == before["sparql_results"]
        assert colony.fulltext.differences(colony.store.store) == []
    finally:
        await colony.aclose()


async def test_an_empty_index_plans_every_graph_without_reading_tokens(
        open_colony: OpenColony, network: MemoryNetwork, tmp_path: Path,
        monkeypatch: pytest.MonkeyPatch) -> None:
    """A first start's plan is every pod graph: the store's generation tokens (a read of
    every graph's, seconds on a large store) are not read for it."""
    colony, pods, _ = await reopened_without_index(open_colony, network, tmp_path)
    try:
        def never(*_: object) -> dict[str, str]:
            raise AssertionError("the generation tokens were read")

        index = colony.fulltext
        assert index is not None
        with monkeypatch.context() as patched:
            patched.setattr(rows, "generations", never)
            plan = await trio.to_thread.run_sync(index.catch_up_plan, colony.store.store)
        assert sorted(g.value for g in plan.stale) == sorted(
            [colony.store.config_node.value, *("ant://" + p for p in pods)])
        assert plan.graphs == len(plan.stale)
    finally:
        await colony.aclose()
