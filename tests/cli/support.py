"""Running the real command line (`python -m colony_actor`) as a subprocess, as a user
would, with an environment that names no real data directory."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any


@dataclass
class Outcome:
    code: int
    out: str
    err: str


def environment(home: Path, **extra: str) -> dict[str, str]:
    env = {key: value for key, value in os.environ.items()
           if not key.startswith("COLONY_ACTOR_")}
    # No real install's data directory, password file or terminal width leaks in.
    env.update({"COLONY_ACTOR_STORAGE_DATA_DIR": str(home / "no-data"), "COLUMNS": "80",
                "TERM": "dumb"})
    env.update(extra)
    return env


def command(*args: str) -> list[str]:
    return [sys.executable, "-m", "colony_actor", *args]


def cli(env: dict[str, str], *args: str, stdin: str | None = None,
        timeout: float = 60, **kwargs: Any) -> Outcome:
    done = subprocess.run(command(*args), env=env, input=stdin if stdin is not None else "",
                          capture_output=True, text=True, timeout=timeout, **kwargs)
    return Outcome(done.returncode, done.stdout, done.stderr)


def ok(done: Outcome) -> Outcome:
    """A command that succeeded, without a word of traceback."""
    assert done.code == 0, done
    assert "Traceback" not in done.err, done.err
    return done


def one_sentence(err: str) -> str:
    """The one line an error printed; fails the test for a traceback or several lines."""
    assert "Traceback" not in err, err
    lines = [line for line in err.splitlines() if line.strip()]
    assert len(lines) == 1, err
    return lines[0]


def free_port() -> int:
    """A port nothing listens on (bound and released, so it is free for a moment)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])
