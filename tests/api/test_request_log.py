"""The access log middleware around a Quart-Trio app, called as hypercorn calls it: the
request id reaches every line logged while a request is served (in its handler, and in a
task the handler starts), never a line of another request served at the same time; it is
returned in `X-Request-ID`; a hostile one is replaced."""

from __future__ import annotations

import io
import json
from collections.abc import Iterator
from typing import Any

import pytest
import structlog
import trio
from quart_trio import QuartTrio

from colony_actor.api import request_log
from colony_actor.api.access_log import AccessLog
from colony_actor.service.metrics import Metrics

log = structlog.get_logger("tests.request_log")


@pytest.fixture
def lines() -> Iterator[io.StringIO]:
    """JSON lines with structlog's context merged in, as the daemon writes them."""
    buffer = io.StringIO()
    structlog.configure(processors=[structlog.contextvars.merge_contextvars,
                                    structlog.processors.JSONRenderer()],
                        logger_factory=structlog.PrintLoggerFactory(buffer))
    try:
        yield buffer
    finally:
        structlog.reset_defaults()


def _app() -> QuartTrio:
    app = QuartTrio("request_log_test")

    @app.get("/work/<name>")
    async def work(name: str) -> str:
        log.info("in_handler", name=name)
        await trio.sleep(0.01)  # the other request's handler runs meanwhile

        async def child() -> None:
            await trio.sleep(0.01)
            log.info("in_child", name=name)

        async with trio.open_nursery() as nursery:
            nursery.start_soon(child)
        return name

    return app


async def _call(app: Any, path: str, request_id: bytes | None = None
                ) -> tuple[int, dict[bytes, bytes]]:
    headers = [(b"host", b"localhost")]
    if request_id is not None:
        headers.append((b"x-request-id", request_id))
    scope = {"type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1",
             "method": "GET", "scheme": "http", "path": path, "raw_path": path.encode(),
             "query_string": b"", "root_path": "", "headers": headers,
             "client": ("127.0.0.1", 5000), "server": ("127.0.0.1", 3000), "extensions": {}}
    sent: list[dict[str, Any]] = []
    answered = trio.Event()
    asked = False

    async def receive() -> dict[str, Any]:
        nonlocal asked
        if not asked:
            asked = True
            return {"type": "http.request", "body": b"", "more_body": False}
        await answered.wait()  # as a server does: the client leaves once answered
        return {"type": "http.disconnect"}

    async def send(message: Any) -> None:
        sent.append(dict(message))
        if message["type"] == "http.response.body" and not message.get("more_body"):
            answered.set()

    await app(scope, receive, send)
    start = next(m for m in sent if m["type"] == "http.response.start")
    return start["status"], {k.lower(): v for k, v in start["headers"]}


async def test_every_line_of_a_request_carries_its_id(lines: io.StringIO) -> None:
    quart = _app()
    app = AccessLog(quart, Metrics(), quart.url_map)
    answers: dict[str, tuple[int, dict[bytes, bytes]]] = {}

    async def one(name: str) -> None:
        answers[name] = await _call(app, f"/work/{name}", f"id-{name}".encode())

    async with trio.open_nursery() as nursery:
        for name in ("a", "b"):
            nursery.start_soon(one, name)

    events = [json.loads(line) for line in lines.getvalue().splitlines()]
    for name in ("a", "b"):
        assert answers[name][0] == 200
        assert answers[name][1][b"x-request-id"] == f"id-{name}".encode()
        mine = [e for e in events if e.get("name") == name or e.get("path") == f"/work/{name}"]
        assert {e["event"] for e in mine} == {"in_handler", "in_child", "http_request"}
        assert all(e["request_id"] == f"id-{name}" for e in mine), mine
        access = next(e for e in mine if e["event"] == "http_request")
        assert access["route"] == "/work/<name>"
    # Outside a request, nothing is bound.
    log.info("after")
    assert "request_id" not in json.loads(lines.getvalue().splitlines()[-1])


async def test_an_unknown_route_gets_one_label(lines: io.StringIO) -> None:
    quart = _app()
    metrics = Metrics()
    app = AccessLog(quart, metrics, quart.url_map)
    for n in range(3):
        status, _ = await _call(app, f"/nothing/{n}")
        assert status == 404
    text = metrics.render().decode()
    assert 'route="unmatched",status="404"} 3.0' in text
    assert "/nothing/" not in text


@pytest.mark.parametrize("hostile", [b"x" * 129, b"a\x01b", b"a\x7fb", b"tab\there", b"a b",
                                     b"caf\xc3\xa9", b""])
async def test_a_hostile_request_id_is_replaced(lines: io.StringIO, hostile: bytes) -> None:
    quart = _app()
    status, headers = await _call(AccessLog(quart), "/work/x", hostile)
    assert status == 200
    made = headers[b"x-request-id"]
    assert made != hostile and len(made) == 32 and made.isalnum()
    assert hostile.decode("latin-1") not in lines.getvalue() or not hostile


def test_a_sane_request_id_is_kept() -> None:
    longest = "A-z_0.9:~" * 14
    assert request_log.request_id_from(longest[:request_log.MAX_LENGTH].encode()) \
        == longest[:request_log.MAX_LENGTH]
