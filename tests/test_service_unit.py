"""The shipped systemd user unit, config/colony-actor.service: it runs `colony-actor serve`
from where `make install` links it, and systemd reads every line of it without a complaint.
These tests only read the unit; they must never start a service or touch the user's
systemd directory."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
UNIT = REPO / "config" / "colony-actor.service"


def test_the_unit_runs_serve_from_where_make_install_links_it() -> None:
    # `make install` rewrites exactly this path when PREFIX is not ~/.local.
    exec_start = [line for line in UNIT.read_text().splitlines()
                  if line.startswith("ExecStart=")]
    assert exec_start == ["ExecStart=%h/.local/bin/colony-actor serve"]


@pytest.mark.skipif(shutil.which("systemd-analyze") is None,
                    reason="systemd-analyze is not installed")
def test_systemd_reads_the_unit_without_a_warning(tmp_path: Path) -> None:
    # verify checks that ExecStart's program exists: a home of our own with a stand-in.
    home = tmp_path / "home"
    program = home / ".local" / "bin" / "colony-actor"
    program.parent.mkdir(parents=True)
    program.write_text("#!/bin/sh\n")
    program.chmod(0o755)
    runtime = tmp_path / "run"
    runtime.mkdir(mode=0o700)
    unit = tmp_path / UNIT.name
    shutil.copy(UNIT, unit)
    env = {**os.environ, "HOME": str(home), "XDG_RUNTIME_DIR": str(runtime),
           "XDG_CONFIG_HOME": str(home / ".config")}

    done = subprocess.run(["systemd-analyze", "verify", "--user", str(unit)], env=env,
                          capture_output=True, text=True, timeout=60, check=False)

    assert done.returncode == 0, done.stderr
    # An unknown key, a misspelt value or a system call group systemd does not know is
    # only a warning on stderr: none is allowed.
    assert done.stderr == ""
    assert done.stdout == ""
