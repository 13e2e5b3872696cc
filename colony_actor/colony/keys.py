"""Keys: the BIP39 mnemonic, per-index Ed25519 keys, and the encrypted key store.

(Contract only; the implementation replaces this file.)
"""

from __future__ import annotations

from pathlib import Path

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey


class KeyStore:
    @classmethod
    def exists(cls, data_dir: Path) -> bool:
        raise NotImplementedError

    @classmethod
    def create(cls, data_dir: Path, password: str, mnemonic: str | None = None) -> KeyStore:
        raise NotImplementedError

    @classmethod
    def open(cls, data_dir: Path, password: str) -> KeyStore:
        raise NotImplementedError

    @property
    def mnemonic(self) -> str:
        raise NotImplementedError

    def key(self, index: int) -> Ed25519PrivateKey:
        raise NotImplementedError

    def address(self, index: int) -> str:
        raise NotImplementedError

    def index_of(self, address: str) -> int | None:
        raise NotImplementedError

    def allocate(self) -> int:
        raise NotImplementedError

    def mark_used(self, index: int) -> None:
        raise NotImplementedError
