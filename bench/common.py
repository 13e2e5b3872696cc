"""Shared helpers of the benchmarks: start the real daemon as a process, get a token, drive
load (wrk, or a Python httpx-under-trio generator when wrk is missing), read the daemon's
CPU time and resident memory from /proc, and report medians of rounds and ratios.

Every benchmark prints its figures as it goes and its ratios LAST, one `RATIO` line each:

    RATIO poll_vs_health = 0.912 (target >= 0.90) MET

Traffic goes only to 127.0.0.1. Nothing here may import from tests/ (benchmarks must run
without the test extras) or change anything under colony_actor/.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import re
import shlex
import shutil
import signal
import statistics
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import trio

from colony_actor.client.events import TERMINAL as TERMINAL  # re-exported for the benchmarks
from colony_actor.client.events import job_events

REPO = Path(__file__).resolve().parent.parent
DEFAULT_WORKDIR = Path("/tmp/colony-bench")
PASSWORD = "bench password: correct horse battery staple"
# Two valid BIP39 phrases: the publisher's (the tests' phrase) and a second user's.
MNEMONIC = ("abandon abandon abandon abandon abandon abandon abandon abandon abandon "
            "abandon abandon about")
MNEMONIC_B = ("alpha deal scrub asthma idea logic bright thought alpha deal scrub autumn")
CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


# -- reporting -----------------------------------------------------------------------------


def command_line() -> str:
    """The exact command that runs this benchmark, as typed from the repository root."""
    exe = Path(sys.executable)
    try:
        shown = str(exe.relative_to(Path.cwd())) if exe.is_relative_to(Path.cwd()) else str(exe)
    except ValueError:
        shown = str(exe)
    script = Path(sys.argv[0])
    try:
        script_shown = str(script.resolve().relative_to(Path.cwd()))
    except ValueError:
        script_shown = str(script)
    return shlex.join([shown, script_shown, *sys.argv[1:]])


@dataclass
class Report:
    """Prints figures as they come and the ratios last."""

    name: str
    ratios: list[str] = field(default_factory=list)
    started: float = field(default_factory=time.monotonic)

    def header(self, **facts: Any) -> None:
        print(f"# benchmark: {self.name}", flush=True)
        print(f"# command: {command_line()}", flush=True)
        print(f"# date: {time.strftime('%Y-%m-%d %H:%M:%S %Z')}; cpus: {os.cpu_count()}; "
              f"python: {sys.version.split()[0]}; code: {code_version()}", flush=True)
        print(f"# load average at start: {load_average()} (other processes share the cores)",
              flush=True)
        for key, value in facts.items():
            print(f"# {key}: {value}", flush=True)

    def line(self, text: str) -> None:
        print(text, flush=True)

    def ratio(self, name: str, value: float, target: float | None = None, *,
              higher_is_better: bool = True, note: str = "", applies: str = "") -> None:
        """One verdict line. `applies`: where the target is judged when not here (the
        figure is then printed against it, without a verdict)."""
        op = ">=" if higher_is_better else "<="
        if target is None:
            verdict = "(no target)"
        elif applies:
            verdict = f"(target {op} {target:g} applies {applies}; not judged here)"
        else:
            met = value >= target if higher_is_better else value <= target
            verdict = f"(target {op} {target:g}) {'MET' if met else 'MISSED'}"
        shown = "nan" if math.isnan(value) else f"{value:.3f}"
        self.ratios.append(f"RATIO {name} = {shown} {verdict}{'  ' + note if note else ''}")

    def finish(self) -> None:
        print(f"# finished in {time.monotonic() - self.started:.1f} s; load average at end: "
              f"{load_average()}", flush=True)
        for text in self.ratios:
            print(text, flush=True)


def load_average() -> str:
    try:
        return " ".join(Path("/proc/loadavg").read_text().split()[:3])
    except OSError:
        return "unknown"


def code_version() -> str:
    """The commit measured, and whether colony_actor/ had uncommitted changes."""
    try:
        commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=REPO,
                                capture_output=True, text=True, check=True).stdout.strip()
        dirty = subprocess.run(["git", "status", "--porcelain", "--", "colony_actor"],
                               cwd=REPO, capture_output=True, text=True, check=True).stdout
    except (OSError, subprocess.CalledProcessError):
        return "unknown (not a git checkout)"
    return commit + (" + uncommitted changes in colony_actor/" if dirty.strip() else "")


def median(values: Sequence[float]) -> float:
    return statistics.median(values) if values else math.nan


def percentile(values: Sequence[float], p: float) -> float:
    """The p-th percentile (0..100), linear between closest ranks."""
    if not values:
        return math.nan
    ordered = sorted(values)
    if len(ordered) == 1:
        return ordered[0]
    rank = (p / 100) * (len(ordered) - 1)
    low = math.floor(rank)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (rank - low)


def fmt_list(values: Sequence[float], digits: int = 1) -> str:
    return "[" + ", ".join(f"{v:.{digits}f}" for v in values) + "]"


# -- /proc readers ------------------------------------------------------------------------


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process (all its threads), from /proc/<pid>/stat."""
    raw = Path(f"/proc/{pid}/stat").read_text()
    # The command name (field 2) may hold spaces; everything after its ')' is split safely.
    fields = raw[raw.rindex(")") + 2:].split()
    utime, stime = int(fields[11]), int(fields[12])
    return (utime + stime) / CLOCK_TICKS


