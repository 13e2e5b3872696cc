"""Start-up that explains itself, on the real `serve` command: every failure to start is
one sentence on stderr and one `startup_failed` log line, with its own exit code and no
traceback; damaged or missing data the daemon can live without is a warning."""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.e2e.daemon import Daemon, wait_terminal
from tests.support import MNEMONIC, PASSWORD

PAGE = 4096


@pytest.fixture(scope="module")
def template(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """A data directory that holds two pods and a finished job, stopped gracefully."""
    root = tmp_path_factory.mktemp("template")
    daemon = Daemon(root / "data", root / "network").start()
    try:
        with daemon.client() as client:
            for name in ("Jazz", "Blues"):
                assert client.post("/api/v1/pods", json={"name": name}).status_code == 201
            job = client.post("/api/v1/jobs/cache/refresh").json()["job_id"]
            assert wait_terminal(client, job)["status"] == "completed"
    finally:
        daemon.signal(signal.SIGTERM)
        assert daemon.wait() == 0
    yield root / "data"


@pytest.fixture
def data(template: Path, tmp_path: Path) -> Path:
    """A copy of the template's data directory for one test to damage."""
    copy = tmp_path / "data"
    shutil.copytree(template, copy)
    (copy / "daemon.lock").unlink(missing_ok=True)
    return copy


def serve(data_dir: Path, *args: str, env: dict[str, str] | None = None,
          password: str | None = PASSWORD) -> subprocess.CompletedProcess[str]:
    environ = {k: v for k, v in os.environ.items() if not k.startswith("COLONY_ACTOR_")}
    environ["COLONY_ACTOR_MNEMONIC"] = MNEMONIC
    if password is not None:
        environ["COLONY_ACTOR_PASSWORD"] = password
    return subprocess.run(
        [sys.executable, "-m", "colony_actor", "serve", "--listen", "127.0.0.1",
         "--data-dir", str(data_dir), "--network-dir", str(data_dir.parent / "network"),
         *(args if "--port" in args else ("--port", "0", *args))],
        env={**environ, **(env or {})}, capture_output=True, text=True, timeout=60)


def explained(result: subprocess.CompletedProcess[str], code: int, *fragments: str) -> str:
    """The one sentence a refused start printed, checked: its exit code, no traceback, one
    `startup_failed` log line of that code."""
    assert result.returncode == code, (result.returncode, result.stderr)
    assert "Traceback" not in result.stderr, result.stderr
    events, sentences = [], []
    for line in result.stderr.splitlines():
        try:
            events.append(json.loads(line))
        except json.JSONDecodeError:
            sentences.append(line)
    assert len(sentences) == 1 and sentences[0].startswith("colony-actor: "), result.stderr
    failed = [e for e in events if e.get("event") == "startup_failed"]
    assert len(failed) == 1 and failed[0]["exit_code"] == code, events
    assert not any("exception" in e for e in events), events
    for fragment in fragments:
        assert fragment in sentences[0], (fragment, sentences[0])
    return sentences[0]


def events_of(daemon: Daemon, name: str) -> list[dict[str, Any]]:
    return [e for e in daemon.events() if e.get("event") == name]


def events_soon(daemon: Daemon, name: str, seconds: float = 10.0) -> list[dict[str, Any]]:
    """The events `name` logged once the daemon listens (a start's checks that read the
    data run then)."""
    deadline = time.monotonic() + seconds
    while not (found := events_of(daemon, name)) and time.monotonic() < deadline:
        time.sleep(0.05)
    return found


# ---------------------------------------------------------------------- refused, with a code


def test_a_config_file_that_is_not_utf8(tmp_path: Path) -> None:
    config = tmp_path / "colony.toml"
    config.write_bytes(b"[server]\nport = 0\n# caf\xe9\n")
    result = serve(tmp_path / "data", "--config", str(config))
    explained(result, 2, str(config), "not UTF-8")


def test_a_password_file_that_is_not_utf8(tmp_path: Path) -> None:
    secret = tmp_path / "password"
    secret.write_bytes(b"pass\xe9\xffword\n")
    result = serve(tmp_path / "data", "--password-file", str(secret), password=None)
    sentence = explained(result, 3, str(secret), "not UTF-8")
    assert "xe9" not in result.stderr and "xff" not in result.stderr, sentence


def test_a_bit_flip_in_the_key_store(data: Path) -> None:
    keystore = data / "keystore.json"
    envelope = json.loads(keystore.read_bytes())
    text = envelope["ciphertext"]
    envelope["ciphertext"] = ("B" if text[10] == "A" else "A").join([text[:10], text[11:]])
    keystore.write_text(json.dumps(envelope))
    explained(serve(data), 3, "Wrong password or damaged key store", str(keystore))


def test_a_missing_key_store_refuses_a_new_identity_unless_asked(data: Path) -> None:
    (data / "keystore.json").unlink()
    sentence = explained(serve(data), 3, "keystore.json is missing", "--new-identity",
                         "2 pods")
    assert not (data / "keystore.json").exists(), sentence
    daemon = Daemon(data, data.parent / "network", args=["--new-identity"]).start()
    try:
        assert events_of(daemon, "new_identity")
        assert (data / "keystore.json").exists()
    finally:
        daemon.stop()


@pytest.mark.parametrize("damage", ["CURRENT", "sst"])
def test_a_damaged_store(data: Path, damage: str) -> None:
    store = data / "store"
    if damage == "CURRENT":
        (store / "CURRENT").write_bytes(b"\xffnot a manifest name\n")
    else:
        table = max(store.glob("*.sst"), key=lambda p: p.stat().st_size)
        raw = bytearray(table.read_bytes())
        raw[-10] ^= 0xFF  # the table's footer
        table.write_bytes(bytes(raw))
    explained(serve(data), 6, "is damaged", str(store))


def test_a_port_already_taken(data: Path) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        explained(serve(data, "--port", str(port)), 5, f"127.0.0.1:{port}", "already in use")


def test_a_second_daemon_on_the_same_data_directory(data: Path) -> None:
    first = Daemon(data, data.parent / "network").start()
    try:
        assert first.process is not None
        explained(serve(data), 4, "in use by another colony-actor daemon",
                  f"pid {first.process.pid}")
        with first.client() as client:
            assert client.get("/health").status_code == 200
    finally:
        first.stop()


def test_a_data_directory_that_cannot_be_made(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("not a directory")
    explained(serve(blocker / "data"), 7, str(blocker / "data"))


# ---------------------------------------------------------------------- started, with a warning


def test_a_journal_damaged_in_the_middle_is_set_aside(data: Path) -> None:
    journal = data / "jobs.sqlite3"
    pages = journal.stat().st_size // PAGE
    assert pages >= 3
    with journal.open("r+b") as handle:
        handle.seek(pages // 2 * PAGE)
        handle.write(b"\xa5" * PAGE)
    daemon = Daemon(data, data.parent / "network").start()
    try:
        (warning,) = events_of(daemon, "journal_set_aside")
        aside = Path(warning["moved_to"])
        assert aside.parent == data and aside.name.startswith("jobs.sqlite3.damaged-")
        assert events_soon(daemon, "inventory_checked")
        assert not events_of(daemon, "journal_empty")
        with daemon.client() as client:
            assert client.get("/api/v1/jobs").json()["jobs"] == []
            assert client.post("/api/v1/jobs/cache/refresh").status_code == 202
    finally:
        daemon.stop()


def test_an_emptied_journal_and_a_deleted_store_are_warned_of(data: Path) -> None:
    (data / "jobs.sqlite3").write_bytes(b"")
    for companion in ("jobs.sqlite3-wal", "jobs.sqlite3-shm"):
        (data / companion).unlink(missing_ok=True)
    shutil.rmtree(data / "store")
    daemon = Daemon(data, data.parent / "network").start()
    try:
        (journal,) = events_soon(daemon, "journal_empty")
        assert journal["jobs_before"] == 1 and journal["path"] == str(data / "jobs.sqlite3")
        (store,) = events_soon(daemon, "store_empty")
        assert store["pods_before"] == 2 and store["path"] == str(data / "store")
    finally:
        daemon.stop()
