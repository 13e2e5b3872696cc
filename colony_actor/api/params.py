"""Parsing of request input (query parameters, JSON bodies) into checked values.

Each function answers a value or raises `ApiError` 400 with a sentence naming the
parameter; nothing here touches the runner or the store. A large body (up to
`server.max_body_bytes`) is parsed in a worker thread, never on the event loop.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from quart import request

from colony_actor.api.errors import invalid
from colony_actor.runtime import threads
from colony_actor.service.catalogue import Argument, JobType

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


def search_form(fields: Mapping[str, Any], limit_raw: Any, default_limit: int
                ) -> tuple[dict[str, Any], str]:
    """The query mapping colony validates (`parse_query`), built from a search form's
    fields, and the label its start message shows. The limit is checked here: the fields'
    own, else `limit_raw` (the `limit` query parameter); an advanced query takes one only
    from its fields."""
    query = dict(fields)
    if "limit" in query:
        query["limit"] = limit(query["limit"], default_limit)
    elif query.get("type") != "advanced":
        query["limit"] = limit(limit_raw, default_limit)
    label = (query.get("text") or query.get("type_uri") or query.get("predicate_uri")
             or query.get("sparql") or query.get("type") or "")
    return query, str(label)


async def job_search(default_limit: int) -> tuple[dict[str, Any], str]:
    """The search form of a job start: `?q=&limit=`, else a JSON body (a form object, or
    a string of text)."""
    q = request.args.get("q")
    if q is not None:
        return search_form({"type": "text", "text": q}, request.args.get("limit"),
                           default_limit)
    body = await json_body(required=False)
    if isinstance(body, str):
        return search_form({"type": "text", "text": body}, None, default_limit)
    if body is None:
        body = {}
    if not isinstance(body, dict):
        raise invalid("The search body must be a JSON object or a string")
    return search_form(body, request.args.get("limit"), default_limit)


def synchronous_search(default_limit: int) -> tuple[dict[str, Any], str]:
    """The search form of GET /api/v1/search, all in query parameters: `?q=` for text,
    or `?type=` with the form's own fields (`q` stands for `text`)."""
    args = request.args
    search_type = args.get("type")
    if search_type is None:
        fields: dict[str, Any] = {"type": "text", "text": args.get("q", "")}
    else:
        fields = {"type": search_type}
        for name in ("q", "text", "type_uri", "predicate_uri", "sparql"):
            if name in args:
                fields["text" if name == "q" else name] = args[name]
    return search_form(fields, args.get("limit"), default_limit)


async def job_argument(job_type: JobType, path: Mapping[str, str], default_limit: int, *,
                       synchronous: bool = False) -> tuple[Any, str | None]:
    """The argument a job type takes, read from the request (its path values `path`), and
    the label its start message shows (None: the argument itself)."""
    argument = job_type.argument
    if argument is None:
        return None, None
    if argument is Argument.QUERY:
        if synchronous:
            return synchronous_search(default_limit)
        return await job_search(default_limit)
    raw = path[argument.value]
    if argument is Argument.DEPTH:
        return non_negative_int(argument.value, raw), None
    return raw, None