def rss_bytes(pid: int) -> int:
    """VmRSS of a process, from /proc/<pid>/status."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) * 1024
    raise RuntimeError(f"no VmRSS for pid {pid}")


def listening_port(pid: int) -> int | None:
    """The TCP port a process listens on (IPv4), from /proc/<pid>/fd and /proc/net/tcp."""
    inodes = set()
    try:
        for fd in Path(f"/proc/{pid}/fd").iterdir():
            try:
                target = os.readlink(fd)
            except OSError:
                continue
            if target.startswith("socket:["):
                inodes.add(target[len("socket:["):-1])
    except OSError:
        return None
    for line in Path("/proc/net/tcp").read_text().splitlines()[1:]:
        parts = line.split()
        if len(parts) > 9 and parts[3] == "0A" and parts[9] in inodes:  # 0A: LISTEN
            return int(parts[1].rsplit(":", 1)[1], 16)
    return None


# -- the daemon as a process --------------------------------------------------------------


class Daemon:
    """`python -m colony_actor serve --port 0` in a subprocess; its URL comes from the JSON
    log event `daemon_started` (the same approach as tests/e2e/daemon.py)."""

    def __init__(self, data_dir: Path, network_dir: Path, *, env: dict[str, str] | None = None,
                 mnemonic: str = MNEMONIC, log_path: Path | None = None, port: int = 0) -> None:
        self.data_dir = data_dir
        self.network_dir = network_dir
        self.log_path = log_path or data_dir.parent / f"{data_dir.name}.log"
        self.env = {**os.environ, "COLONY_ACTOR_PASSWORD": PASSWORD,
                    "COLONY_ACTOR_MNEMONIC": mnemonic, **(env or {})}
        self.port = port
        self.process: subprocess.Popen[bytes] | None = None
        self.url = ""
        self.token = ""
        self.spawned_at = 0.0  # time.perf_counter() just before the process was started

    @property
    def pid(self) -> int:
        assert self.process is not None
        return self.process.pid

    def start(self, timeout: float = 120) -> Daemon:
        """Spawn, wait until it listens, get a token."""
        self.spawn()
        self.wait_listening(timeout)
        self.login()
        return self

    def spawn(self) -> Daemon:
        """Start the process (its URL is known at once only with a fixed `port`)."""
        self.data_dir.mkdir(parents=True, exist_ok=True)
        self.network_dir.mkdir(parents=True, exist_ok=True)
        self.log_path.write_bytes(b"")
        self.url = f"http://127.0.0.1:{self.port}" if self.port else ""
        with self.log_path.open("ab") as log:
            self.spawned_at = time.perf_counter()
            self.process = subprocess.Popen(
                [sys.executable, "-m", "colony_actor", "serve", "--listen", "127.0.0.1",
                 "--port", str(self.port), "--data-dir", str(self.data_dir),
                 "--network-dir", str(self.network_dir)],
                env=self.env, stdout=log, stderr=log, cwd=REPO,
                preexec_fn=die_with_parent)
        return self

    def wait_listening(self, timeout: float = 120) -> None:
        assert self.process is not None
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            # Below log level info there is no `daemon_started` line: the port the process
            # listens on tells instead.
            port = listening_port(self.process.pid)
            if port is not None:
                self.url = f"http://127.0.0.1:{port}"
                return
            for event in self.events(limit_bytes=1 << 20):
                if event.get("event") == "daemon_started" and event.get("urls"):
                    self.url = event["urls"][0]
                    return
            if self.process.poll() is not None:
                raise RuntimeError(f"daemon exited {self.process.returncode}: {self.log()[-3000:]}")
            time.sleep(0.01)
        self.stop()
        raise TimeoutError(f"daemon did not start: {self.log()[-3000:]}")

    def login(self) -> None:
        with httpx.Client(base_url=self.url, timeout=30) as client:
            response = client.post("/auth/token", json={"password": PASSWORD})
            response.raise_for_status()
            self.token = response.json()["token"]

    def log(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    def events(self, limit_bytes: int | None = None) -> list[dict[str, Any]]:
        with self.log_path.open("rb") as handle:
            raw = handle.read(limit_bytes) if limit_bytes else handle.read()
        found = []
        for line in raw.decode(errors="replace").splitlines():
            try:
                found.append(json.loads(line))
            except json.JSONDecodeError:
                continue
        return found

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}

    def client(self, **kwargs: Any) -> httpx.Client:
        return httpx.Client(base_url=self.url, headers=self.headers,
                            timeout=kwargs.pop("timeout", 120), **kwargs)

    def cpu_seconds(self) -> float:
        return cpu_seconds(self.pid)

    def rss_bytes(self) -> int:
        return rss_bytes(self.pid)

    def stop(self, timeout: float = 60) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()

    def __enter__(self) -> Daemon:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


class LogTail:
    """The JSON events a log file gained since the last call. Following a long log this
    way costs what it gained, not what it holds: re-reading the whole log every 50 ms
    kept a core busy in bench/scale.py's first start at 10M (its /health probe adds 100
    lines a second), beside the daemon it measured."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._offset = 0
        self._partial = b""

    def new_events(self) -> list[dict[str, Any]]:
        with self.path.open("rb") as handle:
            handle.seek(self._offset)
            raw = handle.read()
        self._offset += len(raw)
        *lines, self._partial = (self._partial + raw).split(b"\n")
        found = []
        for line in lines:
            try:
                found.append(json.loads(line))
            except json.JSONDecodeError:
                continue
        return found


