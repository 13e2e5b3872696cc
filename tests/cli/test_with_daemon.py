"""The command line against a real daemon: pods, every search form as tables and JSON,
jobs with ids that paste, prefixes, and each error kind as one sentence and its code."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from colony_actor.cli.exits import Exit
from tests.cli.support import cli, environment, ok, one_sentence
from tests.e2e.daemon import Daemon, wait_terminal
from tests.support import PASSWORD

SUBJECT = "c0ffee" + "0" * 58
DOC = {"@context": {"schema": "http://schema.org/"}, "@type": "schema:MediaObject",
       "schema:name": "Kind of Blue", "schema:description": "Miles Davis, 1959"}


@pytest.fixture(scope="module")
def env(daemon: Daemon, tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    return environment(tmp_path_factory.mktemp("home"), COLONY_ACTOR_URL=daemon.url,
                       COLONY_ACTOR_PASSWORD=PASSWORD)


def test_pod_commands(env: dict[str, str]) -> None:
    created = ok(cli(env, "pods", "add", "Jazz records", "--json"))
    address = json.loads(created.out)["address"]
    other = ok(cli(env, "pods", "add", "Other"))
    assert other.out.startswith("Created pod 'Other' at ")
    other_address = other.out.split(" at ")[1].strip().rstrip(".")
    listed = ok(cli(env, "pods", "list")).out
    assert address in listed and "Jazz records" in listed
    assert "Other" in [p["name"] for p in json.loads(ok(cli(env, "pods", "list", "--json")).out)]
    stored = ok(cli(env, "pods", "put", "Jazz records", SUBJECT, "-", stdin=json.dumps(DOC)))
    assert stored.out == f"Stored the data of {SUBJECT} in pod Jazz records.\n"
    ok(cli(env, "pods", "add-ref", address, other_address))
    ok(cli(env, "pods", "remove-ref", address, other_address))
    renamed = ok(cli(env, "pods", "rename", "Other", "Another"))
    assert renamed.out == f"Renamed pod {other_address} to 'Another'.\n"
    assert ok(cli(env, "pods", "remove", "Another")).out == "Removed pod Another.\n"
    missing = cli(env, "pods", "remove", "Another")
    assert missing.code == Exit.NOT_FOUND and one_sentence(missing.err)
    bad = cli(env, "pods", "put", address, SUBJECT, "-", stdin="[1, 2]")
    assert bad.code == Exit.REFUSED and one_sentence(bad.err)
    not_json = cli(env, "pods", "put", address, SUBJECT, "-", stdin="{nope")
    assert not_json.code == Exit.USAGE
    assert "standard input is not JSON" in one_sentence(not_json.err)


def test_every_search_form_prints_a_table_or_json(env: dict[str, str]) -> None:
    ok(cli(env, "pods", "put", "Jazz records", SUBJECT, "-", stdin=json.dumps(DOC)))
    text = ok(cli(env, "run", "search", "kind", "blue")).out
    assert "Kind of Blue" in text and "SUBJECT" in text and "sparql_results" not in text
    assert "in 1 pod." in text
    as_json = json.loads(ok(cli(env, "run", "search", "kind of blue", "--json")).out)
    assert as_json["result_count"] >= 1 and "sparql_results" in as_json
    forms = {"--type": "http://schema.org/MediaObject",
             "--predicate": "http://schema.org/name",
             "--sparql": "SELECT ?s WHERE { GRAPH ?g "
                         '{ ?s <http://schema.org/name> "Kind of Blue" } }'}
    for flag, value in forms.items():
        shown = ok(cli(env, "run", "search", flag, value, "--limit", "5")).out
        assert f"ant://{SUBJECT}" in shown, (flag, shown)
    assert "Kind of Blue" in ok(cli(env, "run", "search", "--browse")).out
    subject = ok(cli(env, "run", "subject", SUBJECT)).out
    assert "PREDICATE" in subject and "Miles Davis, 1959" in subject
    refused = cli(env, "run", "search", "--type", "not an IRI")
    assert refused.code == Exit.REFUSED and one_sentence(refused.err)
    failed = cli(env, "run", "search", "--sparql", "DELETE WHERE { ?s ?p ?o }")
    assert failed.code in {Exit.REFUSED, Exit.JOB_FAILED}, failed
    assert "read-only" in one_sentence(failed.err)


def test_jobs_print_whole_ids_and_take_prefixes(env: dict[str, str], daemon: Daemon) -> None:
    ids = [ok(cli(env, "run", "search", "blue", "--detach")).out.strip()]
    ok(cli(env, "follow", ids[-1], "--json"))
    # Enough jobs that two share a first character (16 hex digits: at most 17 jobs).
    with daemon.client() as client:
        while len({i[0] for i in ids}) == len(ids):
            ids.append(client.post("/api/v1/jobs/search", params={"q": "blue"}).json()["job_id"])
            wait_terminal(client, ids[-1])
    table = ok(cli(env, "jobs", "--limit", "100")).out
    for job_id in ids:
        assert job_id in table, table
    listed = json.loads(ok(cli(env, "jobs", "--json", "--limit", "2")).out)
    assert [job["id"] for job in listed] == ids[::-1][:2]
    completed = json.loads(ok(cli(env, "jobs", "--json", "--status", "completed")).out)
    assert completed and {job["status"] for job in completed} == {"completed"}
    shown = ok(cli(env, "result", ids[-1][:8])).out
    assert "Kind of Blue" in shown
    shared = ids[-1][0]
    ambiguous = cli(env, "result", shared)
    assert ambiguous.code == Exit.AMBIGUOUS
    assert f"The job id prefix '{shared}' matches" in one_sentence(ambiguous.err)
    unknown = cli(env, "follow", "zzz")
    assert unknown.code == Exit.NOT_FOUND
    assert one_sentence(unknown.err) == "No job id starts with 'zzz'."
    gone = cli(env, "result", "00000000-0000-4000-8000-000000000000")
    assert gone.code == Exit.NOT_FOUND and "not found" in one_sentence(gone.err)
    finished = cli(env, "cancel", ids[0][:10])
    assert finished.code == Exit.CONFLICT and one_sentence(finished.err)


def test_wrong_password_is_one_sentence(env: dict[str, str], tmp_path: Path) -> None:
    wrong = tmp_path / "password"
    wrong.write_text("not the password\n")
    done = cli(env, "jobs", "--password-file", str(wrong))
    assert done.code == Exit.AUTH
    assert one_sentence(done.err) == (f"The daemon at {env['COLONY_ACTOR_URL']} refused the "
                                      f"password from the file {wrong}.")


def test_a_closed_pipe_is_quiet_and_not_unreachable(env: dict[str, str],
                                                     daemon: Daemon) -> None:
    # `true` exits before the command writes: every write meets a closed pipe.
    done = subprocess.run(
        '"$PYTHON" -m colony_actor run search blue | true; echo "${PIPESTATUS[0]}"',
        shell=True, executable="/bin/bash", capture_output=True, text=True, timeout=60,
        env={**env, "PYTHON": sys.executable})
    assert done.stdout.strip() == str(int(Exit.BROKEN_PIPE)), done
    assert done.stderr == ""
    with daemon.client() as client:
        last = client.get("/api/v1/jobs", params={"limit": 1}).json()["jobs"][0]
        assert wait_terminal(client, last["id"])["status"] == "completed"
