"""The daemon's identity on disk: its password, its key store, and the privacy of the
data directory that holds them.

The password is found as `locations.find_password` says (the `--password-file` flag, then
COLONY_ACTOR_PASSWORD, then `<data_dir>/password`) and must be at least
`MIN_PASSWORD_LENGTH` characters. On the first run (no key store) with none of them, one
is generated and written to `<data_dir>/password` (mode 0600), and the mnemonic comes from
COLONY_ACTOR_MNEMONIC or is generated. Later runs need the same password.

`make_private` makes the data directory 0700 and what the daemon wrote in it 0600 (its
folders 0700), at every start, even for a directory that already existed. This module
must never log or print a password or mnemonic.
"""

from __future__ import annotations

import os
import secrets
import stat
from collections.abc import Mapping
from pathlib import Path
from typing import Final

import structlog

from colony_actor import locations
from colony_actor.colony.errors import ColonyError
from colony_actor.colony.keys.store import KeyStore
from colony_actor.runtime.files import write_atomic

log = structlog.get_logger("colony_actor.service.identity")

MIN_PASSWORD_LENGTH: Final = 8


class IdentityError(Exception):
    """The daemon cannot unlock or create its identity; the message says why."""


def resolve_password(data_dir: Path, password_file: Path | None,
                     env: Mapping[str, str]) -> str:
    try:
        password = locations.find_password(password_file, env, data_dir)
    except locations.PasswordError as exc:
        raise IdentityError(str(exc)) from exc
    if password is not None:
        if len(password) < MIN_PASSWORD_LENGTH:
            raise IdentityError(
                f"The password is {len(password)} characters long; it must have at least "
                f"{MIN_PASSWORD_LENGTH} (it came from {_source(password_file, env, data_dir)})")
        return password
    generated = locations.password_file(data_dir)
    if KeyStore.exists(data_dir):
        raise IdentityError(
            f"The key store in {data_dir} exists but no password was given: pass "
            f"--password-file, set {locations.PASSWORD_ENV}, or restore {generated}")
    password = secrets.token_urlsafe(24)
    write_atomic(generated, (password + "\n").encode("utf-8"), mode=0o600)
    log.info("password_generated", path=str(generated),
             hint="POST it to /auth/token to get a bearer token")
    return password


def _source(password_file: Path | None, env: Mapping[str, str], data_dir: Path) -> str:
    if password_file is not None:
        return f"--password-file {password_file}"
    if env.get(locations.PASSWORD_ENV):
        return locations.PASSWORD_ENV
    return str(locations.password_file(data_dir))


def make_private(data_dir: Path, shared: Path) -> None:
    """Make `data_dir` 0700, and every file in it 0600 and every folder 0700, except the
    folder `shared` (a network directory other daemons read) and what it holds. Symbolic
    links are left alone, never followed. Raises IdentityError when the data directory
    itself cannot be made private (sync: call in a thread)."""
    try:
        os.chmod(data_dir, 0o700)
    except OSError as exc:
        raise IdentityError(f"Cannot make the data directory {data_dir} private: "
                            f"{exc.strerror}") from exc
    skip = os.path.realpath(shared)
    for root, folders, files in os.walk(data_dir):
        folders[:] = [name for name in folders
                      if os.path.realpath(os.path.join(root, name)) != skip]
        for name in folders + files:
            path = os.path.join(root, name)
            try:
                mode = os.lstat(path).st_mode
                if stat.S_ISDIR(mode) or stat.S_ISREG(mode):
                    wanted = 0o700 if stat.S_ISDIR(mode) else 0o600
                    if stat.S_IMODE(mode) != wanted:
                        os.chmod(path, wanted, follow_symlinks=False)
            except OSError as exc:
                log.warning("data_file_not_private", path=path, error=exc.strerror)


def open_key_store(data_dir: Path, password: str, env: Mapping[str, str]) -> KeyStore:
    """Open the key store, or create it on first run (slow KDF: call in a thread)."""
    mnemonic = env.get(locations.MNEMONIC_ENV) or None
    try:
        if KeyStore.exists(data_dir):
            return KeyStore.open(data_dir, password)
        store = KeyStore.create(data_dir, password, mnemonic)
    except ColonyError as exc:
        raise IdentityError(str(exc)) from exc
    log.info("key_store_created", path=str(data_dir),
             mnemonic_source="environment" if mnemonic else "generated")
    return store