def free_port() -> int:
    """A TCP port of 127.0.0.1 free at the time of asking, for a daemon whose URL must be
    known before it listens."""
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
    return port


def die_with_parent() -> None:
    """In the child before exec: SIGTERM when the benchmark dies, so that a killed run
    leaves no daemon behind (Linux prctl PR_SET_PDEATHSIG)."""
    try:
        import ctypes

        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGTERM)
    except OSError:
        pass


def daemon_env(*, log_level: str = "warning", **settings: Any) -> dict[str, str]:
    """Environment for a daemon: COLONY_ACTOR_<SECTION>_<KEY> for each `section_key=value`."""
    env = {"COLONY_ACTOR_LOG_LEVEL": log_level}
    for key, value in settings.items():
        env["COLONY_ACTOR_" + key.upper()] = str(value)
    return env


def fresh_copy(source: Path, dest: Path) -> Path:
    """A copy of a pristine data (or network) directory, so that every round starts equal."""
    if dest.exists():
        shutil.rmtree(dest)
    shutil.copytree(source, dest, symlinks=True)
    return dest


# -- jobs over HTTP -----------------------------------------------------------------------


def start_job(client: httpx.Client, path: str, *, retry_conflict: float = 0,
              **kwargs: Any) -> str:
    """POST a job start; returns the job id. With `retry_conflict`, a 409 (another job
    running) is retried for that many seconds."""
    deadline = time.monotonic() + retry_conflict
    while True:
        response = client.post(path, **kwargs)
        if response.status_code == 409 and time.monotonic() < deadline:
            time.sleep(0.01)
            continue
        if response.status_code != 202:
            raise RuntimeError(f"POST {path}: {response.status_code} {response.text[:500]}")
        job_id: str = response.json()["job_id"]
        return job_id


