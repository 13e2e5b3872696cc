"""The Server-Sent Events of a job (API.md §4): one `event: job` per change, starting with
the current state, ending after the terminal one, honouring `Last-Event-ID`.

How often a follower is woken is the runner's business (`runner.watch`); this module only
writes the stream. It must never hold a job's encoding per stream: `Bodies` shares one
among every follower.
"""

from __future__ import annotations

from collections.abc import AsyncIterator

from quart import Response, request
from quart_trio import QuartTrio

from colony_actor.api import params
from colony_actor.api.encoding import Bodies, joined
from colony_actor.api.routes.jobs import JOBS, found
from colony_actor.jobs.lifecycle import Job
from colony_actor.service.services import Services

KEEPALIVE_SECONDS = 15.0
# A stream sends a change of progress at most once per interval (a change of status, the
# end included, at once): a job whose progress moves many times a second would otherwise
# cost every follower a send per change. Half a second is the reference CLI's poll interval.
MIN_INTERVAL_SECONDS = 0.5


def register(app: QuartTrio, services: Services, bodies: Bodies) -> None:
    runner = services.runner

    async def event(job: Job) -> bytes:
        return await joined(b"event: job\nid: %d\ndata: " % job.version, await bodies.job(job),
                            b"\n\n")

    @app.get(f"{JOBS}/<job_id>/events")
    async def job_events(job_id: str) -> Response:
        found(runner, job_id)
        last = request.headers.get("Last-Event-ID", "").strip()
        # Not a version we gave (not 1 to 9 ASCII digits): the stream starts from the top.
        since = params.natural(last) or 0

        async def stream() -> AsyncIterator[bytes]:
            async for job in runner.watch(job_id, since, keepalive=KEEPALIVE_SECONDS,
                                          min_interval=MIN_INTERVAL_SECONDS):
                if job is None:
                    yield b": keepalive\n\n"
                    continue
                yield await event(job)

        response = Response(stream(), mimetype="text/event-stream")
        response.headers["Cache-Control"] = "no-cache"
        response.headers["X-Accel-Buffering"] = "no"
        response.timeout = None  # a stream lasts as long as the job
        return response
