"""The password lookup, one order for the daemon and the command line: the flag's file,
then COLONY_ACTOR_PASSWORD, then `<data-dir>/password`."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest

from colony_actor import locations
from colony_actor.service import config, identity, startup


def test_the_flag_wins_then_the_environment_then_the_data_directory(tmp_path: Path) -> None:
    flagged = tmp_path / "flagged"
    flagged.write_text("from the flag\n")
    locations.password_file(tmp_path).write_text("from the data directory\n")
    env = {locations.PASSWORD_ENV: "from the environment"}
    assert locations.find_password(flagged, env, tmp_path) == "from the flag"
    assert locations.find_password(None, env, tmp_path) == "from the environment"
    assert locations.find_password(None, {}, tmp_path) == "from the data directory"
    # The daemon looks in the same order.
    assert identity.resolve_password(tmp_path, flagged, env) == "from the flag"
    assert identity.resolve_password(tmp_path, None, env) == "from the environment"
    assert identity.resolve_password(tmp_path, None, {}) == "from the data directory"


def test_nothing_found_and_unusable_files(tmp_path: Path) -> None:
    assert locations.find_password(None, {locations.PASSWORD_ENV: ""}, tmp_path) is None
    with pytest.raises(locations.PasswordError, match="Cannot read"):
        locations.find_password(tmp_path / "missing", {}, tmp_path)
    empty = tmp_path / "empty"
    empty.write_text("\n")
    with pytest.raises(identity.IdentityError, match="is empty"):
        identity.resolve_password(tmp_path, empty, {})


def test_the_first_run_generates_a_private_password_file(tmp_path: Path) -> None:
    password = identity.resolve_password(tmp_path, None, {})
    generated = locations.password_file(tmp_path)
    assert generated.read_text() == password + "\n"
    assert stat.S_IMODE(generated.stat().st_mode) == 0o600
    assert identity.resolve_password(tmp_path, None, {}) == password


def test_the_data_directory_follows_its_setting() -> None:
    assert config.env_variables()["storage.data_dir"] == locations.DATA_DIR_ENV
    assert locations.data_dir(None, {locations.DATA_DIR_ENV: "~/x"}) == Path("~/x").expanduser()
    assert locations.data_dir("/flag", {locations.DATA_DIR_ENV: "/env"}) == Path("/flag")
    assert locations.data_dir(None, {}) == config.load(env={}).data_dir


@pytest.mark.parametrize("source", ["flag", "environment", "data directory"])
def test_a_short_password_is_refused_and_says_where_it_came_from(tmp_path: Path,
                                                                 source: str) -> None:
    short = "x" * (identity.MIN_PASSWORD_LENGTH - 1)
    flagged = tmp_path / "flagged"
    flagged.write_text(short + "\n")
    locations.password_file(tmp_path).write_text(short + "\n")
    flag, env, named = {
        "flag": (flagged, {}, str(flagged)),
        "environment": (None, {locations.PASSWORD_ENV: short}, locations.PASSWORD_ENV),
        "data directory": (None, {}, str(locations.password_file(tmp_path))),
    }[source]
    with pytest.raises(identity.IdentityError,
                       match=f"at least {identity.MIN_PASSWORD_LENGTH}") as caught:
        identity.resolve_password(tmp_path, flag, env)
    assert named in str(caught.value) and short not in str(caught.value)
    long_enough = "y" * identity.MIN_PASSWORD_LENGTH
    assert identity.resolve_password(tmp_path, None, {locations.PASSWORD_ENV: long_enough}
                                     ) == long_enough


def test_a_generated_password_is_longer_than_the_minimum(tmp_path: Path) -> None:
    assert len(identity.resolve_password(tmp_path, None, {})) > 2 * identity.MIN_PASSWORD_LENGTH


def test_an_existing_data_directory_is_made_private(tmp_path: Path) -> None:
    data = tmp_path / "data"
    (data / "store").mkdir(parents=True)
    (data / "network" / "pods").mkdir(parents=True)
    outside = tmp_path / "outside"
    outside.write_text("not ours")
    for path, mode in ((data, 0o755), (data / "store", 0o775), (data / "network", 0o755),
                       (data / "network" / "pods", 0o755)):
        path.chmod(mode)
    for path in (data / "jobs.sqlite3", data / "store" / "000001.sst",
                 data / "network" / "pods" / "record"):
        path.write_text("x")
        path.chmod(0o644)
    outside.chmod(0o644)
    (data / "link").symlink_to(outside)
    identity.make_private(data, data / "network")
    mode = {path: stat.S_IMODE(path.stat().st_mode) for path in (
        data, data / "store", data / "jobs.sqlite3", data / "store" / "000001.sst",
        data / "network", data / "network" / "pods" / "record", outside)}
    assert mode[data] == mode[data / "store"] == 0o700
    assert mode[data / "jobs.sqlite3"] == mode[data / "store" / "000001.sst"] == 0o600
    # The network directory is shared with other daemons; a link is never followed.
    assert mode[data / "network"] == 0o755 and mode[data / "network" / "pods" / "record"] == 0o644
    assert mode[outside] == 0o644


def test_a_new_identity_is_asked_by_the_flag_or_the_variable() -> None:
    assert identity.new_identity_asked(True, {})
    assert identity.new_identity_asked(False, {identity.NEW_IDENTITY_ENV: "1"})
    assert identity.new_identity_asked(False, {identity.NEW_IDENTITY_ENV: " Yes "})
    assert not identity.new_identity_asked(False, {identity.NEW_IDENTITY_ENV: "0"})
    assert not identity.new_identity_asked(False, {})


def test_no_new_identity_over_a_store_that_holds_data(tmp_path: Path) -> None:
    identity.guard_identity(tmp_path, False, None)  # a first run: nothing to protect
    (tmp_path / identity.STORE_DIR).mkdir()
    identity.guard_identity(tmp_path, False, None)  # an empty store: nothing either
    (tmp_path / identity.STORE_DIR / "CURRENT").write_text("MANIFEST-000005\n")
    with pytest.raises(identity.IdentityError, match="--new-identity") as caught:
        identity.guard_identity(tmp_path, False, 3)
    assert caught.value.kind is startup.Failure.IDENTITY and "3 pods" in str(caught.value)
    identity.guard_identity(tmp_path, True, 3)  # asked for
