"""The network interface: owner-signed pointers and scratchpads, and their signatures.

Every backend stores two kinds of mutable records. A write is accepted only when the
record's signature verifies against its address (the owner's Ed25519 public key, in
lowercase hex) and its counter is above the stored one; reads verify too. This module
holds the record types, signing and verification; it must never do I/O.
"""

from __future__ import annotations

import struct
from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal, Protocol

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from colony_actor.colony.errors import BadSignature

RecordKind = Literal["pointer", "scratchpad"]


def address_of(key: Ed25519PrivateKey) -> str:
    """The network address of a key: the lowercase hex of its raw public key."""
    return key.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw).hex()


def _signed_bytes(kind: RecordKind, address: str, counter: int, content: bytes) -> bytes:
    # Length-prefixed fields so that no two distinct records share signed bytes.
    parts = [kind.encode(), bytes.fromhex(address), struct.pack(">Q", counter), content]
    return b"".join(struct.pack(">I", len(p)) + p for p in parts)


@dataclass(frozen=True)
class Pointer:
    """A pointer at its owner's address: the address of a target scratchpad, and a counter."""

    address: str
    target: str
    counter: int
    signature: bytes

    @classmethod
    def signed(cls, key: Ed25519PrivateKey, target: str, counter: int) -> Pointer:
        address = address_of(key)
        sig = key.sign(_signed_bytes("pointer", address, counter, target.encode()))
        return cls(address, target, counter, sig)

    def verify(self) -> None:
        _verify(self.address, self.signature,
                lambda: _signed_bytes("pointer", self.address, self.counter,
                                      self.target.encode()))


@dataclass(frozen=True)
class Scratchpad:
    """A scratchpad at its owner's address: bytes (a chunk of a pod's data) and a counter."""

    address: str
    data: bytes
    counter: int
    signature: bytes

    @classmethod
    def signed(cls, key: Ed25519PrivateKey, data: bytes, counter: int) -> Scratchpad:
        address = address_of(key)
        sig = key.sign(_signed_bytes("scratchpad", address, counter, data))
        return cls(address, data, counter, sig)

    def verify(self) -> None:
        _verify(self.address, self.signature,
                lambda: _signed_bytes("scratchpad", self.address, self.counter, self.data))


def _verify(address: str, signature: bytes, message: Callable[[], bytes]) -> None:
    # Building the message can fail too (bad hex, a counter out of range): same verdict.
    try:
        Ed25519PublicKey.from_public_bytes(bytes.fromhex(address)).verify(signature, message())
    except (ValueError, struct.error, UnicodeEncodeError, InvalidSignature) as exc:
        raise BadSignature(f"Record at {address} has an invalid signature") from exc


class Network(Protocol):
    """What every backend offers. All methods are async; none blocks the event loop.

    `get_*` answers None when no record exists at the address and raises `NetworkError`
    (or `BadSignature`) when the record cannot be read or does not verify. `put_*` raises
    `StaleCounter` when the counter is not above the stored one, `BadSignature` when the
    signature does not verify, `NetworkError` for anything else.
    """

    async def get_pointer(self, address: str) -> Pointer | None: ...

    async def put_pointer(self, pointer: Pointer) -> None: ...

    async def get_scratchpad(self, address: str) -> Scratchpad | None: ...

    async def put_scratchpad(self, scratchpad: Scratchpad) -> None: ...
