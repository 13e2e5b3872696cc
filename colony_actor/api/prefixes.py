"""colonyd's current paths as aliases of ours: `/colony-0/...` serves what `/api/v1/...`
serves, `/colony-auth/token` what `/auth/token` does and `/colony-health` what `/health`
does, so a client written for today's colonyd works unchanged.

An alias is a second rule on the same view, added once every route is registered: it
answers with the same operation, the same shapes and the same errors. What the API names
in its answers (Location) is said under the prefix the client used. This module must
never hold an operation of its own.
"""

from __future__ import annotations

from typing import Final

from quart import Quart

from colony_actor.api.routes import API, COLONYD_API

# Each of our paths, and colonyd's name for it (a prefix for the API, exact otherwise).
ALIASES: Final = ((API, COLONYD_API), ("/auth/token", "/colony-auth/token"),
                  ("/health", "/colony-health"))
ALIAS_SUFFIX: Final = "__colonyd"
PROTECTED: Final = (API, COLONYD_API)


def _alias(rule: str) -> str | None:
    for ours, theirs in ALIASES:
        if rule == ours or (ours == API and rule.startswith(API + "/")):
            return theirs + rule[len(ours):]
    return None


def add_aliases(app: Quart) -> None:
    """Adds colonyd's path of every route of ours that has one."""
    for rule in list(app.url_map.iter_rules()):
        alias = _alias(rule.rule)
        if alias is None:
            continue
        app.add_url_rule(alias, endpoint=rule.endpoint + ALIAS_SUFFIX,
                         view_func=app.view_functions[rule.endpoint],
                         methods=sorted((rule.methods or set()) - {"HEAD", "OPTIONS"}))


def needs_token(path: str) -> bool:
    """Whether `path` is under one of the API's prefixes (ours or colonyd's)."""
    return any(path == prefix or path.startswith(prefix + "/") for prefix in PROTECTED)
