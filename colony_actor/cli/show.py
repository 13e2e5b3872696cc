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
    # Whole ids, never cut or folded, so that one can be copied into `cancel` or `follow`;
    # the message takes what width is left, and is left out on a terminal too narrow for it.
    rows = [(str(job["id"]), str(job["job_type"]), str(job["status"]),
             f"{job['progress']:.0%}", age(str(job["created_at"])),
             str(job.get("message") or "")) for job in found]
    headers = ("ID", "TYPE", "STATUS", "DONE", "AGE")
    widths = [max(len(header), *(len(row[n]) for row in rows))
              for n, header in enumerate(headers)]
    left = OUT.width - sum(widths) - 2 * len(widths)
    longest = max(len("MESSAGE"), *(len(row[5]) for row in rows))
    table = _table(*headers, *(("MESSAGE",) if left >= len("MESSAGE") else ()))
    for column, width in zip(table.columns, [*widths, min(left, longest)], strict=False):
        column.no_wrap = True
        column.width = width
        column.overflow = "ellipsis"
    for row in rows:
        table.add_row(*row[:len(table.columns)])
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
