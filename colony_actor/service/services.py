"""What the HTTP handlers are given: the runner, the Colony facade, the token authority,
settings, metrics and the job journal. Plain references, built by `service/wiring.py`;
handlers never replace them."""

from __future__ import annotations

from dataclasses import dataclass

from colony_actor.colony.facade import Colony
from colony_actor.jobs.journal.store import JobJournal
from colony_actor.jobs.runner import JobRunner
from colony_actor.service.config import Settings
from colony_actor.service.metrics import Metrics
from colony_actor.service.operations import Operations
from colony_actor.service.tokens import TokenAuthority


@dataclass(frozen=True)
class Services:
    runner: JobRunner
    colony: Colony
    auth: TokenAuthority
    settings: Settings
    metrics: Metrics
    journal: JobJournal

    @property
    def operations(self) -> Operations:
        return Operations(self.colony)
