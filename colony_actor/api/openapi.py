"""The OpenAPI 3.1 document, derived from the app's own routes so it cannot drift from
them. Each operation lists its parameters and the error shape of API.md §1. It must never
describe a route by hand: a route is documented by being registered."""

from __future__ import annotations

import re
from typing import Any

from quart import Quart

from colony_actor import __version__

_ERROR = {"$ref": "#/components/schemas/Error"}
_PUBLIC = {"/health", "/metrics", "/openapi.json", "/auth/token"}


def _path(rule: str) -> tuple[str, list[str]]:
    names: list[str] = []

    def convert(match: re.Match[str]) -> str:
        names.append(match.group(2))
        return "{" + match.group(2) + "}"

    return re.sub(r"<(?:(\w+):)?(\w+)>", convert, rule), names


def document(app: Quart) -> dict[str, Any]:
    paths: dict[str, dict[str, Any]] = {}
    for rule in app.url_map.iter_rules():
        if rule.endpoint == "static":
            continue
        path, names = _path(rule.rule)
        view = app.view_functions[rule.endpoint]
        for method in sorted((rule.methods or set()) - {"HEAD", "OPTIONS"}):
            operation: dict[str, Any] = {
                "operationId": rule.endpoint,
                "summary": (view.__doc__ or rule.endpoint.replace("_", " ")).strip(),
                "parameters": [{"name": n, "in": "path", "required": True,
                                "schema": {"type": "string"}} for n in names],
                "responses": {
                    "default": {"description": "An error",
                                "content": {"application/json": {"schema": _ERROR}}},
                },
            }
            operation["responses"]["200"] = {"description": "Success"}
            if path not in _PUBLIC:
                operation["security"] = [{"bearer": []}]
            paths.setdefault(path, {})[method.lower()] = operation
    return {
        "openapi": "3.1.0",
        "info": {"title": "colony-actor", "version": __version__},
        "paths": dict(sorted(paths.items())),
        "components": {
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer",
                                           "bearerFormat": "JWT"}},
            "schemas": {"Error": {
                "type": "object", "required": ["error", "message", "timestamp"],
                "properties": {"error": {"type": "string"}, "message": {"type": "string"},
                               "timestamp": {"type": "string", "format": "date-time"}}}},
        },
    }
