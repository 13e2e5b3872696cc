"""The daemon's identity on disk: where its password comes from, and its key store.

First run (no key store): the mnemonic comes from COLONY_ACTOR_MNEMONIC or is generated;
the password comes from COLONY_ACTOR_PASSWORD or --password-file, else it is generated
and written to `<data_dir>/password` (mode 0600). Later runs need the same password
(same sources, or that file). This module must never log or print a password or mnemonic.
"""

from __future__ import annotations

import secrets
from collections.abc import Mapping
from pathlib import Path

import structlog

from colony_actor.colony.errors import ColonyError
from colony_actor.colony.keys.store import KeyStore
from colony_actor.runtime.files import write_atomic

log = structlog.get_logger("colony_actor.service.identity")

PASSWORD_ENV = "COLONY_ACTOR_PASSWORD"
MNEMONIC_ENV = "COLONY_ACTOR_MNEMONIC"
PASSWORD_FILE = "password"


class IdentityError(Exception):
    """The daemon cannot unlock or create its identity; the message says why."""


def resolve_password(data_dir: Path, password_file: Path | None,
                     env: Mapping[str, str]) -> str:
    if env.get(PASSWORD_ENV):
        return env[PASSWORD_ENV]
    if password_file is not None:
        return _read_password(password_file)
    generated = data_dir / PASSWORD_FILE
    if generated.exists():
        return _read_password(generated)
    if KeyStore.exists(data_dir):
        raise IdentityError(
            f"The key store in {data_dir} exists but no password was given: set "
            f"{PASSWORD_ENV}, pass --password-file, or restore {generated}")
    password = secrets.token_urlsafe(24)
    _write_private(generated, password + "\n")
    log.info("password_generated", path=str(generated),
             hint="POST it to /auth/token to get a bearer token")
    return password


def open_key_store(data_dir: Path, password: str, env: Mapping[str, str]) -> KeyStore:
    """Open the key store, or create it on first run (slow KDF: call in a thread)."""
    try:
        if KeyStore.exists(data_dir):
            return KeyStore.open(data_dir, password)
        store = KeyStore.create(data_dir, password, env.get(MNEMONIC_ENV) or None)
    except ColonyError as exc:
        raise IdentityError(str(exc)) from exc
    log.info("key_store_created", path=str(data_dir),
             mnemonic_source="environment" if env.get(MNEMONIC_ENV) else "generated")
    return store


def _read_password(path: Path) -> str:
    try:
        password = path.read_text(encoding="utf-8").rstrip("\r\n")
    except OSError as exc:
        raise IdentityError(f"Cannot read the password file {path}: {exc.strerror}") from exc
    if not password:
        raise IdentityError(f"The password file {path} is empty")
    return password


def _write_private(path: Path, text: str) -> None:
    write_atomic(path, text.encode("utf-8"), mode=0o600)
