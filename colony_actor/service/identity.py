"""The daemon's identity on disk: its password, its key store, and the privacy of the
data directory that holds them.

The password is found as `locations.find_password` says (the `--password-file` flag, then
COLONY_ACTOR_PASSWORD, then `<data_dir>/password`) and must be at least
`MIN_PASSWORD_LENGTH` characters. On the first run (no key store) with none of them, one
is generated and written to `<data_dir>/password` (mode 0600), and the mnemonic comes from
COLONY_ACTOR_MNEMONIC or is generated. Later runs need the same password. A key store is
created only where there is none and the store holds no data: over a store that holds an
identity's pods, only when the operator asks for a new identity (`--new-identity`, or
COLONY_ACTOR_NEW_IDENTITY=1), never quietly.

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
from colony_actor.colony.errors import ColonyError, WrongPassword
from colony_actor.colony.keys.store import KeyStore
from colony_actor.runtime.files import write_atomic
from colony_actor.service.startup import Failure, StartupError, unusable

log = structlog.get_logger("colony_actor.service.identity")

MIN_PASSWORD_LENGTH: Final = 8

NEW_IDENTITY_ENV = locations.ENV_PREFIX + "NEW_IDENTITY"
# The pod store's directory in the data directory (colony/facade.py opens it there).
STORE_DIR = "store"
_RECOVER = (f"restore it from a backup, or move it aside and start with your 12 words in "
            f"{locations.MNEMONIC_ENV} and --new-identity (or {NEW_IDENTITY_ENV}=1) to "
            f"create it again")


class IdentityError(StartupError):
    """The daemon cannot unlock or create its identity; the message says why."""

    def __init__(self, message: str) -> None:
        super().__init__(Failure.IDENTITY, message)


def new_identity_asked(flag: bool, env: Mapping[str, str]) -> bool:
    """Whether the operator asked for a new identity: the flag, or the variable set to a
    true value (1, true, yes, on)."""
    return flag or env.get(NEW_IDENTITY_ENV, "").strip().lower() in {"1", "true", "yes", "on"}


def guard_identity(data_dir: Path, new_identity: bool, pods_before: int | None) -> None:
    """Refuse to start where the key store is missing but the store holds an identity's
    data, unless a new identity was asked for. `pods_before`: the pods the data directory
    held at the last start, if known (for the sentence)."""
    if KeyStore.exists(data_dir):
        if new_identity:
            log.warning("new_identity_ignored", path=str(KeyStore.path_for(data_dir)),
                        hint=f"a key store exists, so it is used; unset {NEW_IDENTITY_ENV}")
        return
    store = data_dir / STORE_DIR
    if not _holds_data(store):
        return
    held = f"{pods_before} pods at the last start" if pods_before is not None else "pods"
    if new_identity:
        log.warning("new_identity", key_store=str(KeyStore.path_for(data_dir)),
                    store=str(store), hint=f"the store holds {held} of the identity before: "
                    f"they stay listed, but only that identity can edit them")
        return
    raise IdentityError(
        f"The key store {KeyStore.path_for(data_dir)} is missing, but the store {store} "
        f"holds an identity's data ({held}): a new identity could not edit them. Restore "
        f"the key store from a backup; or start with your 12 words in "
        f"{locations.MNEMONIC_ENV} and --new-identity (or {NEW_IDENTITY_ENV}=1) to create "
        f"it again; or, to start a new identity on purpose, with --new-identity alone")


def _holds_data(store: Path) -> bool:
    try:
        return store.is_dir() and any(store.iterdir())
    except OSError:
        return True  # cannot tell: never risk a new identity over it


def resolve_password(data_dir: Path, password_file: Path | None,
                     env: Mapping[str, str]) -> str:
    try:
        password = locations.find_password(password_file, env, data_dir)
    except locations.PasswordError as exc:
        raise IdentityError(str(exc)) from None
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
    try:
        write_atomic(generated, (password + "\n").encode("utf-8"), mode=0o600)
    except OSError as exc:
        raise unusable("the password file", generated, exc) from None
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
    path = KeyStore.path_for(data_dir)
    try:
        if KeyStore.exists(data_dir):
            return KeyStore.open(data_dir, password)
        store = KeyStore.create(data_dir, password, mnemonic)
    except WrongPassword as exc:
        raise IdentityError(
            f"{exc}: check the password ({locations.PASSWORD_ENV}, --password-file or "
            f"{locations.password_file(data_dir)}); if it is right, the key store is "
            f"damaged: {_RECOVER}") from None
    except ColonyError as exc:
        raise IdentityError(f"{exc}: {_RECOVER}" if path.exists() else str(exc)) from None
    except OSError as exc:
        raise unusable("the key store", path, exc) from None
    log.info("key_store_created", path=str(data_dir),
             mnemonic_source="environment" if mnemonic else "generated")
    return store
