"""How the command line shows things: results as tables for people, JSON for scripts
(`--json`), sentences for what was done. Output goes to stdout; messages and the progress
bar go to stderr (`cli/main.py` owns the streams). It must never talk to the daemon."""

from __future__ import annotations

import json
import sys
from datetime import UTC, datetime
from typing import Any

from rich.console import Console
from rich.table import Table


# On a terminal, tables fit its width; into a pipe or a file, rows are never cut or
# folded, so that grep, awk and copy-paste see whole ids and addresses.
class _Console(Console):
    def on_broken_pipe(self) -> None:
        # Rich would exit 1 here; the entry point gives a closed pipe its own code.
        raise BrokenPipeError


OUT = _Console(highlight=False, width=None if sys.stdout.isatty() else 4096)


def as_json(data: Any) -> None:
    sys.stdout.write(json.dumps(data, indent=2, ensure_ascii=False) + "\n")
    sys.stdout.flush()


def line(text: str) -> None:
    sys.stdout.write(text + "\n")
    sys.stdout.flush()


def _table(*columns: str) -> Table:
    return Table(*columns, box=None, pad_edge=False, show_edge=False, padding=(0, 2, 0, 0),
                 header_style="bold")


def age(stamp: str, now: datetime | None = None) -> str:
    """How long ago an RFC 3339 time was, as kubectl shows it: 12s, 5m, 3h, 2d."""
    try:
        then = datetime.fromisoformat(stamp.replace("Z", "+00:00"))
    except ValueError:
        return "?"
    seconds = max(0, int(((now or datetime.now(UTC)) - then).total_seconds()))
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if seconds >= size:
            return f"{seconds // size}{unit}"
    return f"{seconds}s"


def _print(table: Table) -> None:
    OUT.print(table)
    OUT.file.flush()


def jobs(found: list[dict[str, Any]]) -> None:
    if not found:
        line("No jobs.")
        return
    table = _table("ID", "TYPE", "STATUS", "DONE", "AGE", "MESSAGE")
    # Whole ids, never cut or folded, so that one can be copied into `cancel` or `follow`;
    # on a narrow terminal the message gives way first.
    for column, text in zip(table.columns[:5], ("0" * 36, "getsubjectdata", "cancelled",
                                                "100%", "59m"), strict=True):
        column.no_wrap = True
        column.min_width = len(text) if column.header != "ID" else max(
            len(str(job["id"])) for job in found)
    table.columns[5].no_wrap = True
    table.columns[5].overflow = "ellipsis"
    for job in found:
        table.add_row(str(job["id"]), str(job["job_type"]), str(job["status"]),
                      f"{job['progress']:.0%}", age(str(job["created_at"])),
                      str(job.get("message") or ""))
    _print(table)


def pods(found: list[dict[str, Any]]) -> None:
    if not found:
        line("No pods.")
        return
    table = _table("NAME", "DEPTH", "ADDRESS")
    # Whole addresses, so that one can be copied; long names fold instead.
    table.columns[0].overflow = "fold"
    table.columns[2].no_wrap = True
    table.columns[2].min_width = max(len(str(pod.get("address", ""))) for pod in found)
    for pod in found:
        table.add_row(str(pod.get("name") or ""), str(pod.get("depth", "")),
                      str(pod.get("address", "")))
    _print(table)


def _value(binding: Any) -> str:
    if isinstance(binding, dict):
        return str(binding.get("value", ""))
    return "" if binding is None else str(binding)


def bindings(sparql: dict[str, Any]) -> int:
    """A SPARQL JSON result as a table; the number of rows."""
    variables = [str(v) for v in sparql.get("head", {}).get("vars", [])]
    rows = sparql.get("results", {}).get("bindings", [])
    if rows and variables:
        table = _table(*(v.upper() for v in variables))
        for row in rows:
            table.add_row(*(_value(row.get(v)) for v in variables))
        _print(table)
    return len(rows)


def result(outcome: Any) -> None:
    """A completed job's result, shown by its shape: a search, SPARQL rows, or the
    message and counts of a cache operation."""
    if isinstance(outcome, dict) and isinstance(outcome.get("sparql_results"), dict):
        count = bindings(outcome["sparql_results"])
        pods_found = outcome.get("pods_found") or []
        total = outcome.get("result_count", count)
        where = (f" in {len(pods_found)} pod{'' if len(pods_found) == 1 else 's'}"
                 if pods_found else "")
        line(f"{total} result{'' if total == 1 else 's'}{where}.")
        return
    if isinstance(outcome, dict) and "head" in outcome and "results" in outcome:
        count = bindings(outcome)
        line(f"{count} statement{'' if count == 1 else 's'}." if count
             else "No data for this subject.")
        return
    if isinstance(outcome, dict) and "message" in outcome:
        line(str(outcome["message"]).rstrip(".") + ".")
        counts = {k: v for k, v in outcome.items()
                  if k not in {"status", "message", "timestamp"}}
        if counts:
            table = _table("WHAT", "VALUE")
            for key, value in counts.items():
                shown = ", ".join(map(str, value)) if isinstance(value, list) else str(value)
                table.add_row(key.replace("_", " "), shown)
            _print(table)
        return
    as_json(outcome)
