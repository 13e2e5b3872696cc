"""A short schemathesis run against a real daemon: requests drawn from /openapi.json, with a
valid token, must never get a 5xx nor an answer the document does not describe (status,
content type, headers, body). Bounded: a few examples per operation, colonyd's aliases
left out (they are the same views; test_colonyd_paths runs them)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from tests.e2e.daemon import Daemon

EXAMPLES = 5
CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance,
          response_headers_conformance, response_schema_conformance]


@pytest.fixture(scope="module")
def daemon(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Daemon]:
    root = tmp_path_factory.mktemp("fuzz")
    started = Daemon(root / "a", root / "network").start()
    yield started
    started.stop()


def test_answers_follow_the_document(daemon: Daemon) -> None:
    schema = schemathesis.openapi.from_url(f"{daemon.url}/openapi.json")
    headers = {"Authorization": f"Bearer {daemon.token}"}
    operations = [result.ok() for result in
                  schema.exclude(path_regex="^/colony-").get_all_operations()]
    assert len(operations) > 20
    failures: list[str] = []
    for operation in operations:

        @given(case=operation.as_strategy())
        @settings(max_examples=EXAMPLES, deadline=None, derandomize=True, database=None,
                  phases=[Phase.explicit, Phase.generate],
                  suppress_health_check=list(HealthCheck))
        def run(case: Any) -> None:
            case.call_and_validate(headers=headers, checks=CHECKS, timeout=30)

        try:
            run()
        except (Exception, BaseExceptionGroup) as exc:  # every operation's failure, not the first
            failures.append(f"{operation.label}: {exc}")
    assert not failures, "\n\n".join(failures)
