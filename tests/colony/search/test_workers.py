"""Query worker processes: their limits, a crash, a kill at the deadline, and the daemon's
writes seen by a worker (issue 14, findings 1 and 2)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import time
from collections.abc import AsyncIterator
from dataclasses import asdict
from typing import Any

import pytest
import trio
from pyoxigraph import Store

from colony_actor.colony.search.process import QueryWorkers, WorkerDied, _Worker, describe_death
from colony_actor.colony.search.sandbox import Limits

from ..conftest import MemoryNetwork, OpenColony, no_progress
from .test_search import CTX, rows

LIMITS = Limits(memory_bytes=1 << 30, stack_bytes=4 << 20, cpu_seconds=5)
BRACES = "SELECT * WHERE " + "{" * 3000 + "}" * 3000
RUNAWAY = "SELECT (COUNT(*) AS ?n) WHERE { " + " ".join(
    f"VALUES ?a{i} {{0 1 2 3 4 5 6 7 8 9}}" for i in range(12)) + " }"
UNSHARE = ("import ctypes, sys; sys.exit(ctypes.CDLL(None).unshare(0x10000000 | 0x40000000)"
           " != 0)")


def check(sparql: str, cpu_seconds: int = LIMITS.cpu_seconds) -> dict[str, Any]:
    return {"op": "check", "sparql": sparql, "cpu_seconds": cpu_seconds}


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


async def test_a_check_has_a_cpu_allowance_of_its_own(workers: QueryWorkers) -> None:
    # RLIMIT_CPU counts a process's whole life: a worker reused for a check after a long
    # query would otherwise parse with what that query left over.
    header, _ = await workers.call(check("SELECT * WHERE { ?s ?p ?o }", cpu_seconds=2))
    assert header["syntax_error"] is None
    report, _ = await workers.call({"op": "report"})
    assert 0 < report["cpu_seconds_left"] <= 2


async def test_a_parser_crash_ends_only_its_worker(workers: QueryWorkers) -> None:
    with pytest.raises(WorkerDied, match="stack"):
        await workers.call(check(BRACES))
    header, _ = await workers.call(check("SELECT * WHERE {"))
    assert "error" in header["syntax_error"]
    header, _ = await workers.call(check("SELECT * WHERE { ?s ?p ?o }"))
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


def start_worker(parent: int) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [sys.executable, "-m", "colony_actor.colony.search.worker",
         json.dumps(asdict(LIMITS)), str(parent)],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)


def test_a_worker_outlives_the_thread_that_started_it() -> None:
    # trio starts a process from one of its cached worker threads, which ends after ten
    # idle seconds: a worker must not die with that thread, only with the daemon.
    started: list[subprocess.Popen[bytes]] = []

    def spawn() -> None:
        worker = start_worker(os.getpid())
        started.append(worker)
        assert worker.stdout is not None
        worker.stdout.read(8)  # the header of its "ready" frame: its limits are set

    spawner = threading.Thread(target=spawn)
    spawner.start()
    spawner.join()
    (worker,) = started
    try:
        time.sleep(0.5)
        assert worker.poll() is None
    finally:
        worker.kill()
        worker.wait()


def test_a_worker_ends_when_the_daemon_is_gone() -> None:
    # The "daemon" starts a worker and is gone at once (as after kill -9).
    code = (f"import subprocess, sys, os; sys.path[:0] = {sys.path!r}; "
            f"from tests.colony.search.test_workers import start_worker; "
            f"print(start_worker(os.getpid()).pid, flush=True)")
    pid = int(subprocess.run([sys.executable, "-c", code], check=True, capture_output=True,
                             timeout=30).stdout)
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and os.path.exists(f"/proc/{pid}"):
        time.sleep(0.05)
    assert not os.path.exists(f"/proc/{pid}")


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


async def test_frames_arrive_whole_however_the_pipe_cuts_them() -> None:
    # Two answers written back to back in pieces of odd sizes: the first's body is
    # megabytes (read as many chunks, joined off the loop), the second's header shares a
    # chunk with the first's end; the worker then ends, mid-frame.
    body = bytes(range(251)) * 12_000
    code = (f"import sys; sys.path[:0] = {sys.path!r}\n"
            "import io, time\n"
            "from colony_actor.colony.search.worker import write_frame\n"
            "frames = io.BytesIO()\n"
            f"write_frame(frames, {{'count': 1}}, bytes(range(251)) * 12_000)\n"
            "write_frame(frames, {'count': 2}, b'tail')\n"
            "data = frames.getvalue() + b'\\0\\0\\0'\n"
            "out = sys.stdout.buffer\n"
            "for start in range(0, len(data), 100_003):\n"
            "    out.write(data[start:start + 100_003]); out.flush(); time.sleep(0.001)\n")
    process = await trio.lowlevel.open_process([sys.executable, "-c", code],
                                               stdout=subprocess.PIPE)
    worker = _Worker(process)
    try:
        assert await worker.receive() == ({"count": 1}, body)
        assert await worker.receive() == ({"count": 2}, b"tail")
        assert await worker.receive() is None
    finally:
        await process.wait()
