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
