"""JSON written in pieces, so that a worker thread writing a large value lets other
threads run.

`json.dumps` writes a whole value in one call of its C encoder, holding the GIL throughout:
a 22 MB search result written in a worker thread held the event loop for 250 ms.
`encode_bytes` gives the same text, as UTF-8 bytes, but writes a long list in runs of
PIECE_ITEMS items and a dict key by key, so the GIL can change hands between pieces.

Must never give a text other than `json.dumps` with the same settings would (one thing
differs: a value that contains itself raises RecursionError rather than ValueError).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Final

# List items written per call of the C encoder: 256 rows of a search result are about
# 60 KB, well under a millisecond of holding the GIL.
PIECE_ITEMS: Final = 256

Dumps = Callable[[Any], str]


@dataclass(frozen=True)
class Raw:
    """JSON text (UTF-8) written as it is, where a value would be: a result read back from
    the journal, or the rows pyoxigraph wrote (colony/sparql_json.py). Bytes, so that
    nothing decodes or encodes megabytes of it in one call."""

    data: bytes


def encode_bytes(value: Any, dumps: Dumps, end: str = "",
                 piece_items: int = PIECE_ITEMS) -> bytes:
    """`(dumps(value) + end).encode()` for a compact `dumps` that keeps key order and
    escapes non-ASCII text, written
    in pieces: each piece becomes bytes on its own (Raw ones are already UTF-8), and the
    one large copy, the join of the bytes, is done by `bytes.join`, which lets go of the
    GIL past 1 MB."""
    out: list[str | bytes] = []
    _pieces(value, dumps, piece_items, out)
    out.append(end)
    return b"".join([piece if isinstance(piece, bytes) else piece.encode("ascii")
                     for piece in out])


def _pieces(value: Any, dumps: Dumps, piece_items: int, out: list[Any]) -> None:
    """Append `value`'s text to `out` in pieces: str, or the bytes of a Raw value as they
    are (`encode_bytes` takes them whole)."""
    if isinstance(value, Raw):
        out.append(value.data)
    elif isinstance(value, dict) and value and all(type(key) is str for key in value):
        separator = "{"
        for key, item in value.items():
            out.append(separator)
            out.append(dumps(key))
            out.append(":")
            _pieces(item, dumps, piece_items, out)
            separator = ","
        out.append("}")
    elif isinstance(value, list | tuple) and len(value) > piece_items:
        separator = "["
        for start in range(0, len(value), piece_items):
            out.append(separator)
            out.append(dumps(value[start:start + piece_items])[1:-1])
            separator = ","
        out.append("]")
    else:
        # Everything else, small lists included, in one call; a dict with keys that are
        # not all strings too (JSON turns them into strings in ways not repeated here).
        out.append(dumps(value))
