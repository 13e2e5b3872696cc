"""The README's curl blocks, run as written in bash against a real daemon whose network is
slowed: each job is waited for, so nothing meets 409 or 202, however slow the jobs."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

from tests.cli.support import environment
from tests.e2e.daemon import Daemon
from tests.support import PASSWORD

README = Path(__file__).resolve().parents[2] / "README.md"


def curl_blocks() -> str:
    text = README.read_text(encoding="utf-8")
    section = text[text.index("## Using it with curl"):text.index("## The command line")]
    return "\n".join(re.findall(r"```bash\n(.*?)```", section, re.DOTALL))


def test_the_readme_curl_sequence_waits_for_each_job(tmp_path: Path) -> None:
    daemon = Daemon(tmp_path / "data", tmp_path / "network",
                    env={"COLONY_ACTOR_NETWORK_LATENCY_MS": "200"}).start()
    try:
        home = tmp_path / "home"
        home.mkdir()
        (home / "password").write_text(PASSWORD + "\n")
        env = environment(tmp_path, COLONY_ACTOR_URL=daemon.url,
                          COLONY_ACTOR_STORAGE_DATA_DIR=str(home))
        done = subprocess.run(["bash", "-eu", "-c", curl_blocks()], env=env, cwd=tmp_path,
                              capture_output=True, text=True, timeout=120)
    finally:
        daemon.stop()
    output = done.stdout + done.stderr
    assert done.returncode == 0, output
    for expected in ('"message":"Cache refreshed successfully"',
                     '"message":"All pods uploaded successfully"',
                     '"message":"All pods refreshed successfully"',
                     '"status":"completed","result":{"sparql_results"',
                     "Abbey Road"):
        assert expected in output, (expected, output)
    for refused in ("JOB_CREATION_FAILED", "JOB_NOT_COMPLETED", "UNAUTHORIZED", '"error":"'):
        assert refused not in output, (refused, output)
