"""Timestamps as text: the one home of the formats the daemon writes and reads.

`wire` is the RFC 3339 form of API.md (UTC, milliseconds, `Z`) that clients read. `stored`
is the same with microseconds: fixed width, so its text sorts in time order (the job
journal's index, Colony's own dates inside pods). `parse` reads either back. A leaf: it
imports nothing of ours and never writes a local time.
"""

from __future__ import annotations

from datetime import UTC, datetime


def utc_now() -> datetime:
    return datetime.now(UTC)


def _utc(moment: datetime) -> datetime:
    # A naive datetime is taken as UTC (the daemon never makes local ones).
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def wire(moment: datetime) -> str:
    """`2024-01-01T12:00:00.000Z`: what API answers carry."""
    return _utc(moment).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def stored(moment: datetime) -> str:
    """`2024-01-01T12:00:00.000000Z`: fixed width, sorts as text."""
    return _utc(moment).isoformat(timespec="microseconds").replace("+00:00", "Z")


def now_wire() -> str:
    return wire(utc_now())


def now_stored() -> str:
    return stored(utc_now())


def parse(text: object) -> datetime:
    """A timestamp written by `wire` or `stored` (or any RFC 3339 text with a zone), in
    UTC; ValueError or TypeError for anything else."""
    if not isinstance(text, str):
        raise TypeError("a timestamp must be text")
    moment = datetime.fromisoformat(text)
    if moment.tzinfo is None:
        raise ValueError(f"timestamp {text[:40]!r} has no time zone")
    return moment.astimezone(UTC)
