"""ASGI middleware: an answer never leaves its keep-alive connection stuck.

Why it is needed: Quart-Trio reads a request's body in a task of its own and cancels that
task's nursery as soon as the handler has answered. The answer's last message reaches
hypercorn inside that nursery, and hypercorn tidies the connection up right there: it hands
the app an `http.disconnect` (which ends Quart-Trio's reader, which cancels the nursery),
then, if the client had not yet sent all of its body, tries to close the connection, a
close the cancellation cuts off at its first checkpoint. The connection then stays open
with hypercorn's HTTP/1.1 state machine finished on our side and never restarted: the
rest of the body is read and dropped, and the next request on the connection pauses for
good. An answer given from the headers alone (401, 404, 405) before the body arrived is
exactly that case.

So this middleware (1) holds back the answer's last message until the app has returned,
so that hypercorn's clean-up never runs inside a cancelled scope; (2) first reads and
drops what is left of the body, when its declared length is within the body limit, so the
connection can serve the next request; (3) answers `Connection: close` when the rest
cannot be drained (no declared length, or more than the limit), so the client does not
reuse a connection that hypercorn then closes. A body that does not arrive within
`DRAIN_SECONDS` is given up: the connection is closed.

It must never read a body the app is still reading (it drains only after the app
returned), and never keep more than one message of the answer.
"""

from __future__ import annotations

from typing import Final

import trio

from colony_actor.api.access_log import ASGIApp, Message, Receive, Scope, Send
from colony_actor.api.params import natural

# How long a client may take to send the rest of a body nobody will read.
DRAIN_SECONDS: Final = 10.0


class _Body:
    """What the request declared about its body, and whether all of it has arrived."""

    def __init__(self, scope: Scope) -> None:
        self.length: int | None = 0
        for name, value in scope.get("headers", []):
            if name.lower() == b"content-length":
                self.length = natural(value.decode("latin-1").strip())
            elif name.lower() == b"transfer-encoding":
                self.length = None
        self.complete = self.length == 0

    def saw(self, message: Message) -> None:
        if message["type"] == "http.request":
            if not message.get("more_body", False):
                self.complete = True
        elif message["type"] == "http.disconnect":
            self.complete = True


class KeepAliveGuard:
    def __init__(self, app: ASGIApp, max_body_bytes: int) -> None:
        self.app = app
        self.max_body_bytes = max_body_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        body = _Body(scope)
        drainable = body.length is not None and body.length <= self.max_body_bytes
        last: Message | None = None

        async def watched_receive() -> Message:
            message = await receive()
            body.saw(message)
            return message

        async def held_send(message: Message) -> None:
            nonlocal last
            if message["type"] == "http.response.start" and not body.complete \
                    and not drainable:
                message = {**message, "headers": [*message.get("headers", []),
                                                  (b"connection", b"close")]}
            if message["type"] == "http.response.body" and not message.get("more_body"):
                last = message
                return
            await send(message)

        await self.app(scope, watched_receive, held_send)
        if last is None:
            return  # no answer: hypercorn's own clean-up answers 500 and closes
        if drainable and not body.complete:
            with trio.move_on_after(DRAIN_SECONDS):
                while not body.complete:
                    body.saw(await receive())
        await send(last)
