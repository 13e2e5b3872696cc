"""The key store: the mnemonic and the key indexes in use, encrypted at rest.

The mnemonic and the set of used indexes live in `<data_dir>/keystore.json`, encrypted
with the daemon's password (Argon2id, or scrypt where OpenSSL lacks Argon2, then
AES-256-GCM); the keys themselves are derived on demand (derivation.py).

Everything here is synchronous and some of it is slow on purpose (the KDF); async callers
run it in a worker thread (`threads.run_sync`). This module must never log, print, or put the
mnemonic, the seed or the password into an exception message or a repr, and must never
write the mnemonic to disk unencrypted.
"""

from __future__ import annotations

import base64
import binascii
import contextlib
import json
import os
import secrets
import threading
import unicodedata
from pathlib import Path
from typing import Any

from cryptography.exceptions import InvalidTag, UnsupportedAlgorithm
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.argon2 import Argon2id
from cryptography.hazmat.primitives.kdf.scrypt import Scrypt

from colony_actor.colony.errors import ColonyError, InvalidInput, WrongPassword
from colony_actor.colony.keys.derivation import (
    Keychain,
    check_index,
    generate_mnemonic,
    normalize_mnemonic,
)
from colony_actor.runtime.files import fsync_dir, write_atomic

KEYSTORE_FILE = "keystore.json"
# How far past the highest used index `index_of` looks for keys another device has used.
SEARCH_WINDOW = 256

_FORMAT = "colony-actor/keystore"
_VERSION = 1
_SALT_BYTES = 16
_NONCE_BYTES = 12

# OWASP's first Argon2id recommendation (46 MiB, one pass): about 50 ms here.
_ARGON2 = {"iterations": 1, "lanes": 1, "memory_cost": 46 * 1024}
_SCRYPT = {"n": 2**15, "r": 8, "p": 1}
# A key store file names its own KDF cost; these bounds keep a doctored file from
# making `open` allocate gigabytes or spin for minutes.
_MAX_ARGON2_MEMORY_KIB = 1024 * 1024
_MAX_ARGON2_ITERATIONS = 16
_MAX_ARGON2_LANES = 16
_MAX_SCRYPT_N = 2**20
_MAX_SCRYPT_R = 32
_MAX_SCRYPT_P = 16


def _new_kdf_params() -> dict[str, Any]:
    salt = base64.b64encode(os.urandom(_SALT_BYTES)).decode("ascii")
    try:
        # Argon2id needs OpenSSL >= 3.2; cryptography raises at construction without it.
        Argon2id(salt=bytes(_SALT_BYTES), length=32, iterations=1, lanes=1, memory_cost=8)
    except UnsupportedAlgorithm:
        return {"name": "scrypt", "salt": salt, **_SCRYPT}
    return {"name": "argon2id", "salt": salt, **_ARGON2}


def _int_param(params: dict[str, Any], name: str, low: int, high: int) -> int:
    value = params.get(name)
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise ValueError(f"KDF parameter {name} is missing or out of range")
    return value


def _derive_file_key(params: dict[str, Any], password: str) -> bytes:
    """The AES-256 key for the given KDF parameters; ValueError if they are unusable."""
    secret = unicodedata.normalize("NFC", password).encode("utf-8")
    salt = _b64(params.get("salt"), "salt")
    if len(salt) < 8:
        raise ValueError("KDF salt is too short")
    name = params.get("name")
    if name == "argon2id":
        iterations = _int_param(params, "iterations", 1, _MAX_ARGON2_ITERATIONS)
        lanes = _int_param(params, "lanes", 1, _MAX_ARGON2_LANES)
        memory = _int_param(params, "memory_cost", 8 * lanes, _MAX_ARGON2_MEMORY_KIB)
        try:
            argon2 = Argon2id(salt=salt, length=32, iterations=iterations, lanes=lanes,
                              memory_cost=memory)
        except UnsupportedAlgorithm as exc:
            raise ValueError("it uses Argon2id, which this OpenSSL lacks") from exc
        return argon2.derive(secret)
    if name == "scrypt":
        n = _int_param(params, "n", 2, _MAX_SCRYPT_N)
        if n & (n - 1):
            raise ValueError("KDF parameter n must be a power of two")
        r = _int_param(params, "r", 1, _MAX_SCRYPT_R)
        p = _int_param(params, "p", 1, _MAX_SCRYPT_P)
        return Scrypt(salt=salt, length=32, n=n, r=r, p=p).derive(secret)
    raise ValueError("unknown KDF")


