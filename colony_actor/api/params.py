"""Parsing of request input (query parameters, JSON bodies) into checked values.

Each function answers a value or raises `ApiError` 400 with a sentence naming the
parameter; nothing here touches the runner or the store. A large body (up to
`server.max_body_bytes`) is parsed in a worker thread, never on the event loop.
"""

from __future__ import annotations

import json
from typing import Any

from quart import request

from colony_actor.api.errors import invalid
from colony_actor.runtime import threads

MAX_LIMIT = 1000


def non_negative_int(name: str, raw: str) -> int:
    if not raw.isdigit() or len(raw) > 9:
        raise invalid(f"{name} must be a non-negative integer, got {raw!r}")
    return int(raw)


def limit(raw: Any, default: int) -> int:
    if raw is None or raw == "":
        return default
    if isinstance(raw, bool) or not isinstance(raw, int | str):
        raise invalid(f"limit must be an integer from 1 to {MAX_LIMIT}")
    if isinstance(raw, str):
        if not raw.strip().isdigit():
            raise invalid(f"limit must be an integer from 1 to {MAX_LIMIT}, got {raw!r}")
        raw = int(raw)
    if not 1 <= raw <= MAX_LIMIT:
        raise invalid(f"limit must be an integer from 1 to {MAX_LIMIT}, got {raw}")
    return int(raw)


def flag(name: str) -> bool:
    raw = request.args.get(name)
    if raw is None:
        return False
    value = raw.strip().lower()
    if value in {"", "1", "true", "yes"}:
        return True
    if value in {"0", "false", "no"}:
        return False
    raise invalid(f"{name} must be true or false, got {raw!r}")


async def json_body(*, required: bool = True) -> Any:
    """The parsed JSON body; None when empty and not required."""
    data = await request.get_data(as_text=False)
    if not data or data.isspace():
        if required:
            raise invalid("A JSON body is required")
        return None
    try:
        return await threads.run_sized(len(data), json.loads, data)
    except (ValueError, RecursionError) as exc:
        # ValueError: not UTF-8, not JSON, or an integer past Python's digit limit;
        # RecursionError: nested deeper than the parser goes.
        raise invalid(f"Malformed JSON body: {exc}") from None


async def json_object(*fields: str) -> dict[str, Any]:
    """A JSON object body with each of `fields` present as a non-empty string."""
    body = await json_body()
    if not isinstance(body, dict):
        raise invalid("The JSON body must be an object")
    for name in fields:
        value = body.get(name)
        if not isinstance(value, str) or not value.strip():
            raise invalid(f"Field {name!r} is required and must be a non-empty string")
    return body
