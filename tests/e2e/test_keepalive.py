"""A keep-alive connection after an early answer (401, 404, 405 sent before the request's
body was read) stays usable, against the real daemon on a real socket.

The window: the daemon answers from the headers alone, the body arrives after the answer
went out, and the next request follows on the same connection. Each case below opens that
window on purpose (the raw-socket cases) or many times in a row (the httpx client, which
sends a request's headers and body in two writes).
"""

from __future__ import annotations

import contextlib
import json
import socket
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.e2e.daemon import Daemon
from tests.support import PASSWORD

# Long enough for a loaded machine; a connection that hangs fails the test after it.
ANSWER_SECONDS = 10.0
LOGIN = json.dumps({"password": PASSWORD}).encode()
EARLY = [("POST", "/api/v1/jobs/search", 401), ("POST", "/nowhere", 404),
         ("PUT", "/health", 405)]
MAX_BODY = 4096


@pytest.fixture(scope="module")
def daemon(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Daemon]:
    root: Path = tmp_path_factory.mktemp("keepalive")
    started = Daemon(root / "data", root / "network",
                     env={"COLONY_ACTOR_SERVER_MAX_BODY_BYTES": str(MAX_BODY)}).start()
    yield started
    started.stop()


def _head(daemon: Daemon, method: str, path: str, length: int | None,
          extra: str = "") -> bytes:
    framing = f"Content-Length: {length}\r\n" if length is not None else extra
    host = daemon.url.removeprefix("http://")
    return (f"{method} {path} HTTP/1.1\r\nHost: {host}\r\nContent-Type: application/json\r\n"
            f"{framing}\r\n").encode()


def _read_response(sock: socket.socket) -> tuple[int, dict[str, str]]:
    """The status and headers of one response, its body read to its Content-Length."""
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = sock.recv(65536)
        assert chunk, f"the connection closed before an answer: {data!r}"
        data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    headers = {}
    for line in lines[1:]:
        name, _, value = line.partition(":")
        headers[name.strip().lower()] = value.strip()
    length = int(headers.get("content-length", "0"))
    while len(body) < length:
        chunk = sock.recv(65536)
        assert chunk, "the connection closed in the middle of an answer"
        body += chunk
    return int(lines[0].split()[1]), headers


def _port(daemon: Daemon) -> int:
    return int(daemon.url.rsplit(":", 1)[1])


@pytest.mark.parametrize(("method", "path", "status"), EARLY)
def test_the_body_after_an_early_answer_then_a_second_request(
        daemon: Daemon, method: str, path: str, status: int) -> None:
    with socket.create_connection(("127.0.0.1", _port(daemon))) as sock:
        sock.settimeout(ANSWER_SECONDS)
        sock.sendall(_head(daemon, method, path, len(LOGIN)))
        assert _read_response(sock)[0] == status
        # Let the daemon finish with the first request before its body arrives.
        time.sleep(0.1)
        sock.sendall(LOGIN + _head(daemon, "POST", "/auth/token", len(LOGIN)) + LOGIN)
        answer, _ = _read_response(sock)
        assert answer == 200


def test_a_keepalive_client_always_gets_an_answer(daemon: Daemon) -> None:
    body = {"type": "text", "text": "x" * 200}
    with httpx.Client(base_url=daemon.url, timeout=ANSWER_SECONDS) as client:
        for _ in range(15):
            for method, path, status in EARLY:
                assert client.request(method, path, json=body).status_code == status
                login = client.post("/auth/token", json={"password": PASSWORD})
                assert login.status_code == 200


def test_a_body_too_large_to_drain_closes_the_connection(daemon: Daemon) -> None:
    for framing in (_head(daemon, "POST", "/api/v1/jobs/search", MAX_BODY + 1),
                    _head(daemon, "POST", "/api/v1/jobs/search", None,
                          "Transfer-Encoding: chunked\r\n")):
        with socket.create_connection(("127.0.0.1", _port(daemon))) as sock:
            sock.settimeout(ANSWER_SECONDS)
            sock.sendall(framing)
            status, headers = _read_response(sock)
            assert status == 401
            assert headers.get("connection") == "close"
            # Closed with the body unread, the end may come as a reset: as good as an end.
            with contextlib.suppress(ConnectionResetError):
                assert sock.recv(1) == b""
