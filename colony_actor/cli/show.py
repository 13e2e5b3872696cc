"""How the command line shows things: results as tables for people, JSON for scripts
(`--json`), sentences for what was done. Output goes to stdout; messages and the progress
bar go to stderr (`cli/main.py` owns the streams). It must never talk to the daemon."""

from __future__ import annotations

import json
import sys
from typing import Any

from rich import box
from rich.console import Console
from rich.table import Table

OUT = Console(soft_wrap=True, highlight=False)


def as_json(data: Any) -> None:
    sys.stdout.write(json.dumps(data, indent=2, ensure_ascii=False) + "\n")
    sys.stdout.flush()


def line(text: str) -> None:
    sys.stdout.write(text + "\n")
    sys.stdout.flush()


def _table(*columns: str) -> Table:
    return Table(*columns, box=box.SIMPLE_HEAD, pad_edge=False, show_edge=False)


def _print(table: Table) -> None:
    OUT.print(table)
    OUT.file.flush()


def jobs(found: list[dict[str, Any]]) -> None:
    if not found:
        line("No jobs.")
        return
    table = _table("ID", "TYPE", "STATUS", "PROGRESS", "CREATED", "MESSAGE")
    # Whole ids, never cut or folded, so that one can be copied into `cancel` or `follow`.
    table.columns[0].no_wrap = True
    table.columns[0].min_width = max(len(str(job["id"])) for job in found)
    table.columns[4].no_wrap = True
    table.columns[5].overflow = "ellipsis"
    table.columns[5].no_wrap = True
    for job in found:
        table.add_row(str(job["id"]), str(job["job_type"]), str(job["status"]),
                      f"{job['progress']:.0%}", str(job["created_at"])[:19].replace("T", " "),
                      str(job.get("message") or ""))
    _print(table)


def pods(found: list[dict[str, Any]]) -> None:
    if not found:
        line("No pods.")
        return
    table = _table("ADDRESS", "NAME", "DEPTH", "MODIFIED")
    table.columns[0].no_wrap = True
    for pod in found:
        table.add_row(str(pod.get("address", "")), str(pod.get("name") or ""),
                      str(pod.get("depth", "")), str(pod.get("modified_at") or ""))
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
        line(f"{total} result{'' if total == 1 else 's'} in {len(pods_found)} "
             f"pod{'' if len(pods_found) == 1 else 's'}.")
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
