"""The connection cap where connections are accepted: a trio Listener around the daemon's
socket listener. A connection is admitted while `Capacity` has a slot, and gives the slot
back when it is closed, however its handler ends (an idle keep-alive connection holds its
slot, as it holds its descriptor). Beyond the cap the connection is answered
503 OVERLOADED with Retry-After and closed, before any of its request is read.

It never reads a request of an admitted connection and never waits on a refused client for
long: a refusal is answered by a task of its own (at most `REFUSING_MAX` at once, each at
most a second), or else on the spot.
"""

from __future__ import annotations

from collections.abc import Callable

import structlog
import trio

from colony_actor.api.capacity import Capacity, overloaded_response

log = structlog.get_logger("colony_actor.daemon.listener")

# How long an unhurried refusal waits for the client to read the answer and close.
REFUSAL_SECONDS = 1.0
# How long a refusal on the spot may hold the accept loop (a fresh socket's send buffer is
# empty, so the answer goes out at once).
QUICK_REFUSAL_SECONDS = 0.05
# Refusals come in floods: one log event per this many seconds at most.
LOG_INTERVAL_SECONDS = 10.0


class HeldStream(trio.abc.HalfCloseableStream):
    """An admitted connection: its socket stream, and its slot given back once, on close."""

    def __init__(self, stream: trio.SocketStream, release: Callable[[], None]) -> None:
        self._stream = stream
        self._release: Callable[[], None] | None = release

    @property
    def socket(self) -> trio.socket.SocketType:
        # hypercorn's TCPServer reads the peer's address and its own through it.
        return self._stream.socket

    async def send_all(self, data: bytes | bytearray | memoryview) -> None:
        await self._stream.send_all(data)

    async def wait_send_all_might_not_block(self) -> None:
        await self._stream.wait_send_all_might_not_block()

    async def send_eof(self) -> None:
        await self._stream.send_eof()

    async def receive_some(self, max_bytes: int | None = None) -> bytes | bytearray:
        return await self._stream.receive_some(max_bytes)

    async def aclose(self) -> None:
        try:
            await self._stream.aclose()
        finally:
            release, self._release = self._release, None
            if release is not None:
                release()


class CappedListener(trio.abc.Listener[HeldStream]):
    """Accepts from `listener` under `capacity`; refusals are answered in `refusals`."""

    def __init__(self, listener: trio.SocketListener, capacity: Capacity,
                 refusals: trio.Nursery) -> None:
        self.listener = listener
        self._capacity = capacity
        self._refusals = refusals
        self._logged_at = -LOG_INTERVAL_SECONDS

    async def accept(self) -> HeldStream:
        while True:
            stream = await self.listener.accept()
            if self._capacity.take_connection():
                return HeldStream(stream, self._capacity.release_connection)
            self._log_refusals()
            answer = overloaded_response(self._capacity.message("connection"))
            if self._capacity.take_refusal():
                self._refusals.start_soon(self._refuse, stream, answer)
            else:
                with trio.move_on_after(QUICK_REFUSAL_SECONDS):
                    await _send(stream, answer)
                await trio.aclose_forcefully(stream)

    async def aclose(self) -> None:
        await self.listener.aclose()

    async def _refuse(self, stream: trio.SocketStream, answer: bytes) -> None:
        try:
            with trio.move_on_after(REFUSAL_SECONDS):
                if await _send(stream, answer):
                    await stream.send_eof()
                    # Read what the client sends until it closes: a socket closed with a
                    # request unread sends a reset, which can destroy the answer in transit.
                    while await stream.receive_some(4096):
                        pass
        except (trio.BrokenResourceError, trio.ClosedResourceError):
            pass
        finally:
            self._capacity.release_refusal()
            await trio.aclose_forcefully(stream)

    def _log_refusals(self) -> None:
        now = trio.current_time()
        if now - self._logged_at >= LOG_INTERVAL_SECONDS:
            self._logged_at = now
            stats = self._capacity.statistics()
            log.warning("connections_refused", max_connections=stats.max_connections,
                        refused_connections=stats.refused_connections)


async def _send(stream: trio.SocketStream, data: bytes) -> bool:
    try:
        await stream.send_all(data)
    except (trio.BrokenResourceError, trio.ClosedResourceError):
        return False
    return True
