"""The HTTP server: hypercorn's connection handler (`TCPServer`: HTTP/1.1 and h2c, keep-alive,
timeouts) on listeners of our own, so that the connection cap acts where connections are
accepted. hypercorn's `serve` makes its listeners inside and leaves no place for one.

For plain TCP this does what `hypercorn.trio.run.worker_serve` does: the app's ASGI lifespan
around serving, then on the shutdown trigger stop accepting, end idle keep-alive
connections, and give the others `config.graceful_timeout` to finish. No TLS and no QUIC:
the daemon serves neither. One change: a connection the client closes while idle ends at
once (hypercorn's keeps it, and its descriptor, until the keep-alive timeout).

Of hypercorn it takes, beyond its `Config`, four names: `trio.tcp_server.TCPServer` (and of
it `_read_data` and `idle_task`), `trio.worker_context.WorkerContext`,
`trio.lifespan.Lifespan` and `utils.wrap_app`; tests/daemon/test_http_server.py pins what
this module relies on of each. It must never hold business logic or read a request.
"""

from __future__ import annotations

import socket
from collections.abc import Awaitable, Callable, Sequence
from functools import partial
from typing import Any

import hypercorn.config
import trio
from hypercorn.trio.lifespan import Lifespan
from hypercorn.trio.tcp_server import TCPServer
from hypercorn.trio.worker_context import WorkerContext
from hypercorn.utils import wrap_app

from colony_actor.api.capacity import Capacity
from colony_actor.daemon.listener import CappedListener


class Connection(TCPServer):
    """hypercorn's connection handler, ending as soon as the client has closed an idle
    connection."""

    async def _read_data(self) -> None:
        await super()._read_data()
        # Nothing more can arrive. With a request in flight, the answer is still sent and
        # the connection closes after it; idle, only the keep-alive timer is left to wait
        # for, and it would hold the connection's descriptor for the whole timeout.
        await self.idle_task.stop()


def url_of(listener: trio.SocketListener) -> str:
    host, port = listener.socket.getsockname()[:2]
    if listener.socket.family == socket.AF_INET6:
        host = f"[{host}]"
    return f"http://{host}:{port}"


async def serve(app: Any, config: hypercorn.config.Config,
                listeners: Sequence[trio.SocketListener], capacity: Capacity, *,
                shutdown_trigger: Callable[[], Awaitable[object]],
                task_status: trio.TaskStatus[list[str]] = trio.TASK_STATUS_IGNORED) -> None:
    """Serve the ASGI `app` on `listeners` (closed when it returns) until `shutdown_trigger`
    returns; reports the URLs once accepting."""
    wrapped = wrap_app(app, config.wsgi_max_body_size, "asgi")
    state: dict[str, Any] = {}
    lifespan = Lifespan(wrapped, config, state)
    context = WorkerContext(None)
    async with trio.open_nursery() as lifespan_nursery:
        await lifespan_nursery.start(lifespan.handle_lifespan)
        await lifespan.wait_for_startup()
        async with trio.open_nursery() as connections:
            capped = [CappedListener(listener, capacity, connections) for listener in listeners]
            handler = partial(Connection, wrapped, config, context, state.copy())
            try:
                async with trio.open_nursery() as accepting:
                    await accepting.start(partial(trio.serve_listeners, handler, capped,
                                                  handler_nursery=connections))
                    task_status.started([url_of(listener) for listener in listeners])
                    await shutdown_trigger()
                    accepting.cancel_scope.cancel()
            finally:
                # Idle keep-alive connections end when `terminated` is set; the others
                # have the grace period.
                await context.terminated.set()
                connections.cancel_scope.deadline = trio.current_time() + config.graceful_timeout
        await lifespan.wait_for_shutdown()
        lifespan_nursery.cancel_scope.cancel()
