"""What the HTTP handlers are given: the runner, the Colony facade, the token authority,
settings and metrics. Plain references; handlers never replace them."""

from __future__ import annotations

from dataclasses import dataclass

from colony_actor.api.auth import TokenAuthority
from colony_actor.colony.pods import Colony
from colony_actor.config import Settings
from colony_actor.jobs.runner import JobRunner
from colony_actor.metrics import Metrics
from colony_actor.operations import Operations


@dataclass(frozen=True)
class Services:
    runner: JobRunner
    colony: Colony
    auth: TokenAuthority
    settings: Settings
    metrics: Metrics

    @property
    def operations(self) -> Operations:
        return Operations(self.colony)
