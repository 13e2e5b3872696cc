"""What runs inside a query worker process: an advanced query, and its syntax check.

`main` is the process (`python -m colony_actor.colony.search.worker LIMITS`, started by
process.py): it puts its limits on itself (sandbox.py), says it is ready, then answers one
request at a time, each a frame on stdin, with a frame on stdout (`write_frame`). A worker
keeps the store open read-only between jobs and opens it anew when the daemon has written
since (`generation`): a read-only handle sees the store as it was when opened. The answer
goes back as SPARQL JSON text, never as Python objects, so a large answer costs one copy
through a pipe, and the daemon never unpickles anything a query shaped.

This module must stay importable without side effects and without importing the daemon.
It must never run anything but a read-only query, and never write to the store.
"""

from __future__ import annotations

import json
import os
import struct
import sys
import time
from dataclasses import asdict
from typing import IO, Any, Final

from pyoxigraph import Literal, Store, Variable

from colony_actor.colony.errors import SearchTimeout
from colony_actor.colony.search import sandbox
from colony_actor.colony.search.advanced import advanced
from colony_actor.colony.search.sparql_json import Serialized

# A frame: the lengths of its JSON header and of its body, then both.
FRAME: Final = struct.Struct("!IQ")
# A request's header is a small JSON object (the SPARQL text is at most 100,000 chars).
MAX_REQUEST: Final = 4 * 1024 * 1024


def write_frame(out: IO[bytes], header: dict[str, Any], body: bytes = b"") -> None:
    data = json.dumps(header, separators=(",", ":")).encode()
    out.write(FRAME.pack(len(data), len(body)) + data + body)
    out.flush()


def read_frame(source: IO[bytes]) -> dict[str, Any] | None:
    """The next request's header; None when the daemon closed the pipe."""
    lengths = source.read(FRAME.size)
    if len(lengths) < FRAME.size:
        return None
    size, extra = FRAME.unpack(lengths)
    if size > MAX_REQUEST or extra:
        raise ValueError("a request frame out of bounds")
    header: dict[str, Any] = json.loads(source.read(size))
    return header


_ATTEMPTS: Final = 4


def _moved_away(exc: Exception) -> bool:
    text = str(exc)
    return isinstance(exc, OSError) or "No such file" in text or "Corruption" in text


class _Held:
    """The read-only store this worker has open, and the generation it was opened at.
    One per process: the worker runs one job at a time."""

    def __init__(self) -> None:
        self.path = ""
        self.generation = -1
        self.store: Store | None = None

    def get(self, path: str, generation: int) -> tuple[Store, bool]:
        if self.store is None or self.path != path or self.generation != generation:
            return self.reopen(path, generation), True
        return self.store, False

    def reopen(self, path: str, generation: int) -> Store:
        self.store = None  # released before the new one opens
        for attempt in range(_ATTEMPTS):
            try:
                self.store = Store.read_only(path)
                break
            except (OSError, RuntimeError) as exc:  # opened while the daemon compacted
                if attempt == _ATTEMPTS - 1 or not _moved_away(exc):
                    raise
                time.sleep(0.01 * (attempt + 1))
        assert self.store is not None
        self.path, self.generation = path, generation
        return self.store


_held = _Held()


def run_advanced(request: dict[str, Any]) -> tuple[dict[str, Any], bytes]:
    """The answer of an advanced query: its header (count, pods, whether it opened the
    store, seconds spent) and its SPARQL JSON text."""
    started = time.monotonic()
    sandbox.restart_cpu_clock(int(request["cpu_seconds"]))
    deadline = started + float(request["seconds"])
    path, generation, sparql = request["store_path"], int(request["generation"]), request["sparql"]
    store, opened = _held.get(path, generation)
    for attempt in range(_ATTEMPTS):
        try:
            found = advanced(store, sparql, deadline)
            break
        except (OSError, RuntimeError) as exc:
            # The daemon's store may have compacted away a file this handle names (the
            # handle opened while it compacted): again on a fresh handle, a few times.
            if attempt == _ATTEMPTS - 1 or not _moved_away(exc):
                raise
            time.sleep(0.01 * (attempt + 1))
            store, opened = _held.reopen(path, generation), True
    answer = found if isinstance(found, Serialized) else Serialized.of(found)
    return ({"count": answer.count, "pods_found": answer.pods_found,
             "truncated": answer.truncated, "opened": opened,
             "seconds": time.monotonic() - started}, answer.text)


def check_syntax(sparql: str) -> str | None:
    """None if pyoxigraph's parser takes `sparql`, else its message.

    pyoxigraph has no parse-only call, and some queries are evaluated as they are made
    (an ASK, an aggregate). Substituting a variable the query does not have stops it right
    after parsing, before any evaluation; its empty in-memory store holds nothing anyway.
    """
    name = "colony_check"
    while name in sparql:
        name += "_"
    try:
        Store().query(sparql, substitutions={Variable(name): Literal("")})
    except SyntaxError as exc:
        return str(exc)
    except Exception:  # parsed, then refused for the substitution
        return None
    return None


def answer(request: dict[str, Any]) -> tuple[dict[str, Any], bytes]:
    """The reply to one request; a failure as {"error": kind, "message": ...}."""
    try:
        if request.get("op") == "check":
            sandbox.restart_cpu_clock(int(request["cpu_seconds"]))
            return {"syntax_error": check_syntax(request["sparql"])}, b""
        if request.get("op") == "report":
            return asdict(sandbox.report()), b""
        return run_advanced(request)
    except MemoryError:
        return {"error": "memory", "message": "out of memory"}, b""
    except SearchTimeout as exc:
        return {"error": "timeout", "message": str(exc)}, b""
    except SyntaxError as exc:
        return {"error": "syntax", "message": str(exc)[:500]}, b""
    except (ValueError, TypeError) as exc:
        return {"error": "invalid", "message": str(exc)[:500]}, b""
    except Exception as exc:  # a query's failure, told to the daemon, never a crash here
        return {"error": "failed", "message": f"{type(exc).__name__}: {str(exc)[:500]}"}, b""


def main() -> None:
    """The worker process: limits first, then one request at a time until stdin closes."""
    limits = sandbox.Limits(**json.loads(sys.argv[1]))
    sandbox.enter(limits, int(sys.argv[2]))
    source, out = sys.stdin.buffer, sys.stdout.buffer
    sys.stdout = sys.stderr  # stdout carries frames only
    write_frame(out, {"ready": os.getpid()})
    while (request := read_frame(source)) is not None:
        header, body = answer(request)
        write_frame(out, header, body)


if __name__ == "__main__":
    main()
