"""The real daemon on a real socket: a private data directory at every start, a password
too short refused at the start, and a foreign Host or Origin refused."""

from __future__ import annotations

import os
import stat
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import httpx

from colony_actor.daemon.main import EXIT_CODES
from colony_actor.service.startup import Failure
from tests.e2e.daemon import Daemon


def _modes(data_dir: Path, skip: Path) -> dict[Path, int]:
    found = {}
    for root, folders, files in os.walk(data_dir):
        folders[:] = [name for name in folders if Path(root, name) != skip]
        for name in folders + files:
            path = Path(root, name)
            if not path.is_symlink():
                found[path] = stat.S_IMODE(path.stat().st_mode)
    return found


def test_the_data_directory_is_private_at_every_start(tmp_path: Path,
                                                      daemons: Callable[..., Daemon]) -> None:
    data = tmp_path / "a"
    data.mkdir(mode=0o755)
    data.chmod(0o755)
    stray = data / "left by an older version"
    stray.write_text("x")
    stray.chmod(0o644)
    daemon = daemons("a", network="a/network")
    assert stat.S_IMODE(data.stat().st_mode) == 0o700
    modes = _modes(data, data / "network")
    assert modes[stray] == 0o600
    assert (data / "jobs.sqlite3") in modes and (data / "password") not in modes
    wrong = {path: oct(mode) for path, mode in modes.items()
             if mode != (0o700 if path.is_dir() else 0o600)}
    assert not wrong
    with httpx.Client(base_url=daemon.url, timeout=10) as client:
        rebound = client.get("/health", headers={"Host": "evil.example:3000"})
        assert rebound.status_code == 421
        assert rebound.json()["error"] == "FORBIDDEN_HOST"
        cross_site = client.post("/auth/token", content=b'{"password": "x"}',
                                 headers={"Origin": "http://evil.example",
                                          "Content-Type": "text/plain"})
        assert cross_site.status_code == 403
        assert cross_site.json()["error"] == "FORBIDDEN_ORIGIN"


def test_a_short_password_stops_the_start(tmp_path: Path) -> None:
    env = {key: value for key, value in os.environ.items()
           if not key.startswith("COLONY_ACTOR_")}
    started = subprocess.run(
        [sys.executable, "-m", "colony_actor", "serve", "--port", "0",
         "--data-dir", str(tmp_path / "data"), "--network-dir", str(tmp_path / "net")],
        env={**env, "COLONY_ACTOR_PASSWORD": "1234567"},
        capture_output=True, text=True, timeout=60)
    assert started.returncode == EXIT_CODES[Failure.IDENTITY]
    assert "at least 8" in started.stderr and "COLONY_ACTOR_PASSWORD" in started.stderr
    assert "1234567" not in started.stderr + started.stdout
