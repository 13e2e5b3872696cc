"""The supervisor's promise: never an HTTP server in front of a dead actor."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest
import trio

from colony_actor.daemon import supervisor
from colony_actor.jobs.runner import JobRequest, ProgressFn
from tests.support import MNEMONIC, PASSWORD, settings_for


class ActorKiller(BaseException):
    """Not an Exception: the runner fails a job for an Exception, but this ends it."""


async def kill_the_actor(progress: ProgressFn) -> None:
    raise ActorKiller("the runner ends here")


async def test_a_dead_runner_stops_the_server(tmp_path: Path) -> None:
    settings = settings_for(tmp_path / "d", tmp_path / "n", server={"port": 0})
    env = {"COLONY_ACTOR_PASSWORD": PASSWORD, "COLONY_ACTOR_MNEMONIC": MNEMONIC}
    url = ""
    with pytest.raises(BaseExceptionGroup) as caught:
        async with trio.open_nursery() as nursery:
            started = await nursery.start(lambda task_status: supervisor.serve(
                settings, env=env, task_status=task_status))
            url = started.urls[0]
            async with httpx.AsyncClient(base_url=url) as client:
                assert (await client.get("/health")).status_code == 200
            # Kill the actor the way a bug would: it raises, with no graceful stop.
            await started.services.runner.start(
                JobRequest("search", kill_the_actor, "A job that ends the runner"))
            await trio.sleep_forever()
    assert caught.group_contains(ActorKiller)
    with pytest.raises(httpx.ConnectError):
        async with httpx.AsyncClient(base_url=url) as client:
            await client.get("/health")
