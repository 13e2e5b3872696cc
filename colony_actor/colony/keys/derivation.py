"""Keys from a mnemonic: the BIP39 phrase, and one Ed25519 key per index.

One 12-word mnemonic yields every key a user has: key i is Ed25519 over
HKDF-SHA256(seed, info="index:i"). Index 0 is the configuration pod's pointer, index 1 its
scratchpad, and later indexes are handed out in order, so the same mnemonic on another
machine finds the same addresses. This module must never log, print, or put the mnemonic
or the seed into an exception message or a repr, and never touch a file.
"""

from __future__ import annotations

import threading
import unicodedata
from typing import Final

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from mnemonic import Mnemonic

from colony_actor.colony.errors import InvalidInput
from colony_actor.colony.network.base import address_of

MNEMONIC_WORDS: Final = 12
_HKDF_SALT: Final = b"colony-actor/keys/v1"


def generate_mnemonic() -> str:
    """A fresh 12-word BIP39 English mnemonic (128 bits of entropy)."""
    return str(Mnemonic("english").generate(strength=128))


def normalize_mnemonic(mnemonic: str) -> str:
    """The phrase in its canonical form (NFKD, lower case, single spaces); InvalidInput
    naming the first problem."""
    # The error messages name positions, never words: the words are the secret.
    if not isinstance(mnemonic, str):
        raise InvalidInput("The mnemonic must be a string of 12 words")
    words = unicodedata.normalize("NFKD", mnemonic).lower().split()
    if len(words) != MNEMONIC_WORDS:
        raise InvalidInput(
            f"The mnemonic must have {MNEMONIC_WORDS} words; the one given has {len(words)}"
        )
    wordlist = Mnemonic("english")
    known = set(wordlist.wordlist)
    for position, word in enumerate(words, start=1):
        if word not in known:
            raise InvalidInput(f"Word {position} of the mnemonic is not a BIP39 English word")
    phrase = " ".join(words)
    if not wordlist.check(phrase):
        raise InvalidInput("The mnemonic's checksum does not match; check the words and order")
    return phrase


def derive_key(seed: bytes, index: int) -> Ed25519PrivateKey:
    hkdf = HKDF(
        algorithm=hashes.SHA256(),
        length=32,
        salt=_HKDF_SALT,
        info=b"index:" + str(index).encode(),
    )
    return Ed25519PrivateKey.from_private_bytes(hkdf.derive(seed))


def check_index(index: int) -> None:
    if isinstance(index, bool) or not isinstance(index, int) or index < 0:
        raise InvalidInput(f"A key index must be a non-negative integer, not {index!r}")


class Keychain:
    """The keys of one mnemonic, each derived once however often it is asked for.

    Thread-safe, so that several worker threads may share one keychain.
    """

    def __init__(self, mnemonic: str) -> None:
        self._seed = Mnemonic.to_seed(mnemonic, passphrase="")
        self._keys: dict[int, Ed25519PrivateKey] = {}
        self._addresses: dict[int, str] = {}
        self._indexes: dict[str, int] = {}
        self._scanned = 0  # every index below this one is in _indexes
        self._lock = threading.Lock()

    def __repr__(self) -> str:
        return f"Keychain(derived={len(self._keys)})"

    def key(self, index: int) -> Ed25519PrivateKey:
        check_index(index)
        with self._lock:
            return self._derive(index)

    def address(self, index: int) -> str:
        check_index(index)
        with self._lock:
            if index not in self._addresses:
                self._derive(index)
            return self._addresses[index]

    def find(self, address: str, limit: int) -> int | None:
        """The index below `limit` whose address is `address` (lowercase hex), or None."""
        with self._lock:
            found = self._indexes.get(address)
            if found is not None and found < limit:
                return found
            while self._scanned < limit:
                index = self._scanned
                self._scanned += 1
                self._derive(index)
                if self._addresses[index] == address:
                    return index
        return None

    def _derive(self, index: int) -> Ed25519PrivateKey:
        key = self._keys.get(index)
        if key is None:
            key = derive_key(self._seed, index)
            address = address_of(key)
            self._keys[index] = key
            self._addresses[index] = address
            self._indexes[address] = index
        return key
