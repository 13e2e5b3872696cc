"""Start the real daemon as a process on 127.0.0.1:0 and find its URL in its JSON log."""

from __future__ import annotations

import json
import os
import resource
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import httpx

from tests.support import MNEMONIC, PASSWORD


class Daemon:
    def __init__(self, data_dir: Path, network_dir: Path, *, env: dict[str, str] | None = None,
                 args: list[str] | None = None, nofile: int | None = None) -> None:
        self.data_dir = data_dir
        self.network_dir = network_dir
        self.log_path = data_dir.parent / f"{data_dir.name}.log"
        self.env = {**os.environ, "COLONY_ACTOR_PASSWORD": PASSWORD,
                    "COLONY_ACTOR_MNEMONIC": MNEMONIC, **(env or {})}
        self.args = args or []
        # The process's descriptor limit (soft and hard), as `prlimit --nofile=N` sets it.
        self.nofile = nofile
        self.process: subprocess.Popen[bytes] | None = None
        self.url = ""
        self.token = ""
        self.log_offset = 0

    def start(self, timeout: float = 30) -> Daemon:
        self.data_dir.mkdir(parents=True, exist_ok=True)
        # A restarted daemon appends to the same log: read only what this run writes.
        self.log_offset = self.log_path.stat().st_size if self.log_path.exists() else 0
        self.url = ""
        log = self.log_path.open("ab")
        self.process = subprocess.Popen(
            [sys.executable, "-m", "colony_actor", "serve", "--listen", "127.0.0.1",
             "--port", "0", "--data-dir", str(self.data_dir),
             "--network-dir", str(self.network_dir), *self.args],
            env=self.env, stdout=log, stderr=log,
            preexec_fn=None if self.nofile is None else self._limits)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for event in self.events():
                if event.get("event") == "daemon_started" and event.get("urls"):
                    self.url = event["urls"][0]
            if self.url:
                break
            if self.process.poll() is not None:
                raise RuntimeError(f"daemon exited {self.process.returncode}: {self.log()}")
            time.sleep(0.05)
        else:
            raise TimeoutError(f"daemon did not start: {self.log()}")
        if "COLONY_ACTOR_PASSWORD" in self.env:
            with self.client() as client:
                self.token = client.post(
                    "/auth/token", json={"password": self.env["COLONY_ACTOR_PASSWORD"]}
                ).json()["token"]
        return self

    def _limits(self) -> None:
        assert self.nofile is not None
        resource.setrlimit(resource.RLIMIT_NOFILE, (self.nofile, self.nofile))

    def open_descriptors(self) -> int:
        assert self.process is not None
        return len(os.listdir(f"/proc/{self.process.pid}/fd"))

    def log(self) -> str:
        if not self.log_path.exists():
            return ""
        with self.log_path.open("rb") as handle:
            handle.seek(self.log_offset)
            return handle.read().decode(errors="replace")

    def events(self) -> list[dict[str, Any]]:
        found = []
        for line in self.log().splitlines():
            try:
                found.append(json.loads(line))
            except json.JSONDecodeError:
                continue
        return found

    def client(self, **kwargs: Any) -> httpx.Client:
        headers = {"Authorization": f"Bearer {self.token}"} if self.token else {}
        return httpx.Client(base_url=self.url, headers=headers, **{"timeout": 30, **kwargs})

    def signal(self, signum: int) -> None:
        assert self.process is not None
        self.process.send_signal(signum)

    def wait(self, timeout: float = 30) -> int:
        assert self.process is not None
        return self.process.wait(timeout=timeout)

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


def wait_terminal(client: httpx.Client, job_id: str, timeout: float = 60) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        job: dict[str, Any] = client.get(f"/api/v1/jobs/{job_id}", params={"wait": 5}).json()["job"]
        if job["status"] in {"completed", "failed", "cancelled"}:
            return job
    raise TimeoutError(job_id)