def wait_terminal(client: httpx.Client, job_id: str, timeout: float = 600) -> dict[str, Any]:
    """The job once terminal, by long-poll (`?wait=&since=`)."""
    deadline = time.monotonic() + timeout
    since = 0
    while time.monotonic() < deadline:
        response = client.get(f"/api/v1/jobs/{job_id}", params={"wait": 30, "since": since})
        response.raise_for_status()
        job: dict[str, Any] = response.json()["job"]
        if job["status"] in TERMINAL:
            return job
        since = job["version"]
    raise TimeoutError(f"job {job_id} not terminal after {timeout} s")


def follow_terminal(client: httpx.Client, job_id: str, timeout: float = 600, *,
                    on_state: Callable[[dict[str, Any]], None] | None = None
                    ) -> dict[str, Any]:
    """The job once terminal, following its Server-Sent Events (as `colony-actor run`
    does: at most a few events a second, however often its progress changes); `on_state`
    is called with each state as it arrives."""
    states = []
    with client.stream("GET", f"/api/v1/jobs/{job_id}/events",
                       timeout=httpx.Timeout(timeout)) as stream:
        stream.raise_for_status()
        for state in job_events(stream.iter_lines()):
            states.append(state)
            if on_state is not None:
                on_state(state)
    if not states or states[-1]["status"] not in TERMINAL:
        raise RuntimeError(f"job {job_id}: the event stream ended before the job did")
    response = client.get(f"/api/v1/jobs/{job_id}")
    response.raise_for_status()
    job: dict[str, Any] = response.json()["job"]
    return job


def run_job(client: httpx.Client, path: str, timeout: float = 600, *, events: bool = False,
            **kwargs: Any) -> tuple[dict[str, Any], float]:
    """Start a job, wait until terminal (by long-poll, or with `events` by SSE); (the job,
    client-side wall seconds)."""
    started = time.perf_counter()
    job_id = start_job(client, path, **kwargs)
    job = (follow_terminal if events else wait_terminal)(client, job_id, timeout)
    return job, time.perf_counter() - started


def run_to_result(client: httpx.Client, path: str, timeout: float = 900,
                  **kwargs: Any) -> tuple[float, dict[str, Any], Any]:
    """A job as a client that wants its result runs it: POST, long-poll until terminal,
    GET its result. (End-to-end seconds, the terminal job, the result); raises if the job
    did not complete."""
    started = time.perf_counter()
    job_id = start_job(client, path, **kwargs)
    job = wait_terminal(client, job_id, timeout=timeout)
    response = client.get(f"/api/v1/jobs/{job_id}/result")
    seconds = time.perf_counter() - started
    response.raise_for_status()
    check_completed(job)
    return seconds, job, response.json()["result"]


def job_seconds(job: dict[str, Any]) -> float:
    """Server-side duration of a terminal job: finished_at - started_at."""
    return (parse_time(job["finished_at"]) - parse_time(job["started_at"]))


def parse_time(value: str) -> float:
    from datetime import datetime

    return datetime.fromisoformat(value.replace("Z", "+00:00")).timestamp()


def summarize(latencies: list[float]) -> dict[str, float]:
    return {"n": len(latencies), "p50": percentile(latencies, 50),
            "p99": percentile(latencies, 99), "max": max(latencies, default=float("nan"))}


