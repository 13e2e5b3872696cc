"""The query worker processes, seen from the daemon: `QueryWorkers`.

A client's SPARQL is parsed and run in a worker process (worker.py), never in the daemon's:
a parser crash, an abort or a memory blow-up ends the worker, and the daemon tells the
caller why (`WorkerDied`) and starts a fresh one for the next query. A caller cancelled at
its deadline kills the worker it was using (SIGKILL, then reaped), so no CPU is left
burning after a timeout. At most `size` workers run at once; an idle one is kept for the
next query. Workers are the daemon's children, started with the limits of `Limits`, and
die with it (sandbox.py); `aclose` ends the idle ones.

This module must never block the event loop, and never trust what a worker says beyond
the frame it expects (a JSON header and a body, both bounded).
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections import deque
from dataclasses import asdict
from typing import Any, Final

import trio

from colony_actor.colony.errors import ColonyError
from colony_actor.colony.search.sandbox import Limits
from colony_actor.colony.search.worker import FRAME
from colony_actor.runtime import children, threads

# An answer's JSON header is small; its body (SPARQL JSON text) is bounded by the row cap.
MAX_HEADER: Final = 1 << 20
MAX_BODY: Final = 1 << 32
_STDERR_KEPT: Final = 4096
# One read asks the pipe for at most this much (os.read allocates what is asked).
_READ_BYTES: Final = 256 << 10


class WorkerDied(ColonyError):
    """A worker process ended while it had a request (or, `starting`, before it was
    ready for one); `reason` says how, for a person."""

    def __init__(self, reason: str, *, starting: bool = False) -> None:
        super().__init__(reason)
        self.reason = reason
        self.starting = starting


def describe_death(returncode: int, stderr: bytes, limits: Limits) -> str:
    """Why a worker ended, from its exit status and the start of its stderr."""
    text = stderr.decode(errors="replace")
    if "memory allocation" in text or "MemoryError" in text or "bad_alloc" in text:
        return f"it needed more memory than a query may have ({limits.memory_bytes >> 20} MiB)"
    if "Resource temporarily unavailable" in text:
        return (f"it needed more memory than a query may have ({limits.memory_bytes >> 20} "
                "MiB; a thread could not start)")
    if "overflowed its stack" in text or returncode in (-signal.SIGSEGV, -signal.SIGBUS):
        return "it overflowed the parser's stack (nested too deep)"
    if returncode == -signal.SIGXCPU:
        return f"it used more than {limits.cpu_seconds} seconds of CPU"
    if returncode == -signal.SIGABRT:
        return "it aborted"
    if returncode < 0:
        return f"it was ended by signal {signal.Signals(-returncode).name}"
    return f"it exited with status {returncode}"


class _Worker:
    def __init__(self, process: trio.Process) -> None:
        self.process = process
        # What was read and not yet taken, as read: an answer of megabytes grown into one
        # buffer, or sliced out of one, would be copied on the loop with the GIL held.
        self._chunks: deque[bytes | bytearray] = deque()
        self._buffered = 0

    async def send(self, header: dict[str, Any]) -> None:
        data = json.dumps(header, separators=(",", ":")).encode()
        assert self.process.stdin is not None
        await self.process.stdin.send_all(FRAME.pack(len(data), 0) + data)

    async def receive(self) -> tuple[dict[str, Any], bytes] | None:
        """The next frame; None if the worker ended first."""
        lengths = await self._exactly(FRAME.size)
        if lengths is None:
            return None
        size, extra = FRAME.unpack(lengths)
        if size > MAX_HEADER or extra > MAX_BODY:
            raise WorkerDied("it answered a frame out of bounds")
        header = await self._exactly(size)
        body = await self._exactly(extra)
        if header is None or body is None:
            return None
        return json.loads(header), body

    async def _exactly(self, count: int) -> bytes | None:
        """The next `count` bytes the worker wrote; None if it ended first. The pieces
        are joined once, in a worker thread past a few pages (a join of megabytes lets
        go of the GIL while it copies)."""
        assert self.process.stdout is not None
        while self._buffered < count:
            chunk = await self.process.stdout.receive_some(_READ_BYTES)
            if not chunk:
                return None
            self._chunks.append(chunk)
            self._buffered += len(chunk)
        parts: list[bytes | bytearray] = []
        needed = count
        while needed:
            chunk = self._chunks.popleft()
            if len(chunk) > needed:
                self._chunks.appendleft(chunk[needed:])
                chunk = chunk[:needed]
            parts.append(chunk)
            needed -= len(chunk)
        self._buffered -= count
        return await threads.run_sized(count, b"".join, parts)

    async def stderr_head(self) -> bytes:
        """What the ended worker wrote to stderr, its first few KB (the reason comes first,
        a backtrace after it)."""
        assert self.process.stderr is not None
        kept = b""
        with trio.move_on_after(1):
            while chunk := await self.process.stderr.receive_some(65536):
                kept = (kept + chunk)[:_STDERR_KEPT]
        return kept


class QueryWorkers:
    def __init__(self, limits: Limits, size: int) -> None:
        self._limits = limits
        self._limiter = trio.CapacityLimiter(size)
        self._idle: list[_Worker] = []
        self._counts = {"started": 0, "reused": 0, "killed": 0, "died": 0}
        self._last_start_seconds = 0.0
        self._closed = False

    async def call(self, request: dict[str, Any]) -> tuple[dict[str, Any], bytes]:
        """A worker's answer to `request` (a header of worker.py). WorkerDied if the worker
        ended; on cancellation (the caller's deadline) the worker is killed."""
        async with self._limiter:
            worker = await self._take()
            answered = False
            try:
                await worker.send(request)
                reply = await worker.receive()
                if reply is None:
                    raise WorkerDied(await self._death(worker))
                answered = True
                return reply
            except (trio.BrokenResourceError, trio.ClosedResourceError):
                raise WorkerDied(await self._death(worker)) from None
            finally:
                if answered and not self._closed:
                    self._idle.append(worker)
                else:
                    await self._kill(worker)

    def statistics(self) -> dict[str, Any]:
        """Workers started, reused, killed (at a deadline or on closing) and died
        (crashed), how many wait idle, the last start-up in seconds, and the limits."""
        return {**self._counts, "idle": len(self._idle),
                "last_start_seconds": self._last_start_seconds,
                "limits": asdict(self._limits)}

    async def aclose(self) -> None:
        self._closed = True
        idle, self._idle = self._idle, []
        for worker in idle:
            await self._kill(worker)

    async def _take(self) -> _Worker:
        if self._idle:
            self._counts["reused"] += 1
            return self._idle.pop()
        started = time.monotonic()
        # Few malloc arenas: each thread's arena reserves 64 MiB of address space, which
        # RLIMIT_AS counts, so the limit bounds what the query uses, not how many threads
        # the store started.
        env = children.environment(RUST_BACKTRACE="0", MALLOC_ARENA_MAX="2")
        process = await trio.lowlevel.open_process(
            [sys.executable, "-m", "colony_actor.colony.search.worker",
             json.dumps(asdict(self._limits)), str(os.getpid())],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env)
        worker = _Worker(process)
        self._counts["started"] += 1
        try:
            ready = await worker.receive()
        except BaseException:
            await self._kill(worker)
            raise
        if ready is None:
            raise WorkerDied(await self._death(worker), starting=True)
        self._last_start_seconds = time.monotonic() - started
        return worker

    async def _death(self, worker: _Worker) -> str:
        with trio.CancelScope(shield=True):
            with trio.move_on_after(2):
                await worker.process.wait()
            head = await worker.stderr_head()
        self._counts["died"] += 1
        code = worker.process.returncode
        return describe_death(code if code is not None else 0, head, self._limits)

    async def _kill(self, worker: _Worker) -> None:
        if worker.process.returncode is None:
            self._counts["killed"] += 1
            worker.process.kill()
        with trio.CancelScope(shield=True):
            await worker.process.wait()
            for stream in (worker.process.stdin, worker.process.stdout,
                           worker.process.stderr):
                if stream is not None:
                    await stream.aclose()
