"""The command line on a terminal (a pseudo-terminal): with no password from a flag, a
variable or a file it asks for one, and it shows the live progress bar while it follows a
job. Through the real entry point against a real daemon."""

from __future__ import annotations

import fcntl
import os
import pty
import select
import struct
import subprocess
import termios
import time
from pathlib import Path

from tests.cli.support import command, environment
from tests.e2e.daemon import Daemon
from tests.support import PASSWORD


def _controlling_terminal() -> None:
    os.setsid()
    fcntl.ioctl(0, termios.TIOCSCTTY, 0)


def _on_terminal(env: dict[str, str], *args: str, answer: str, timeout: float = 60
                 ) -> tuple[int, str]:
    """Run the command on a new 100x30 terminal; type `answer` at the password prompt.
    Its exit code and everything it showed."""
    controller, terminal = pty.openpty()
    fcntl.ioctl(terminal, termios.TIOCSWINSZ, struct.pack("HHHH", 30, 100, 0, 0))
    process = subprocess.Popen(command(*args), env=env, stdin=terminal, stdout=terminal,
                               stderr=terminal, preexec_fn=_controlling_terminal)
    os.close(terminal)
    shown = b""
    answered = False
    deadline = time.monotonic() + timeout
    try:
        while time.monotonic() < deadline:
            ready, _, _ = select.select([controller], [], [], 0.1)
            if ready:
                try:
                    chunk = os.read(controller, 65536)
                except OSError:  # the terminal closed: the command has exited
                    break
                if not chunk:
                    break
                shown += chunk
            if not answered and b"Password for the daemon at " in shown:
                os.write(controller, answer.encode() + b"\n")
                answered = True
            if process.poll() is not None and not ready:
                break
        return process.wait(timeout=10), shown.decode(errors="replace")
    finally:
        os.close(controller)
        if process.poll() is None:
            process.kill()


def test_asks_for_the_password_and_shows_the_bar(daemon: Daemon, tmp_path: Path) -> None:
    env = environment(tmp_path, COLONY_ACTOR_URL=daemon.url, TERM="xterm-256color")
    code, shown = _on_terminal(env, "run", "refresh", answer=PASSWORD)
    assert code == 0, shown
    assert f"Password for the daemon at {daemon.url}: " in shown
    assert PASSWORD not in shown  # not echoed
    assert "━" in shown and "%" in shown, shown  # the bar was drawn
    assert "Cache refreshed successfully." in shown

    code, shown = _on_terminal(env, "jobs", answer="wrong password")
    assert code == 4, shown
    assert f"The daemon at {daemon.url} refused the password from the prompt." in shown
    assert "Traceback" not in shown