PROBE = Path(__file__).with_name("probe.py")


class Probe:
    """bench/probe.py in a process of its own, from `with` entry (once its first request
    has succeeded) to exit; `latencies` (ms) are there after exit.

    `patient`: for a server that may not listen yet; the probe is ready at once, retries
    a refused connection, and times each request from when it was due, counting every
    request a client would have sent meanwhile (`samples`: (wall time due, ms))."""

    def __init__(self, url: str, interval: float, *, patient: bool = False) -> None:
        self.url = url
        self.interval = interval
        self.patient = patient
        self.latencies: list[float] = []
        self.samples: list[tuple[float, float]] = []
        self._process: subprocess.Popen[str] | None = None

    def __enter__(self) -> Probe:
        self._process = subprocess.Popen(
            [sys.executable, str(PROBE), self.url, repr(self.interval),
             *(["--patient"] if self.patient else [])],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
        assert self._process.stdout is not None
        if self._process.stdout.readline().strip() != "ready":
            self._process.kill()
            raise RuntimeError(f"probe failed to start (exit {self._process.wait()})")
        return self

    def __exit__(self, *exc: object) -> None:
        assert self._process is not None
        try:
            out, _ = self._process.communicate(timeout=120)
        except subprocess.TimeoutExpired:
            self._process.kill()
            self._process.wait()
            raise RuntimeError("probe did not stop within 120 s") from None
        if self._process.returncode != 0:
            raise RuntimeError(f"probe failed (exit {self._process.returncode})")
        if self.patient:
            self.samples = [(float(t), float(ms)) for t, ms in json.loads(out)]
            self.latencies = [ms for _, ms in self.samples]
        else:
            self.latencies = json.loads(out)


def check_completed(job: dict[str, Any]) -> dict[str, Any]:
    if job["status"] != "completed":
        raise RuntimeError(f"job {job['id']} {job['status']}: {job.get('error')}")
    return job


# -- load generation ----------------------------------------------------------------------


@dataclass(frozen=True)
class LoadResult:
    tool: str
    requests: int
    seconds: float
    errors: int

    @property
    def rps(self) -> float:
        return self.requests / self.seconds if self.seconds > 0 else math.nan


def load_tool(choice: str = "auto") -> str:
    """'wrk' when asked for or found on PATH (auto), else 'python' (httpx under trio)."""
    if choice == "python":
        return "python"
    if shutil.which("wrk"):
        return "wrk"
    if choice == "wrk":
        raise SystemExit("wrk was asked for but is not installed (apt-get install -y wrk)")
    return "python"


def describe_tool(tool: str) -> str:
    if tool == "wrk":
        out = subprocess.run(["wrk", "--version"], capture_output=True, text=True, check=False)
        first = (out.stdout or out.stderr).splitlines()[0] if (out.stdout or out.stderr) else ""
        return f"wrk ({first.strip()}), 1 thread"
    return f"python httpx {httpx.__version__} under trio {trio.__version__}"


def run_load(tool: str, url: str, *, seconds: float, connections: int,
             headers: dict[str, str] | None = None) -> LoadResult:
    """Closed-loop load: `connections` keep-alive connections, each sending its next GET as
    soon as the previous one is answered, for `seconds`."""
    if tool == "wrk":
        return _wrk(url, seconds, connections, headers or {})
    return trio.run(_python_load, url, seconds, connections, headers or {})


_WRK_REQUESTS = re.compile(r"(\d+) requests in ([\d.]+)(us|ms|s|m)")
_WRK_NON2XX = re.compile(r"Non-2xx or 3xx responses: (\d+)")
_WRK_SOCKET = re.compile(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)")
_UNITS = {"us": 1e-6, "ms": 1e-3, "s": 1.0, "m": 60.0}


def _wrk(url: str, seconds: float, connections: int, headers: dict[str, str]) -> LoadResult:
    command = ["wrk", "-t1", f"-c{connections}", f"-d{max(1, round(seconds))}s",
               "--timeout", "10s"]
    for name, value in headers.items():
        command += ["-H", f"{name}: {value}"]
    out = subprocess.run([*command, url], capture_output=True, text=True, check=True).stdout
    match = _WRK_REQUESTS.search(out)
    if not match:
        raise RuntimeError(f"cannot read wrk's output:\n{out}")
    requests = int(match.group(1))
    elapsed = float(match.group(2)) * _UNITS[match.group(3)]
    errors = 0
    if found := _WRK_NON2XX.search(out):
        errors += int(found.group(1))
    if found := _WRK_SOCKET.search(out):
        errors += sum(int(g) for g in found.groups())
    return LoadResult("wrk", requests, elapsed, errors)


async def _python_load(url: str, seconds: float, connections: int,
                       headers: dict[str, str]) -> LoadResult:
    count = 0
    errors = 0
    limits = httpx.Limits(max_connections=connections, max_keepalive_connections=connections)
    async with httpx.AsyncClient(headers=headers, limits=limits, timeout=10) as client:
        # Warm the connections so the measured window holds requests, not handshakes.
        async with trio.open_nursery() as nursery:
            for _ in range(connections):
                nursery.start_soon(client.get, url)
        started = time.perf_counter()
        deadline = started + seconds

        async def worker() -> None:
            nonlocal count, errors
            while time.perf_counter() < deadline:
                try:
                    response = await client.get(url)
                    if response.status_code >= 400:
                        errors += 1
                except httpx.HTTPError:
                    errors += 1
                count += 1

        async with trio.open_nursery() as nursery:
            for _ in range(connections):
                nursery.start_soon(worker)
        elapsed = time.perf_counter() - started
    return LoadResult("python", count, elapsed, errors)


class RawHTTP:
    """A minimal HTTP/1.1 keep-alive client on one trio TCP connection, for GETs answered
    with a Content-Length body. Several times cheaper per request than httpx, so that a few
    hundred clients in this process can keep their pace while the daemon is measured."""

    def __init__(self, url: str, headers: dict[str, str] | None = None) -> None:
        host_port = url.split("://", 1)[1].split("/", 1)[0]
        host, _, port = host_port.rpartition(":")
        self.host, self.port = host, int(port)
        self.extra = "".join(f"{k}: {v}\r\n" for k, v in (headers or {}).items())
        self.stream: trio.SocketStream | None = None
        self.buffer = bytearray()

    async def get(self, path: str) -> tuple[int, bytes]:
        if self.stream is None:
            self.stream = await trio.open_tcp_stream(self.host, self.port)
        request = f"GET {path} HTTP/1.1\r\nHost: {self.host}\r\n{self.extra}\r\n"
        await self.stream.send_all(request.encode())
        while (end := self.buffer.find(b"\r\n\r\n")) < 0:
            await self._receive()
        head = bytes(self.buffer[:end]).decode("latin-1").split("\r\n")
        del self.buffer[:end + 4]
        status = int(head[0].split(" ", 2)[1])
        length = next((int(line.split(":", 1)[1]) for line in head[1:]
                       if line.lower().startswith("content-length:")), None)
        if length is None:
            raise RuntimeError(f"GET {path}: no Content-Length in {head}")
        while len(self.buffer) < length:
            await self._receive()
        body = bytes(self.buffer[:length])
        del self.buffer[:length]
        return status, body

    async def _receive(self) -> None:
        assert self.stream is not None
        chunk = await self.stream.receive_some(65536)
        if not chunk:
            raise RuntimeError("the server closed the connection")
        self.buffer += chunk

    async def aclose(self) -> None:
        if self.stream is not None:
            await self.stream.aclose()
            self.stream = None


def add_common_args(parser: argparse.ArgumentParser, *, workdir: bool = True) -> None:
    parser.add_argument("--quick", action="store_true",
                        help="tiny sizes: a smoke run that only shows the benchmark works")
    if workdir:
        parser.add_argument("--workdir", type=Path, default=DEFAULT_WORKDIR,
                            help="where generated data is cached between runs "
                                 f"(default {DEFAULT_WORKDIR})")
