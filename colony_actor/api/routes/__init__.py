"""The app's routes, one module per group: jobs (start, status, result, list, cancel,
forget), events (Server-Sent Events), synchronous (the legacy routes), pods, system
(health, metrics, OpenAPI, tokens). Each module's `register` adds its routes to the app."""

from __future__ import annotations

import re

from colony_actor.service.catalogue import Argument

API = "/api/v1"
# colonyd's name for API (api/prefixes.py serves every route of API under it too).
COLONYD_API = "/colony-0"
# A path argument that may hold slashes (a subject such as `ant://...`, a pod's name).
_SLASHED = frozenset({Argument.POD, Argument.SUBJECT})


def rule(path: str, argument: Argument | None) -> str:
    """The route rule of a catalogue path: `{depth}` becomes `<depth>`, `{pod}` and
    `{subject}` become `<path:...>`."""
    converter = "path:" if argument in _SLASHED else ""
    return re.sub(r"\{(\w+)\}", lambda match: f"<{converter}{match.group(1)}>", path)
