"""The daemon's identity on disk: its password and its key store.

The password is found as `locations.find_password` says (the `--password-file` flag, then
COLONY_ACTOR_PASSWORD, then `<data_dir>/password`). On the first run (no key store) with
none of them, one is generated and written to `<data_dir>/password` (mode 0600), and the
mnemonic comes from COLONY_ACTOR_MNEMONIC or is generated. Later runs need the same
password. This module must never log or print a password or mnemonic.
"""

from __future__ import annotations

import secrets
from collections.abc import Mapping
from pathlib import Path

import structlog

from colony_actor import locations
from colony_actor.colony.errors import ColonyError
from colony_actor.colony.keys.store import KeyStore
from colony_actor.runtime.files import write_atomic

log = structlog.get_logger("colony_actor.service.identity")


class IdentityError(Exception):
    """The daemon cannot unlock or create its identity; the message says why."""


def resolve_password(data_dir: Path, password_file: Path | None,
                     env: Mapping[str, str]) -> str:
    try:
        password = locations.find_password(password_file, env, data_dir)
    except locations.PasswordError as exc:
        raise IdentityError(str(exc)) from exc
    if password is not None:
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
