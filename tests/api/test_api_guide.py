"""docs/api.md against the OpenAPI document: the same routes both ways, and each route's
section names its parameters, its answers and the error codes particular to it; every
error code in the table with its status; colonyd's names given."""

from __future__ import annotations

import re
from pathlib import Path

from colony_actor.api import errors
from colony_actor.api.contract import COMMON
from tests.api.test_openapi import spec_of
from tests.support import Harness

GUIDE = Path(__file__).parents[2] / "docs" / "api.md"
ALIASES = {"/colony-0/": "/api/v1/", "/colony-auth/token": "/auth/token",
           "/colony-health": "/health"}
GENERAL = {code.name for code in COMMON} | {errors.UNAUTHORIZED.name}


def sections() -> dict[tuple[str, str], str]:
    """Each route's section of the guide, by (method, path)."""
    found: dict[tuple[str, str], str] = {}
    parts = re.split(r"^### `([A-Z]+) (\S+)`$", GUIDE.read_text(), flags=re.MULTILINE)
    for method, path, text in zip(parts[1::3], parts[2::3], parts[3::3], strict=True):
        assert (method, path) not in found, f"{method} {path} twice in the guide"
        found[(method, path)] = re.split(r"^#{1,2} ", text, flags=re.MULTILINE)[0]
    return found


def canonical(path: str) -> str:
    for theirs, ours in ALIASES.items():
        if path.startswith(theirs):
            return ours + path[len(theirs):]
    return path


async def test_the_guide_and_the_document_name_the_same_routes(harness: Harness) -> None:
    spec = await spec_of(harness)
    documented = {(method.upper(), canonical(path)) for path, item in spec["paths"].items()
                  for method in item}
    assert set(sections()) == documented


async def test_each_section_says_what_its_route_takes_and_answers(harness: Harness) -> None:
    guide = sections()
    for path, item in (await spec_of(harness))["paths"].items():
        if canonical(path) != path:
            continue
        for method, operation in item.items():
            text = guide[(method.upper(), path)]
            for parameter in operation["parameters"]:
                assert f"`{parameter['name']}`" in text, (method, path, parameter["name"])
            for status, answer in operation["responses"].items():
                codes = set(re.findall(r"`([A-Z_]+)`", answer["description"])) - GENERAL
                if status.startswith("2") and not codes:
                    assert status in text, (method, path, status)
                for code in codes:
                    assert f"{status} `{code}`" in text or f"`{code}`" in text, (
                        method, path, code)


def test_every_error_code_is_in_the_table() -> None:
    text = GUIDE.read_text()
    for code in errors.CODES:
        assert f"| `{code.name}` | {code.status} |" in text, code.name


def test_colonyd_names_are_given() -> None:
    text = GUIDE.read_text()
    for theirs, ours in ALIASES.items():
        assert f"| `{ours.rstrip('/')}{'/...' if ours.endswith('/') else ''}` | " \
               f"`{theirs.rstrip('/')}{'/...' if theirs.endswith('/') else ''}` |" in text
