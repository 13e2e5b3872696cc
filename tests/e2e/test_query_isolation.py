"""A client's SPARQL cannot take the daemon down or hold it (issue 14, findings 1 to 4).

One real daemon process serves every case here: queries that crashed pyoxigraph's parser
in the daemon's own process (refused at the start, 400), one that needs more memory than
a query worker may have, SERVICE calls to a listening socket of ours (none reaches it),
a text that held the event loop while it was checked, and last, in that order, a crash, a
runaway query and a SERVICE walk-around, after which the same process answers /health
and runs a normal search to completion. The search deadline is short (1.5 s) so that the
whole module takes seconds.
"""

from __future__ import annotations

import os
import socket
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.e2e.daemon import Daemon, wait_terminal

SUBJECT = "c0ffee" + "0" * 58
DOC = {"@context": {"schema": "http://schema.org/"}, "@type": "schema:MediaObject",
       "schema:name": "Kind of Blue", "schema:description": "Miles Davis, 1959"}
TIMEOUT = 1.5
PATIENT_TIMEOUT = 60
WORKER_MEMORY = 512 * 1024 * 1024
CLOCK_TICKS = os.sysconf("SC_CLK_TCK")

# Each crashed pyoxigraph's parser (a stack overflow) inside the daemon's own process.
CRASHING = {
    "parentheses": "SELECT * WHERE { FILTER(" + "(" * 5000 + "1" + ")" * 5000 + ") }",
    "braces": "SELECT * WHERE " + "{" * 3000 + "}" * 3000,
    "negations": "SELECT * WHERE { FILTER(" + "!" * 20000 + "true) }",
}
# 10^12 rows to count: it never ends on its own.
RUNAWAY = "SELECT (COUNT(*) AS ?n) WHERE { " + " ".join(
    f"VALUES ?a{i} {{0 1 2 3 4 5 6 7 8 9}}" for i in range(12)) + " }"
# A gigabyte of text in one GROUP_CONCAT, within a second.
GREEDY = ("SELECT (STRLEN(GROUP_CONCAT(?s)) AS ?n) WHERE { " + " ".join(
    f"VALUES ?a{i} {{0 1 2 3 4 5 6 7 8 9}}" for i in range(6))
    + ' BIND(CONCAT(STR(?a0), "' + "x" * 2000 + '") AS ?s) }')


class SilentServer:
    """A TCP listener on 127.0.0.1 that accepts connections, counts them, and never answers
    (a SERVICE target that would hold a search slot for good)."""

    def __init__(self) -> None:
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = self.listener.getsockname()[1]
        self.accepted: list[socket.socket] = []
        self.thread = threading.Thread(target=self._accept, daemon=True)
        self.thread.start()

    def _accept(self) -> None:
        while True:
            try:
                connection, _ = self.listener.accept()
            except OSError:
                return
            self.accepted.append(connection)

    def close(self) -> None:
        self.listener.close()
        for connection in self.accepted:
            connection.close()


def isolation_daemon(root: Path, timeout: float) -> Daemon:
    """A daemon with small query workers, the search time limit `timeout`, and one pod."""
    started = Daemon(root / "data", root / "network", env={
        "COLONY_ACTOR_SEARCH_TIMEOUT_SECONDS": str(timeout),
        "COLONY_ACTOR_SEARCH_WORKER_MEMORY_BYTES": str(WORKER_MEMORY),
    }).start()
    with started.client() as client:
        address = client.post("/api/v1/pods", json={"name": "Jazz"}).json()["address"]
        assert client.put(f"/api/v1/pods/{address}/{SUBJECT}", json=DOC).status_code == 200
    return started


@pytest.fixture(scope="module")
def daemon(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Daemon]:
    started = isolation_daemon(tmp_path_factory.mktemp("isolation"), TIMEOUT)
    yield started
    started.stop()


@pytest.fixture(scope="module")
def patient(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Daemon]:
    """Time enough for a query to reach its memory limit on a busy machine, where the
    worker (at a lower priority) gets little CPU: with TIMEOUT it could time out first."""
    started = isolation_daemon(tmp_path_factory.mktemp("patient"), PATIENT_TIMEOUT)
    yield started
    started.stop()


@pytest.fixture(scope="module")
def silent() -> Iterator[SilentServer]:
    server = SilentServer()
    yield server
    server.close()


def advanced(client: httpx.Client, sparql: str) -> httpx.Response:
    return client.post("/api/v1/jobs/search", json={"type": "advanced", "sparql": sparql})


def search_job(client: httpx.Client, sparql: str) -> dict[str, Any]:
    """The terminal job of an advanced search that was accepted."""
    started = advanced(client, sparql)
    assert started.status_code == 202, started.text
    return wait_terminal(client, started.json()["job_id"])


def assert_serves(daemon: Daemon) -> None:
    """The same process is alive, answers /health, and runs a search to completion."""
    assert daemon.process is not None and daemon.process.poll() is None, daemon.log()[-2000:]
    with daemon.client() as client:
        assert client.get("/health").json()["status"] == "healthy"
        job = wait_terminal(client, client.post("/api/v1/jobs/search",
                                                params={"q": "kind of blue"}).json()["job_id"])
        assert job["status"] == "completed", job
        result = client.get(f"/api/v1/jobs/{job['id']}/result").json()["result"]
        assert result["result_count"] >= 1
        selected = search_job(client, "SELECT ?name WHERE { GRAPH ?g { ?s "
                              "<http://schema.org/name> ?name } }")
        assert selected["status"] == "completed", selected
        answer = client.get(f"/api/v1/jobs/{selected['id']}/result").json()["result"]
        assert "Kind of Blue" in [binding["name"]["value"] for binding
                                  in answer["sparql_results"]["results"]["bindings"]]


