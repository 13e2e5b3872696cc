"""The job resource of API.md §2, as clients read it."""

from datetime import UTC, datetime

from colony_actor.jobs import lifecycle
from colony_actor.jobs.lifecycle import Event
from colony_actor.jobs.wire import job_resource

T0 = datetime(2024, 1, 1, 12, 0, 0, tzinfo=UTC)


def _job() -> lifecycle.Job:
    return lifecycle.new_job("id-1", "refreshcache", {}, "Cache refresh job started", T0)


def test_new_job_is_pending_with_seed_fields() -> None:
    wire = job_resource(_job())
    assert wire["status"] == "pending"
    assert wire["progress"] == 0.0
    assert wire["created_at"] == "2024-01-01T12:00:00.000Z"
    for key in ("id", "job_type", "status", "progress", "message", "result", "error",
                "created_at", "updated_at"):
        assert key in wire


def test_seed_fields_come_first_then_the_additive_ones() -> None:
    job = lifecycle.apply(lifecycle.apply(_job(), Event.START, T0), Event.COMPLETE, T0,
                          result={"x": 1})
    wire = job_resource(job)
    assert list(wire)[:9] == ["id", "job_type", "status", "progress", "message", "result",
                              "error", "created_at", "updated_at"]
    assert (wire["started_at"], wire["finished_at"]) == ("2024-01-01T12:00:00.000Z",) * 2
    assert (wire["version"], wire["params"], wire["result"]) == (3, {}, {"x": 1})
