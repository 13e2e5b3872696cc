"""The command line with no daemon at all: errors are one sentence with their own exit
code, and the help names defaults and exit codes, never an internal file."""

from __future__ import annotations

import re
from pathlib import Path

from colony_actor.cli.exits import CODES, Exit
from tests.cli.support import cli, environment, free_port, one_sentence

README = Path(__file__).resolve().parents[2] / "README.md"


def test_no_daemon_is_one_sentence_and_exit_3(tmp_path: Path) -> None:
    url = f"http://127.0.0.1:{free_port()}"
    env = environment(tmp_path, COLONY_ACTOR_PASSWORD="pw")
    for args in (["jobs"], ["run", "upload"], ["pods", "list"], ["cancel", "abc"]):
        done = cli(env, *args, "--url", url)
        assert done.code == Exit.UNREACHABLE, done
        assert f"No daemon answers at {url}" in one_sentence(done.err)
        assert done.out == ""


def test_no_daemon_and_no_password_says_no_daemon(tmp_path: Path) -> None:
    env = environment(tmp_path, COLONY_ACTOR_URL=f"http://127.0.0.1:{free_port()}")
    done = cli(env, "jobs")
    assert done.code == Exit.UNREACHABLE
    assert "No daemon answers at http://127.0.0.1:" in one_sentence(done.err)


def test_url_without_scheme_is_a_usage_error(tmp_path: Path) -> None:
    env = environment(tmp_path, COLONY_ACTOR_PASSWORD="pw")
    for url in ("localhost:3000", "ftp://localhost:3000", "http://"):
        done = cli(env, "jobs", "--url", url)
        assert done.code == Exit.USAGE, done
        assert "is not a daemon URL; give it as http://HOST:PORT" in one_sentence(done.err)
    done = cli(environment(tmp_path, COLONY_ACTOR_PASSWORD="pw",
                           COLONY_ACTOR_URL="localhost:3000"), "jobs")
    assert done.code == Exit.USAGE and "'localhost:3000'" in one_sentence(done.err)


def test_unexpected_words_and_bad_values_are_usage_errors(tmp_path: Path) -> None:
    env = environment(tmp_path, COLONY_ACTOR_PASSWORD="pw")
    for args in (["run", "upload", "extra"], ["jobs", "extra"], ["cancel", "a", "b"],
                 ["jobs", "--limit", "0"], ["jobs", "--status", "done"],
                 ["run", "refresh-ref", "-1"], ["run", "search"],
                 ["run", "search", "abbey", "--browse"], ["run", "search", "--limit", "5000",
                                                          "x"],
                 ["pods", "rename", "only-one"], ["frobnicate"]):
        done = cli(env, *args)
        assert done.code == Exit.USAGE, (args, done)
        assert "colony-actor" in one_sentence(done.err), args


def test_help_shows_defaults_and_exit_codes_and_no_internal_file(tmp_path: Path) -> None:
    env = environment(tmp_path)
    helps = {}
    for args in ([], ["run"], ["run", "search"], ["run", "refresh-ref"], ["jobs"],
                 ["follow"], ["cancel"], ["result"], ["pods"], ["pods", "put"], ["serve"]):
        done = cli(env, *args, "--help")
        assert done.code == 0, (args, done)
        assert not re.search(r"\b\w+\.py\b", done.out), (args, done.out)
        helps[" ".join(args)] = done.out
    assert "http://127.0.0.1:3000" in helps["jobs"] and "COLONY_ACTOR_URL" in helps["jobs"]
    assert "default: 20" in helps["jobs"]
    assert "default: 3000" in helps["serve"]
    for code in CODES:
        assert re.search(rf"^\s*{int(code)}\s", helps[""], re.MULTILINE), code
    env_url = environment(tmp_path, COLONY_ACTOR_URL="http://127.0.0.1:4123")
    assert "now http://127.0.0.1:4123" in cli(env_url, "jobs", "--help").out


def test_readme_documents_every_exit_code() -> None:
    readme = README.read_text(encoding="utf-8")
    for code, meaning in CODES.items():
        assert f"| {int(code)} | {meaning} |" in readme, code
