"""The index builder: a child process that writes a whole full-text index file from a
read-only view of the store, so that a first start's build holds neither the daemon's
interpreter (its GIL) nor the store's write lock.

Run as `python -m colony_actor.colony.fulltext.builder STORE OUT PARENT_PID`: it runs only
when a CPU is idle (SCHED_IDLE, else at a lower priority), ends if the daemon does, writes
OUT (schema.build_file) and reports on stdout, one JSON object a line: {"graphs_done",
"graphs_total", "rows"} after each part, then {"done": true, "rows", "priority"} once OUT
is complete and synced; it exits 0 then, non-zero on any
failure. This module must never write to the store (it is opened read-only), nor to any
file but OUT.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

from pyoxigraph import Store

from colony_actor.colony.fulltext.schema import build_file
from colony_actor.runtime import children


def _say(message: dict[str, object]) -> None:
    sys.stdout.write(json.dumps(message) + "\n")
    sys.stdout.flush()


def main(argv: list[str]) -> int:
    store_dir, out, parent = argv
    children.end_with(int(parent))
    priority = children.run_when_idle()
    store = Store.read_only(store_dir)
    rows = build_file(Path(out), store, lambda done, total, rows: _say(
        {"graphs_done": done, "graphs_total": total, "rows": rows}))
    _say({"done": True, "rows": rows, "priority": priority})
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
