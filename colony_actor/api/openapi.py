"""The OpenAPI 3.1 document: the app's registered routes joined to what api/contract.py
says of each (parameters, body, answers, headers, error codes) and the shapes of
api/models.py. A route is documented by being registered and described: one registered
without a description, or with a path parameter its description does not name, is a
`LookupError` here (a test builds the document), never a silent gap. It must never name a
path of its own."""

from __future__ import annotations

import re
from collections import defaultdict
from typing import Any

from quart import Quart

from colony_actor import __version__
from colony_actor.api import models, prefixes
from colony_actor.api.contract import COMMON, HEADERS, OPERATIONS, Answer, Operation, Param
from colony_actor.api.errors import UNAUTHORIZED, ErrorCode
from colony_actor.api.routes import API, COLONYD_API

ERROR_HEADERS = {401: ("WWW-Authenticate",), 429: ("Retry-After",), 503: ("Retry-After",)}
TAGS = [
    {"name": "jobs", "description": "Long operations as jobs: start (202), follow, result"},
    {"name": "synchronous", "description": "The legacy routes: run a job and wait for it"},
    {"name": "pods", "description": "Quick local edits and reads of pods"},
    {"name": "system", "description": "Token, health, metrics and this document"},
    {"name": "colonyd", "description": f"colonyd's current paths: `{COLONYD_API}/...` is "
     f"`{API}/...`, `/colony-auth/token` is `/auth/token`, `/colony-health` is `/health`"},
]


def _path(rule: str) -> tuple[str, list[str]]:
    names: list[str] = []

    def convert(match: re.Match[str]) -> str:
        names.append(match.group(2))
        return "{" + match.group(2) + "}"

    return re.sub(r"<(?:(\w+):)?(\w+)>", convert, rule), names


def _headers(names: tuple[str, ...], *, required: bool) -> dict[str, Any]:
    return {name: {"description": HEADERS[name][0], "required": required,
                   "schema": HEADERS[name][1]} for name in names}


def _answer(answer: Answer) -> dict[str, Any]:
    described: dict[str, Any] = {"description": answer.description}
    if answer.media:
        schema = models.ref(answer.model) if answer.model else answer.schema
        described["content"] = {answer.media: {"schema": schema}}
    # Location always comes with a 202; Retry-After only while a job is not finished.
    described["headers"] = {**_headers(answer.headers, required=answer.headers == ("Location",)),
                            **_headers(("X-Request-ID",), required=False)}
    return described


def _errors(codes: tuple[ErrorCode, ...]) -> dict[str, Any]:
    by_status: dict[int, list[ErrorCode]] = defaultdict(list)
    for code in codes:
        if code not in by_status[code.status]:
            by_status[code.status].append(code)
    answers = {}
    for status, listed in sorted(by_status.items()):
        described: dict[str, Any] = {
            "description": "; ".join(f"`{code.name}`: {code.when}" for code in listed),
            "content": {"application/json": {"schema": models.ref(models.Error)}}}
        described["headers"] = _headers((*ERROR_HEADERS.get(status, ()), "X-Request-ID"),
                                        required=False)
        answers[str(status)] = described
    return answers


def _parameter(param: Param) -> dict[str, Any]:
    return {"name": param.name, "in": param.where, "description": param.description,
            "required": param.required or param.where == "path", "schema": param.schema}


def _operation(endpoint: str, path: str, names: list[str], method: str) -> dict[str, Any]:
    base = endpoint.removesuffix(prefixes.ALIAS_SUFFIX)
    described: Operation | None = OPERATIONS.get(base)
    if described is None:
        raise LookupError(f"route {method} {path} ({base}) is not described in api/contract.py")
    params = {(p.where, p.name): p for p in described.params}
    for name in names:
        if ("path", name) not in params:
            raise LookupError(f"{method} {path}: path parameter {name!r} is not described")
    protected = prefixes.needs_token(path)
    codes = (*described.errors, *COMMON, *((UNAUTHORIZED,) if protected else ()))
    responses = {str(described.answer.status): _answer(described.answer)}
    if described.pending is not None:
        responses[str(described.pending.status)] = _answer(described.pending)
    responses.update(_errors(codes))
    alias = endpoint != base
    operation: dict[str, Any] = {
        "operationId": endpoint,
        "summary": described.summary,
        "tags": ["colonyd" if alias else described.tag],
        "parameters": [_parameter(p) for p in described.params
                       if p.where != "path" or p.name in names],
        "responses": responses,
    }
    if described.body is not None:
        operation["requestBody"] = {"required": described.body_required, "content": {
            "application/json": {"schema": described.body}}}
    if protected:
        operation["security"] = [{"bearer": []}]
    return operation


def document(app: Quart) -> dict[str, Any]:
    paths: dict[str, dict[str, Any]] = {}
    for rule in app.url_map.iter_rules():
        if rule.endpoint == "static":
            continue
        path, names = _path(rule.rule)
        for method in sorted((rule.methods or set()) - {"HEAD", "OPTIONS"}):
            paths.setdefault(path, {})[method.lower()] = _operation(
                rule.endpoint, path, names, method)
    return {
        "openapi": "3.1.0",
        "info": {"title": "colony-actor", "version": __version__,
                 "description": "The HTTP API of the colony-actor daemon. Every error is "
                 "JSON `{error, message, timestamp, ...}` (the Error schema). A guide: "
                 "docs/api.md."},
        "tags": TAGS,
        "paths": dict(sorted(paths.items())),
        "components": {
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer",
                                           "bearerFormat": "JWT"}},
            "schemas": models.components()},
    }
