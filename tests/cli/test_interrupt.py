"""Ctrl-C while `run` follows a job: the job runs on and the command says how to follow or
cancel it; `--cancel-on-interrupt` cancels it instead; `follow` re-attaches to the end.
Through the real entry point against a real daemon whose network is slowed."""

from __future__ import annotations

import signal
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from colony_actor.cli.exits import Exit
from tests.cli.support import cli, command, environment, ok, one_sentence
from tests.e2e.daemon import Daemon, wait_terminal
from tests.support import PASSWORD

PODS = 40
LATENCY_MS = "100"
CONCURRENCY = "2"


@pytest.fixture
def slow(tmp_path: Path) -> Iterator[Daemon]:
    """A daemon with PODS new pods, restarted with a slow network, so that uploading them
    takes seconds. (Creating pods on the slow network would take far longer.)"""
    daemon = Daemon(tmp_path / "data", tmp_path / "network").start()
    try:
        with daemon.client() as client:
            for n in range(PODS):
                assert client.post("/api/v1/pods", json={"name": f"pod {n}"}).status_code == 201
        daemon.stop()
        daemon.env["COLONY_ACTOR_NETWORK_LATENCY_MS"] = LATENCY_MS
        # Few pods at once, so an upload outlasts a command's start on a loaded machine.
        daemon.env["COLONY_ACTOR_NETWORK_CONCURRENCY"] = CONCURRENCY
        yield daemon.start()
    finally:
        daemon.stop()


def _default_sigint() -> None:
    # A shell that starts the tests in the background ignores SIGINT, and a child keeps
    # that: give the command Python's usual Ctrl-C.
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def _running(client: httpx.Client, job_type: str) -> dict[str, Any]:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        for job in client.get("/api/v1/jobs", params={"status": "running"}).json()["jobs"]:
            if job["job_type"] == job_type:
                return dict(job)
        time.sleep(0.02)
    raise TimeoutError(job_type)


def _interrupt(env: dict[str, str], client: httpx.Client, *args: str
               ) -> tuple[int, str, str, dict[str, Any]]:
    process = subprocess.Popen(command("run", "upload", *args), env=env, text=True,
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                               preexec_fn=_default_sigint)
    job = _running(client, "uploadall")
    time.sleep(0.3)  # the command is following the job's events by now
    process.send_signal(signal.SIGINT)
    out, err = process.communicate(timeout=30)
    return process.returncode, out, err, job


def test_ctrl_c_cancel_and_follow(slow: Daemon, tmp_path: Path) -> None:
    """In order, on the same dirty pods: Ctrl-C with --cancel-on-interrupt cancels; a
    detached job is cancelled by a prefix of its id; Ctrl-C leaves the next one running,
    another start meets 409, and `follow` re-attaches to its end."""
    env = environment(tmp_path, COLONY_ACTOR_URL=slow.url, COLONY_ACTOR_PASSWORD=PASSWORD)
    with slow.client() as client:
        code, out, err, job = _interrupt(env, client, "--cancel-on-interrupt")
        assert code == Exit.INTERRUPTED and out == ""
        assert one_sentence(err) == f"Interrupted: job {job['id']} is cancelled."
        assert wait_terminal(client, job["id"])["status"] == "cancelled"

        job_id = ok(cli(env, "run", "upload", "--detach")).out.strip()
        cancelled = ok(cli(env, "cancel", job_id[:8]))
        assert cancelled.out in {f"Cancelled job {job_id}.\n",
                                 f"Cancelling job {job_id}: it stops at its next step "
                                 f"(`colony-actor follow {job_id}` shows when).\n"}
        assert wait_terminal(client, job_id)["status"] == "cancelled"
        result = cli(env, "result", job_id)
        assert result.code == Exit.JOB_CANCELLED
        assert one_sentence(result.err).startswith(f"Job {job_id} was cancelled: ")

        code, out, err, job = _interrupt(env, client)
        job_id = job["id"]
        assert code == Exit.INTERRUPTED and out == ""
        assert one_sentence(err) == (
            f"Interrupted: job {job_id} keeps running; follow it with `colony-actor follow "
            f"{job_id}` or cancel it with `colony-actor cancel {job_id}`.")
        assert client.get(f"/api/v1/jobs/{job_id}").json()["job"]["status"] == "running"
        busy = cli(env, "run", "search", "blue")
        assert busy.code == Exit.CONFLICT
        assert one_sentence(busy.err) == "Another operation is already running."
        followed = ok(cli(env, "follow", job_id[:8]))
        assert followed.out.startswith("All pods uploaded successfully.\n")
        assert wait_terminal(client, job_id)["status"] == "completed"
