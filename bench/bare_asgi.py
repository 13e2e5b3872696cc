"""A bare ASGI callable served by hypercorn's trio worker: the HTTP server's own ceiling.

Run as a process by bench/poll.py; it serves 127.0.0.1 on a free port with the daemon's
hypercorn settings (no access log, keep-alive 30 s) and answers every GET with a small
JSON body of the size of the daemon's /health, then prints `{"port": N}` on stdout.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

import hypercorn.config
import hypercorn.trio
import trio

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]

BODY = json.dumps({"status": "healthy", "timestamp": "2025-01-01T00:00:00.000000Z",
                   "version": "0.1.0", "runner": "busy"}).encode()


async def app(scope: Scope, receive: Callable[[], Awaitable[Message]],
              send: Callable[[Message], Awaitable[None]]) -> None:
    if scope["type"] == "lifespan":
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                await send({"type": "lifespan.shutdown.complete"})
                return
    if scope["type"] != "http":
        return
    await send({"type": "http.response.start", "status": 200,
                "headers": [(b"content-type", b"application/json"),
                            (b"content-length", str(len(BODY)).encode())]})
    await send({"type": "http.response.body", "body": BODY})


async def main() -> None:
    config = hypercorn.config.Config()
    config.bind = ["127.0.0.1:0"]
    config.accesslog = None
    config.keep_alive_timeout = 30.0
    config.graceful_timeout = 1.0

    async def serve(task_status: trio.TaskStatus[list[str]] = trio.TASK_STATUS_IGNORED
                    ) -> None:
        await hypercorn.trio.serve(app, config, task_status=task_status)  # type: ignore[arg-type]

    async with trio.open_nursery() as nursery:
        urls: list[str] = await nursery.start(serve)
        port = int(urls[0].rsplit(":", 1)[1])
        print(json.dumps({"port": port}), flush=True)


if __name__ == "__main__":
    try:
        trio.run(main)
    except KeyboardInterrupt:
        sys.exit(0)
