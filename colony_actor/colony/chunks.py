"""Splitting a pod's statements into scratchpad-sized chunks, and joining them back.

A pod travels as N-Triples statements in UTF-8, one statement per line. Every chunk starts
with a one-line `#<RFC 3339 timestamp>` header and is at most `limit` bytes, header
included. Chunk 0 (the pointer's target) starts by listing the scratchpads of chunks
1..n-1, in order, as `<ant://<address>> <ant://colonylib/v1/index> "<position>" .`
statements; when they do not all fit in chunk 0 the list continues in chunks 1, 2...,
so a reader finds chunk j in a chunk before j.

Pure functions only: no I/O, no store, no network. They must never split a statement and
never drop one: a statement that cannot fit in a chunk is an error naming its subject.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Final

from colony_actor.colony.errors import InvalidInput
from colony_actor.colony.vocab import INDEX

_INDEX_LINE: Final = re.compile(
    rb'<ant://([0-9a-f]{64})> <' + re.escape(INDEX.value.encode()) + rb'> "([0-9]{1,9})" \.')
_PLACEHOLDER: Final = "0" * 64


def header(timestamp: str) -> bytes:
    return b"#" + timestamp.encode("utf-8") + b"\n"


def index_statement(address: str, position: int) -> bytes:
    return f'<ant://{address}> <{INDEX.value}> "{position}" .\n'.encode()


def layout(statements: Sequence[bytes], limit: int, header_size: int) -> int:
    """How many chunks `statements` (each a line ending in \\n) need, index included.

    The index statements come first in the stream and are packed like the others, so
    chunk 0 lists as many chunks as it can hold and the first listed chunks list the rest
    (a pod never outgrows its index). Raises InvalidInput if a statement cannot fit.
    """
    check_fits(statements, limit, header_size)
    room = limit - header_size
    if room < 2 * len(index_statement(_PLACEHOLDER, 10**9)):
        raise InvalidInput(f"Scratchpads of {limit} bytes are too small to hold an index")
    count = 1
    for _ in range(64):
        index = [index_statement(_PLACEHOLDER, position) for position in range(1, count)]
        needed = _count([*index, *statements], room)
        # More chunks only add index statements, so this climbs to a fixed point.
        if needed <= count:
            return count
        count = needed
    raise InvalidInput(f"Scratchpads of {limit} bytes are too small to index this pod")


def check_fits(statements: Sequence[bytes], limit: int, header_size: int) -> None:
    """InvalidInput naming the subject of the first statement too large for any chunk."""
    for statement in statements:
        if header_size + len(statement) > limit:
            raise InvalidInput(
                f"A statement about {subject_of(statement)} is {len(statement)} bytes, larger "
                f"than a scratchpad ({limit} bytes with its header); shorten that value")


def _count(lines: Sequence[bytes], room: int) -> int:
    return len(_pack(lines, room))


def _pack(lines: Sequence[bytes], room: int) -> list[list[bytes]]:
    groups: list[list[bytes]] = [[]]
    free = room
    for line in lines:
        if len(line) > free and groups[-1]:
            groups.append([])
            free = room
        groups[-1].append(line)
        free -= len(line)
    return groups


def render(statements: Sequence[bytes], head: bytes, addresses: Sequence[str],
           limit: int) -> list[bytes]:
    """The bytes of each chunk; `addresses[i]` will hold chunk i (len = `layout(...)`)."""
    index = [index_statement(address, position)
             for position, address in enumerate(addresses) if position > 0]
    groups = _pack([*index, *statements], limit - len(head))
    if len(groups) > len(addresses):
        raise ValueError("more chunks than the layout planned")
    # A layout that reserved room for more chunks than needed leaves some empty.
    groups.extend([] for _ in range(len(addresses) - len(groups)))
    return [head + b"".join(group) for group in groups]


def read_index(chunk: bytes) -> dict[int, str]:
    """The chunk addresses a chunk lists, by position (chunk 0 lists the first of them)."""
    found: dict[int, str] = {}
    for line in chunk.split(b"\n"):
        match = _INDEX_LINE.fullmatch(line)
        if match:
            position, address = int(match.group(2)), match.group(1).decode()
            if found.setdefault(position, address) != address:
                raise InvalidInput(f"The chunk index lists position {position} twice")
    return found


def check_sequence(positions: dict[int, str], max_chunks: int) -> list[str]:
    """The addresses of chunks 1..n-1 in order, once every listed chunk has been read."""
    if len(positions) >= max_chunks:
        raise InvalidInput(f"The pod lists {len(positions)} chunks, more than {max_chunks}")
    if sorted(positions) != list(range(1, len(positions) + 1)):
        raise InvalidInput("The pod's chunk index is not a sequence 1..n")
    return [positions[position] for position in range(1, len(positions) + 1)]


def join(chunks: Sequence[bytes]) -> bytes:
    """The statements of all chunks, in order, without headers and index statements."""
    out: list[bytes] = []
    for chunk in chunks:
        for line in chunk.splitlines(keepends=True):
            bare = line.rstrip(b"\r\n")
            if bare.startswith(b"#") or _INDEX_LINE.fullmatch(bare):
                continue
            out.append(line if line.endswith(b"\n") else line + b"\n")
    return b"".join(out)


def subject_of(statement: bytes) -> str:
    """The subject term at the start of an N-Triples line, for error messages."""
    head = statement.split(b" ", 1)[0]
    shown = head.decode("utf-8", "replace")
    return shown if len(shown) <= 300 else shown[:300] + "..."

