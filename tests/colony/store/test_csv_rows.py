"""csv_rows (store/rows.py): a large answer is turned into rows without holding the GIL
for all of it at once."""

from __future__ import annotations

import sys
from pathlib import Path
from types import FrameType
from typing import Any

from pyoxigraph import Literal, NamedNode, Quad, Store

from colony_actor.colony.store import rows

ROWS = 3000


def test_a_large_answer_is_read_row_by_row_in_the_interpreter(tmp_path: Path) -> None:
    # Each row is taken in a loop of the interpreter, between whose steps it can hand the
    # GIL to the event loop's thread; list(reader) would read them all in one C call (a
    # 100,000-row answer held the loop 30 to 200 ms during an index catch-up).
    store = Store(str(tmp_path / "store"))
    graph = NamedNode("http://example.com/g")
    store.extend(Quad(NamedNode(f"http://example.com/s{i}"), NamedNode("http://example.com/p"),
                      Literal(f"text, \"quoted\"\nline {i}"), graph) for i in range(ROWS))
    steps = 0

    def trace(frame: FrameType, event: str, arg: Any) -> Any:
        nonlocal steps
        if frame.f_code.co_filename == rows.__file__ and event == "line":
            steps += 1
        return trace

    previous = sys.gettrace()
    sys.settrace(trace)
    try:
        found = rows.csv_rows(store, "SELECT ?s ?o WHERE { GRAPH ?g { ?s ?p ?o } } ORDER BY ?s")
    finally:
        sys.settrace(previous)
    assert len(found) == ROWS
    assert sorted(found)[0] == ["http://example.com/s0", "text, \"quoted\"\nline 0"]
    assert steps >= ROWS
