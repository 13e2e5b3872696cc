"""The HTTP server on capped listeners: hypercorn's connection handler on a real socket.

The first test pins what daemon/http_server.py takes of hypercorn beyond its public API; the
others check the behaviour that rests on it, so that a hypercorn upgrade that changes any
of it fails here first."""

from __future__ import annotations

import inspect
import json
import socket
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from typing import Any

import httpx
import hypercorn.config
import trio
from hypercorn.trio.lifespan import Lifespan
from hypercorn.trio.tcp_server import TCPServer
from hypercorn.trio.worker_context import WorkerContext
from hypercorn.utils import wrap_app

from colony_actor.api.capacity import REFUSING_MAX, Capacity, Limits
from colony_actor.daemon import http_server


def parameters(function: Callable[..., Any]) -> list[str]:
    return [name for name in inspect.signature(function).parameters if name != "self"]


def test_the_hypercorn_internals_it_relies_on() -> None:
    assert parameters(TCPServer.__init__) == ["app", "config", "context", "state", "stream"]
    assert inspect.iscoroutinefunction(TCPServer._read_data)
    assert parameters(TCPServer._read_data) == []
    # TCPServer tells TLS from TCP by `do_handshake`, and reads addresses from `.socket`.
    source = inspect.getsource(TCPServer.run)
    assert "self.stream.do_handshake()" in source and "self.stream.socket" in source
    assert "self.idle_task = TrioSingleTask()" in inspect.getsource(TCPServer.__init__)
    assert parameters(WorkerContext.__init__) == ["max_requests"]
    assert inspect.iscoroutinefunction(WorkerContext(None).terminated.set)
    assert parameters(Lifespan.__init__) == ["app", "config", "state"]
    for name in ("handle_lifespan", "wait_for_startup", "wait_for_shutdown"):
        assert inspect.iscoroutinefunction(getattr(Lifespan, name))
    assert parameters(wrap_app) == ["app", "wsgi_max_body_size", "mode"]


async def hello(scope: dict[str, Any], receive: Callable[[], Awaitable[dict[str, Any]]],
                send: Callable[[dict[str, Any]], Awaitable[None]]) -> None:
    if scope["type"] == "lifespan":
        while True:
            message = await receive()
            await send({"type": message["type"] + ".complete"})
            if message["type"] == "lifespan.shutdown":
                return
    await send({"type": "http.response.start", "status": 200, "headers": []})
    await send({"type": "http.response.body", "body": b"hello"})


@asynccontextmanager
async def serving(capacity: Capacity, graceful_timeout: float = 1.0
                  ) -> AsyncIterator[tuple[str, int]]:
    config = hypercorn.config.Config()
    config.graceful_timeout = graceful_timeout
    config.keep_alive_timeout = 60
    stop = trio.Event()
    listeners = await trio.open_tcp_listeners(0, host="127.0.0.1")
    async with trio.open_nursery() as nursery:
        urls: list[str] = await nursery.start(lambda task_status: http_server.serve(
            hello, config, listeners, capacity, shutdown_trigger=stop.wait,
            task_status=task_status))
        yield urls[0], listeners[0].socket.getsockname()[1]
        stop.set()


async def until(check: Callable[[], bool]) -> None:
    """Wait for `check` to hold: the counts change in the server's own tasks."""
    with trio.fail_after(5):
        while True:
            if check():
                return
            await trio.sleep(0.01)


def read_all(connection: socket.socket) -> bytes:
    connection.settimeout(5)
    chunks = []
    while chunk := connection.recv(4096):
        chunks.append(chunk)
    return b"".join(chunks)


def assert_overloaded(answer: bytes) -> None:
    head, _, body = answer.partition(b"\r\n\r\n")
    lines = head.decode().split("\r\n")
    assert lines[0] == "HTTP/1.1 503 Service Unavailable"
    headers = dict(line.lower().split(": ", 1) for line in lines[1:])
    assert headers["retry-after"].isdigit() and headers["content-type"] == "application/json"
    assert int(headers["content-length"]) == len(body)
    error = json.loads(body)
    assert error["error"] == "OVERLOADED" and error["message"] and error["timestamp"]


async def test_connections_are_counted_from_accept_to_close() -> None:
    capacity = Capacity(Limits(connections=2, streams=1))
    async with serving(capacity) as (url, port):
        async with httpx.AsyncClient(base_url=url) as keep_alive:
            for _ in range(3):  # one connection however many requests it carries
                assert (await keep_alive.get("/")).text == "hello"
            assert capacity.statistics().connections == 1
            idle = socket.create_connection(("127.0.0.1", port))
            await until(lambda: capacity.statistics().connections == 2)
            # At the cap: the next connection is answered before it says anything.
            excess = socket.create_connection(("127.0.0.1", port))
            answer = await trio.to_thread.run_sync(read_all, excess)
            assert_overloaded(answer)
            excess.close()
            assert capacity.statistics().refused_connections == 1
            # An idle connection the client closes gives its slot back at once, not after
            # the keep-alive timeout.
            idle.close()
            await until(lambda: capacity.statistics().connections == 1)
            async with httpx.AsyncClient(base_url=url) as another:
                assert (await another.get("/")).status_code == 200
        await until(lambda: capacity.statistics().connections == 0)


async def test_a_flood_of_refusals_is_answered_and_bounded() -> None:
    capacity = Capacity(Limits(connections=1, streams=1))
    async with serving(capacity) as (_url, port):
        held = socket.create_connection(("127.0.0.1", port))
        await until(lambda: capacity.statistics().connections == 1)
        # Clients that neither read nor close: the unhurried refusals fill up, the others
        # are answered on the spot.
        flood = [socket.create_connection(("127.0.0.1", port)) for _ in range(3 * REFUSING_MAX)]
        await until(lambda: capacity.statistics().refused_connections == len(flood))
        assert capacity.statistics().refusing <= REFUSING_MAX
        for connection in flood:
            assert_overloaded(await trio.to_thread.run_sync(read_all, connection))
            connection.close()
        await until(lambda: capacity.statistics().refusing == 0)
        held.close()


async def test_a_graceful_stop_ends_idle_connections() -> None:
    capacity = Capacity(Limits(connections=4, streams=1))
    with trio.fail_after(5):  # well within the grace period: the idle ones end at once
        async with serving(capacity, graceful_timeout=60) as (url, _port):
            client = httpx.AsyncClient(base_url=url)
            assert (await client.get("/")).status_code == 200
            assert capacity.statistics().connections == 1
    assert capacity.statistics().connections == 0
    await client.aclose()