def cpu_ticks(pid: int) -> int:
    """CPU time (user + system, in clock ticks) of `pid` and every live descendant."""
    total = 0
    pending = [pid]
    while pending:
        current = pending.pop()
        try:
            fields = Path(f"/proc/{current}/stat").read_text().rsplit(")", 1)[1].split()
            total += int(fields[11]) + int(fields[12])
            for task in Path(f"/proc/{current}/task").iterdir():
                pending += [int(c) for c in (task / "children").read_text().split()]
        except (FileNotFoundError, ProcessLookupError):
            continue  # it ended meanwhile: it burns nothing
    return total


def burning(daemon: Daemon, seconds: float = 0.5) -> float:
    """CPU seconds the daemon and its children use per second of wall time, right now."""
    assert daemon.process is not None
    before = cpu_ticks(daemon.process.pid)
    time.sleep(seconds)
    return (cpu_ticks(daemon.process.pid) - before) / CLOCK_TICKS / seconds


@pytest.mark.parametrize("name", sorted(CRASHING))
def test_a_query_that_crashes_the_parser_is_refused_and_the_daemon_serves_on(
        daemon: Daemon, name: str) -> None:
    with daemon.client() as client:
        answer = advanced(client, CRASHING[name])
        if answer.status_code == 202:
            # A pyoxigraph whose parser reads this text runs it (0.5.8, the lowest allowed,
            # reads the parentheses that crash 0.5.13's): a query like any other.
            job = wait_terminal(client, answer.json()["job_id"])
            assert job["status"] in {"completed", "failed"}, job
        else:
            assert answer.status_code == 400, answer.text
            body = answer.json()
            assert body["error"] == "INVALID_REQUEST"
            assert "crashed the SPARQL parser" in body["message"], body
            assert "Traceback" not in answer.text
    assert_serves(daemon)


def test_a_query_over_its_memory_is_stopped(patient: Daemon) -> None:
    with patient.client() as client:
        job = search_job(client, GREEDY)
    assert job["status"] == "failed", job
    # Past its address space a worker fails an allocation or a thread's start: the same.
    assert "more memory than a query may have (512 MiB" in job["error"], job
    assert "Traceback" not in job["error"]
    assert burning(patient) < 0.3
    assert_serves(patient)


@pytest.mark.parametrize("template", [
    "SELECT * WHERE {{ SERVICE <{url}> {{ ?x ?y ?z }} }}",
    "PREFIX ex: <http://e/> SELECT * WHERE {{ BIND(ex:a\\' AS ?v) SERVICE <{url}> "
    "{{ ?x ?y ?z }} BIND('q' AS ?w) }}",
    "PREFIX ex: <http://e/> SELECT * WHERE {{ BIND(ex:a\\# AS ?v) SERVICE <{url}> "
    "{{ ?x ?y ?z }} }}",
    "SELECT * WHERE {{ SERVICESILENT <{url}> {{ ?x ?y ?z }} }}",
    "SELECT * WHERE {{ # a comment\rSERVICE <{url}> {{ ?x ?y ?z }} }}",
])
def test_service_never_reaches_the_network(daemon: Daemon, silent: SilentServer,
                                           template: str) -> None:
    sparql = template.format(url=f"http://127.0.0.1:{silent.port}/sparql")
    with daemon.client() as client:
        answer = advanced(client, sparql)
        if answer.status_code == 202:
            wait_terminal(client, answer.json()["job_id"])
    assert answer.status_code == 400, answer.text
    assert "SERVICE" in answer.json()["message"]
    time.sleep(0.2)
    assert silent.accepted == []


def test_a_pathological_text_never_holds_the_loop(daemon: Daemon) -> None:
    # 100 KB of `'\` pairs held every HTTP answer for 21 s while it was checked.
    sparql = "SELECT * WHERE { ?s ?p ?o } " + "'\\" * 49_980
    with daemon.client() as client, ThreadPoolExecutor(1) as pool:
        pending = pool.submit(advanced, client, sparql)
        with daemon.client(timeout=5) as probe:
            for _ in range(5):
                assert probe.get("/health").status_code == 200
        answer = pending.result()
    assert answer.status_code in {202, 400}, answer.text


def test_after_a_crash_a_runaway_and_a_service_call_the_same_daemon_serves(
        daemon: Daemon, silent: SilentServer) -> None:
    assert daemon.process is not None
    pid = daemon.process.pid
    with daemon.client() as client:
        assert advanced(client, CRASHING["negations"]).status_code == 400
        runaway = search_job(client, RUNAWAY)
        assert runaway["status"] == "failed", runaway
        assert f"timed out after {TIMEOUT:g} seconds" in runaway["error"], runaway
        # The worker was killed at the deadline: nothing burns on (one used 45 s of CPU
        # 20 s after its 504).
        assert burning(daemon) < 0.3
        service = advanced(client, "PREFIX ex: <http://e/> SELECT * WHERE { BIND(ex:a\\' AS ?v) "
                           f"SERVICE <http://127.0.0.1:{silent.port}/sparql> {{ ?x ?y ?z }} "
                           "BIND('q' AS ?w) }")
        if service.status_code == 202:
            wait_terminal(client, service.json()["job_id"])
        assert service.status_code == 400
    assert daemon.process.pid == pid
    assert silent.accepted == []
    assert_serves(daemon)
