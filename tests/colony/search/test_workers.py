"""Query worker processes: their limits, a crash, a kill at the deadline, and the daemon's
writes seen by a worker (issue 14, findings 1 and 2)."""

from __future__ import annotations

import sys
from collections.abc import AsyncIterator
from typing import Any

import pytest
import trio
from pyoxigraph import Store

from colony_actor.colony.search.process import QueryWorkers, WorkerDied, describe_death
from colony_actor.colony.search.sandbox import Limits

from ..conftest import MemoryNetwork, OpenColony, no_progress
from .test_search import CTX, rows

LIMITS = Limits(memory_bytes=1 << 30, stack_bytes=4 << 20, cpu_seconds=5)
BRACES = "SELECT * WHERE " + "{" * 3000 + "}" * 3000
RUNAWAY = "SELECT (COUNT(*) AS ?n) WHERE { " + " ".join(
    f"VALUES ?a{i} {{0 1 2 3 4 5 6 7 8 9}}" for i in range(12)) + " }"
UNSHARE = ("import ctypes, sys; sys.exit(ctypes.CDLL(None).unshare(0x10000000 | 0x40000000)"
           " != 0)")


@pytest.fixture
async def workers() -> AsyncIterator[QueryWorkers]:
    pool = QueryWorkers(LIMITS, 1)
    yield pool
    await pool.aclose()


async def test_a_worker_has_its_limits_and_no_network(workers: QueryWorkers) -> None:
    report, _ = await workers.call({"op": "report"})
    assert report["memory_bytes"] == LIMITS.memory_bytes
    assert report["stack_bytes"] == LIMITS.stack_bytes
    assert 0 < report["cpu_seconds_left"] <= LIMITS.cpu_seconds
    # Where this kernel gives an unprivileged process a network namespace of its own, the
    # worker has one, and reaches not even 127.0.0.1.
    probe = await trio.run_process([sys.executable, "-c", UNSHARE], check=False)
    namespaces = probe.returncode == 0
    if namespaces:
        assert report["network_refused"] is True


async def test_a_parser_crash_ends_only_its_worker(workers: QueryWorkers) -> None:
    with pytest.raises(WorkerDied, match="stack"):
        await workers.call({"op": "check", "sparql": BRACES})
    header, _ = await workers.call({"op": "check", "sparql": "SELECT * WHERE {"})
    assert "error" in header["syntax_error"]
    header, _ = await workers.call({"op": "check", "sparql": "SELECT * WHERE { ?s ?p ?o }"})
    assert header["syntax_error"] is None
    stats = workers.statistics()
    assert (stats["started"], stats["died"], stats["reused"], stats["idle"]) == (2, 1, 1, 1)


async def test_a_deadline_kills_the_worker(workers: QueryWorkers, tmp_path: Any) -> None:
    store = Store(str(tmp_path))
    store.flush()
    await workers.call({"op": "report"})  # started before the deadline runs
    with trio.move_on_after(0.5) as scope:
        await workers.call({"op": "run", "sparql": RUNAWAY, "store_path": str(tmp_path),
                            "generation": 0, "seconds": 60, "cpu_seconds": 60})
    assert scope.cancelled_caught
    stats = workers.statistics()
    assert (stats["killed"], stats["idle"]) == (1, 0)
    await workers.call({"op": "report"})
    assert workers.statistics()["started"] == 2


async def test_a_worker_sees_every_write(open_colony: OpenColony,
                                         network: MemoryNetwork) -> None:
    colony = await open_colony(network)
    await colony.create_pod("Jazz")
    query = {"type": "advanced", "sparql": "PREFIX schema: <http://schema.org/> "
             "SELECT ?name WHERE { GRAPH ?g { ?s schema:name ?name } } ORDER BY ?name"}
    names = []
    for i in range(3):
        await colony.put_subject_data("Jazz", f"{i:064x}", {"@context": CTX,
                                                            "schema:name": f"album {i}"})
        names.append(f"album {i}")
        found = [row["name"] for row in rows(await colony.search(query, no_progress))]
        assert [name for name in found if name.startswith("album")] == names
    assert colony.query_workers.statistics()["started"] == 1


@pytest.mark.parametrize(("code", "stderr", "reason"), [
    (-6, b"memory allocation of 131137536 bytes failed\nstack backtrace:", "more memory"),
    (-6, b"terminate called ... what():  Resource temporarily unavailable", "more memory"),
    (-6, b"\nthread 'main' has overflowed its stack\nfatal runtime error", "stack"),
    (-11, b"", "stack"),
    (-24, b"", "seconds of CPU"),
    (-9, b"", "signal SIGKILL"),
    (1, b"Traceback ...", "status 1"),
])
def test_a_death_is_told_by_its_cause(code: int, stderr: bytes, reason: str) -> None:
    assert reason in describe_death(code, stderr, LIMITS)