def _b64(value: object, field: str) -> bytes:
    if not isinstance(value, str):
        raise ValueError(f"field {field} is missing")
    try:
        return base64.b64decode(value, validate=True)
    except binascii.Error as exc:
        raise ValueError(f"field {field} is not base64") from exc


def _header_aad(header: dict[str, Any]) -> bytes:
    # The KDF parameters are authenticated with the ciphertext, so a doctored header
    # fails decryption instead of quietly changing how the next write is protected.
    return json.dumps(header, sort_keys=True, separators=(",", ":")).encode("utf-8")


def _seal(header: dict[str, Any], file_key: bytes, payload: dict[str, Any]) -> bytes:
    nonce = os.urandom(_NONCE_BYTES)
    plaintext = json.dumps(payload, separators=(",", ":")).encode("utf-8")
    ciphertext = AESGCM(file_key).encrypt(nonce, plaintext, _header_aad(header))
    envelope = {
        **header,
        "cipher": {"name": "aes-256-gcm",
                   "nonce": base64.b64encode(nonce).decode("ascii")},
        "ciphertext": base64.b64encode(ciphertext).decode("ascii"),
    }
    return (json.dumps(envelope, indent=2) + "\n").encode("utf-8")


def _create_file(path: Path, data: bytes) -> None:
    """Write `data` to a new file `path` (mode 0600), never over an existing one."""
    staging = path.with_name(f".{path.name}.{secrets.token_hex(8)}.new")
    write_atomic(staging, data, mode=0o600)
    try:
        _link_new(staging, path)
    finally:
        with contextlib.suppress(FileNotFoundError):
            staging.unlink()
    fsync_dir(path.parent)


def _link_new(tmp: Path, path: Path) -> None:
    # A hard link fails if the name exists, so two daemons creating a store at once
    # cannot overwrite each other's mnemonic; os.replace would let the last one win.
    try:
        os.link(tmp, path)
    except FileExistsError:
        raise ColonyError(f"A key store already exists at {path}; refusing to overwrite it") \
            from None
    except OSError:
        # Some filesystems have no hard links: fall back to check-then-rename.
        if path.exists():
            raise ColonyError(
                f"A key store already exists at {path}; refusing to overwrite it"
            ) from None
        os.replace(tmp, path)


def _parse_payload(plaintext: bytes) -> tuple[str, set[int]] | None:
    """(mnemonic, used indexes) from decrypted contents, or None if they do not parse."""
    # Any exception raised here could carry the plaintext (JSONDecodeError keeps the
    # whole document), so none may escape, not even as the cause of another.
    try:
        payload = json.loads(plaintext)
        phrase = normalize_mnemonic(payload["mnemonic"])
        used = payload["used"]
    except Exception:
        return None
    if not isinstance(used, list) or not all(
        isinstance(i, int) and not isinstance(i, bool) and i >= 0 for i in used
    ):
        return None
    return phrase, set(used)


