"""The local network's record file format: a fixed 24-byte header (magic, format version,
kind, counter, signature length, content length), then the signature, then the content as
raw bytes, so a multi-MiB scratchpad costs no encoding and a counter check reads only the
header.

Pure functions: no I/O. They must never return a record whose bytes do not add up to
exactly what its header says, nor one whose signature does not verify (`verify`).
"""

from __future__ import annotations

import struct
from typing import Final

from colony_actor.colony.errors import NetworkError
from colony_actor.colony.network.base import Pointer, RecordKind, Scratchpad

MAGIC: Final = b"CLRC"
FORMAT_VERSION: Final = 1
HEADER: Final = struct.Struct(">4sBBQHQ")
KIND_CODES: Final[dict[RecordKind, int]] = {"pointer": 1, "scratchpad": 2}
MAX_COUNTER: Final = 2**64 - 1
# Ed25519's; a record with another signature length does not verify anyway.
SIGNATURE_SIZE: Final = 64

Record = Pointer | Scratchpad


def max_file_size(content_cap: int) -> int:
    """The largest file of a record whose content is at most `content_cap` bytes."""
    return HEADER.size + SIGNATURE_SIZE + content_cap


def content(record: Record) -> bytes:
    if isinstance(record, Pointer):
        return record.target.encode("utf-8")
    return record.data


def encode(kind: RecordKind, record: Record) -> bytes:
    body = content(record)
    header = HEADER.pack(MAGIC, FORMAT_VERSION, KIND_CODES[kind], record.counter,
                         len(record.signature), len(body))
    return b"".join((header, record.signature, body))


def parse_header(kind: RecordKind, address: str, header: bytes) -> tuple[int, int, int]:
    """(counter, signature length, content length) from a record's header."""
    if len(header) != HEADER.size:
        raise NetworkError(f"Corrupt {kind} record at {address}: truncated header")
    magic, version, code, counter, sig_len, content_len = HEADER.unpack(header)
    if magic != MAGIC or version != FORMAT_VERSION or code != KIND_CODES[kind]:
        raise NetworkError(f"Corrupt {kind} record at {address}: not a {kind} record file")
    return counter, sig_len, content_len


def decode(kind: RecordKind, address: str, raw: bytes) -> Record:
    counter, sig_len, content_len = parse_header(kind, address, raw[:HEADER.size])
    if len(raw) != HEADER.size + sig_len + content_len:
        raise NetworkError(f"Corrupt {kind} record at {address}: wrong length")
    signature = raw[HEADER.size:HEADER.size + sig_len]
    body = raw[HEADER.size + sig_len:]
    if kind == "pointer":
        try:
            target = body.decode("utf-8")
        except UnicodeDecodeError:
            raise NetworkError(
                f"Corrupt pointer record at {address}: target is not UTF-8") from None
        return Pointer(address, target, counter, signature)
    return Scratchpad(address, body, counter, signature)


def verify(kind: RecordKind, record: Record) -> None:
    if not 0 <= record.counter <= MAX_COUNTER:
        raise NetworkError(f"Invalid {kind} at {record.address}: counter out of range")
    try:
        record.verify()
    except UnicodeEncodeError:
        raise NetworkError(
            f"Invalid pointer at {record.address}: target is not encodable") from None
