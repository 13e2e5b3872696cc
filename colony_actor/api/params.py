"""Parsing of request input (query parameters, headers, JSON bodies) into checked values.

Each function answers a value or raises `ApiError` (400, or 415 for a body that is not
JSON) with a sentence naming the parameter; nothing here touches the runner or the store.
A large body (up to `server.max_body_bytes`) is parsed in a worker thread, never on the
event loop.

Numbers are read by `natural` alone: ASCII digits only (`str.isdigit` also takes other
scripts' digits and superscripts, some of which `int` refuses). A search form keeps only
its known members, each bounded (`SEARCH_FORMS`, `MAX_CHARS`): what a search job keeps
as its parameters is at most 100,000 characters of SPARQL and two short members, whatever
the size of the body that asked for it.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from typing import Any, Final

from quart import request

from colony_actor.api.errors import UNSUPPORTED_MEDIA_TYPE, ApiError, invalid
from colony_actor.runtime import threads
from colony_actor.service.catalogue import Argument, JobType

MAX_LIMIT: Final = 1000
_NATURAL: Final = re.compile(r"[0-9]{1,9}")
JSON_TYPE: Final = "application/json"
# Each search form and the member it needs (None: it needs none).
SEARCH_FORMS: Final[Mapping[str, str | None]] = {
    "text": "text", "by_type": "type_uri", "by_predicate": "predicate_uri",
    "advanced": "sparql", "browse": None}
# The longest value of each search member, in characters (the Colony domain checks the
# form again when the job runs: terms, IRIs, SPARQL).
MAX_CHARS: Final[Mapping[str, int]] = {
    "text": 10_000, "type_uri": 4096, "predicate_uri": 4096, "sparql": 100_000}
# A start message shows at most this much of a search's query.
LABEL_CHARS: Final = 200


def natural(raw: str) -> int | None:
    """The number `raw` writes in 1 to 9 ASCII digits, else None: the one reader of every
    number the API takes (depth, limit, wait, since, cursor, Last-Event-ID)."""
    return int(raw) if _NATURAL.fullmatch(raw) else None


def non_negative_int(name: str, raw: str) -> int:
    value = natural(raw)
    if value is None:
        raise invalid(f"{name} must be a non-negative integer, got {raw[:100]!r}")
    return value


def limit(raw: Any, default: int) -> int:
    if raw is None or raw == "":
        return default
    if isinstance(raw, bool) or not isinstance(raw, int | str):
        raise invalid(f"limit must be an integer from 1 to {MAX_LIMIT}")
    value = natural(raw) if isinstance(raw, str) else raw
    if value is None or not 1 <= value <= MAX_LIMIT:
        shown = repr(raw[:100]) if isinstance(raw, str) else raw
        raise invalid(f"limit must be an integer from 1 to {MAX_LIMIT}, got {shown}")
    return value


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
    """The parsed JSON body; None when empty and not required. A body that is not empty
    needs `Content-Type: application/json` (415 otherwise): a browser sends a cross-site
    `text/plain` POST without asking, never an `application/json` one."""
    data = await request.get_data(as_text=False)
    if not data or data.isspace():
        if required:
            raise invalid("A JSON body is required")
        return None
    if request.mimetype != JSON_TYPE:
        raise ApiError(UNSUPPORTED_MEDIA_TYPE,
                       f"The body must be sent with Content-Type: {JSON_TYPE}")
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
    """The checked form of a search given as `fields` (a JSON object's members, or query
    parameters): its `type`, its one member and its `limit`, nothing else; and the label
    its start message shows. The limit is the fields' own, else `limit_raw` (the `limit`
    query parameter), else `default_limit`; an advanced query takes one only from its
    fields (its SPARQL may say LIMIT itself)."""
    form = fields.get("type", "text")
    if not isinstance(form, str):
        raise invalid("The search type must be a string")
    if form not in SEARCH_FORMS:
        raise invalid(f"Unknown search type {form[:100]!r}; expected one of "
                      + ", ".join(SEARCH_FORMS))
    member = SEARCH_FORMS[form]
    unknown = sorted(set(fields) - {"type", "limit", member})
    if unknown:
        takes = ", ".join(name for name in ("type", member, "limit") if name)
        raise invalid(f"Unknown member {unknown[0][:100]!r} of a {form} search; it takes "
                      f"{takes}")
    query: dict[str, Any] = {"type": form}
    if member is not None:
        query[member] = _search_member(fields, member)
    if "limit" in fields:
        query["limit"] = limit(fields["limit"], default_limit)
    elif form != "advanced":
        query["limit"] = limit(limit_raw, default_limit)
    label = query[member] if member is not None else form
    if len(label) > LABEL_CHARS:
        label = label[:LABEL_CHARS - 1] + "…"
    return query, label


def _search_member(fields: Mapping[str, Any], name: str) -> str:
    value = fields.get(name)
    if value is None:
        raise invalid(f"Missing member {name!r} of the search")
    if not isinstance(value, str):
        raise invalid(f"The search member {name!r} must be a string")
    if not value.strip():
        raise invalid(f"The search member {name!r} is empty")
    if len(value) > MAX_CHARS[name]:
        raise invalid(f"The search member {name!r} is longer than {MAX_CHARS[name]} "
                      "characters")
    return value


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
        raise invalid("A search needs ?q= or a JSON body with a search form")
    if not isinstance(body, dict):
        raise invalid("The search body must be a JSON object or a string")
    return search_form(body, request.args.get("limit"), default_limit)


def synchronous_search(default_limit: int) -> tuple[dict[str, Any], str]:
    """The search form of GET /api/v1/search, all in query parameters: `?q=` for text,
    or `?type=` with the form's own fields (`q` stands for `text`)."""
    args = request.args
    search_type = args.get("type")
    if search_type is None:
        if "q" not in args:
            raise invalid("A search needs ?q= or ?type= with the form's members")
        fields: dict[str, Any] = {"type": "text", "text": args["q"]}
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