class KeyStore:
    """The user's keys: derived from the mnemonic on demand, used indexes kept on disk.

    Methods are thread-safe, so that several `to_thread` calls may share one store.
    """

    def __init__(self, *, path: Path, mnemonic: str, used: set[int],
                 header: dict[str, Any], file_key: bytes) -> None:
        # Use `create` or `open`; this constructor trusts its arguments.
        self._path = path
        self._mnemonic = mnemonic
        self._keychain = Keychain(mnemonic)
        self._used = set(used)
        # The derived AES key, not the password, is what lets later writes re-encrypt
        # without paying for the KDF again.
        self._header = header
        self._file_key = file_key
        self._lock = threading.RLock()

    def __repr__(self) -> str:
        return f"KeyStore(path={str(self._path)!r}, used={len(self._used)})"

    @staticmethod
    def path_for(data_dir: Path) -> Path:
        return Path(data_dir) / KEYSTORE_FILE

    @property
    def path(self) -> Path:
        return self._path

    @classmethod
    def exists(cls, data_dir: Path) -> bool:
        return cls.path_for(data_dir).is_file()

    @classmethod
    def create(cls, data_dir: Path, password: str, mnemonic: str | None = None) -> KeyStore:
        """A new key store from `mnemonic` (or a fresh one); refuses to overwrite a store."""
        if not isinstance(password, str) or not password:
            raise InvalidInput("The key store password must be a non-empty string")
        phrase = generate_mnemonic() if mnemonic is None else normalize_mnemonic(mnemonic)
        path = cls.path_for(data_dir)
        if path.exists():
            raise ColonyError(f"A key store already exists at {path}; refusing to overwrite it")
        path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        kdf = _new_kdf_params()
        header = {"format": _FORMAT, "version": _VERSION, "kdf": kdf}
        file_key = _derive_file_key(kdf, password)
        store = cls(path=path, mnemonic=phrase, used={0, 1}, header=header, file_key=file_key)
        _create_file(path, store._sealed())
        return store

    @classmethod
    def open(cls, data_dir: Path, password: str) -> KeyStore:
        """The key store in `data_dir`; WrongPassword if `password` does not decrypt it."""
        path = cls.path_for(data_dir)
        try:
            raw = path.read_bytes()
        except FileNotFoundError:
            raise ColonyError(f"No key store at {path}") from None
        except OSError as exc:
            raise ColonyError(f"Cannot read the key store at {path}: {exc.strerror}") from None
        try:
            try:
                envelope = json.loads(raw.decode("utf-8"))
            except UnicodeDecodeError:
                raise ValueError("it is not UTF-8 text") from None
            if not isinstance(envelope, dict) or envelope.get("format") != _FORMAT:
                raise ValueError("not a colony-actor key store")
            if envelope.get("version") != _VERSION:
                raise ValueError(f"unsupported version {envelope.get('version')!r}")
            kdf = envelope.get("kdf")
            cipher = envelope.get("cipher")
            if not isinstance(kdf, dict) or not isinstance(cipher, dict):
                raise ValueError("the kdf or cipher section is missing")
            if cipher.get("name") != "aes-256-gcm":
                raise ValueError("unknown cipher")
            nonce = _b64(cipher.get("nonce"), "nonce")
            if len(nonce) != _NONCE_BYTES:
                raise ValueError("the nonce has the wrong length")
            ciphertext = _b64(envelope.get("ciphertext"), "ciphertext")
            header = {"format": _FORMAT, "version": _VERSION, "kdf": kdf}
            file_key = _derive_file_key(kdf, password)
        except ValueError as exc:
            raise ColonyError(f"The key store at {path} is damaged: {exc}") from None
        try:
            plaintext = AESGCM(file_key).decrypt(nonce, ciphertext, _header_aad(header))
        except InvalidTag:
            # A wrong password and a damaged ciphertext fail the same check.
            raise WrongPassword(f"Wrong password or damaged key store at {path}") from None
        contents = _parse_payload(plaintext)
        if contents is None:
            raise ColonyError(f"The key store at {path} is damaged: its contents do not parse")
        phrase, used = contents
        return cls(path=path, mnemonic=phrase, used=used, header=header, file_key=file_key)

    @property
    def mnemonic(self) -> str:
        """The 12 words; show them to the user only on an explicit request."""
        return self._mnemonic

    @property
    def used(self) -> frozenset[int]:
        with self._lock:
            return frozenset(self._used)

    def key(self, index: int) -> Ed25519PrivateKey:
        return self._keychain.key(index)

    def address(self, index: int) -> str:
        return self._keychain.address(index)

    def index_of(self, address: str) -> int | None:
        """The index whose address is `address`, or None.

        Looks at every index up to the highest used one plus SEARCH_WINDOW: the gaps and
        the window are where keys this mnemonic used on another device turn up. Finding
        one does not mark it used; the caller decides that with `mark_used`.
        """
        if not isinstance(address, str):
            return None
        with self._lock:
            limit = (max(self._used) + 1 if self._used else 0) + SEARCH_WINDOW
        return self._keychain.find(address.lower(), limit)

    def allocate(self) -> int:
        """Hand out the index after the highest one used, persist, and return it.

        Never a gap below the highest: a gap may be a key another device (same mnemonic)
        used, or a removed pod whose records still hold counters on the network.
        """
        with self._lock:
            index = max(self._used, default=-1) + 1
            self._claim(index)
            return index

    def mark_used(self, index: int) -> None:
        """Record that `index` is in use (say, by this user on another device) and persist."""
        check_index(index)
        with self._lock:
            if index not in self._used:
                self._claim(index)

    def _claim(self, index: int) -> None:
        # Called with the lock held: persisted, or not claimed at all.
        self._used.add(index)
        try:
            self._save()
        except BaseException:
            self._used.discard(index)
            raise

    def _sealed(self) -> bytes:
        payload = {"mnemonic": self._mnemonic, "used": sorted(self._used)}
        return _seal(self._header, self._file_key, payload)

    def _save(self) -> None:
        write_atomic(self._path, self._sealed(), mode=0o600)
