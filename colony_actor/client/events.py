"""Reading a job's Server-Sent Events stream (API.md §4) into job states.

Shared by the HTTP client and the benchmarks. Like the rest of `client/`, it speaks only
the public contract and must never import the daemon.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from typing import Any, Final

TERMINAL: Final = frozenset({"completed", "failed", "cancelled"})


def job_events(lines: Iterable[str]) -> Iterator[dict[str, Any]]:
    """The job states of a job's Server-Sent Events stream, read line by line, up to the
    terminal one."""
    data: list[str] = []
    for line in lines:
        if line.startswith("data:"):
            data.append(line[5:].strip())
        elif not line and data:
            job: dict[str, Any] = json.loads("\n".join(data))
            data = []
            yield job
            if job["status"] in TERMINAL:
                return
