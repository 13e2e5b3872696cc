"""Prometheus metrics of one daemon: HTTP requests by route template, error answers by
code, connections, jobs (duration, outcome, queue), network operations, the process and
its health (a gauge per reason to be degraded), in a registry of its own (no process-wide
globals, so tests can build several daemons). The README's "Metrics" list names each.

Labels take values from bounded sets only (route templates, never raw paths; job types;
error codes), so the number of series cannot grow with traffic. It must never block: the
job gauges read the runner's `statistics()` at scrape time."""

from __future__ import annotations

from typing import Final

from prometheus_client import (
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    PlatformCollector,
    ProcessCollector,
    generate_latest,
)

from colony_actor.jobs.errors import FailureKind
from colony_actor.jobs.lifecycle import Job
from colony_actor.jobs.runner import JobRunner
from colony_actor.service import health

# A request that matched no route: one label for all of them; likewise any method not here.
UNMATCHED_ROUTE: Final = "unmatched"
METHODS: Final = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})
# Outcomes of a job: its terminal status, or "interrupted" when the daemon stopped first.
JOB_OUTCOMES: Final = ("completed", "failed", "cancelled", "interrupted")
NETWORK_OPERATIONS: Final = ("get_pointer", "put_pointer", "get_scratchpad", "put_scratchpad")
# Outcomes of a network call: `found`/`absent` for reads, `stored` for writes, or why not.
NETWORK_OUTCOMES: Final = ("found", "absent", "stored", "stale_counter", "bad_signature",
                           "error", "cancelled")

_JOB_SECONDS: Final = (0.01, 0.05, 0.1, 0.5, 1.0, 5.0, 10.0, 30.0, 60.0, 300.0, 900.0,
                       3600.0, float("inf"))
_NETWORK_SECONDS: Final = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0,
                           2.5, 5.0, 10.0, float("inf"))


def job_outcome(job: Job) -> str:
    if job.error_kind is FailureKind.INTERRUPTED:
        return "interrupted"
    return job.status.value


class Metrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.requests = Counter("colony_http_requests", "HTTP requests answered",
                                ["method", "route", "status"], registry=self.registry)
        self.latency = Histogram("colony_http_request_seconds",
                                 "HTTP request duration, by route template",
                                 ["route"], registry=self.registry)
        self.errors = Counter("colony_http_errors",
                              "Error answers (API.md §1) by HTTP status and error code",
                              ["status", "code"], registry=self.registry)
        self.jobs = Counter("colony_jobs_finished", "Jobs that reached a terminal state",
                            ["job_type", "status"], registry=self.registry)
        self.job_seconds = Histogram(
            "colony_job_duration_seconds",
            "Time from a job's start (its creation if it never started) to its end",
            ["job_type", "outcome"], buckets=_JOB_SECONDS, registry=self.registry)
        self.retained = Gauge("colony_jobs_retained", "Jobs held in the job table",
                              registry=self.registry)
        self.pending = Gauge("colony_jobs_pending",
                             "Jobs waiting in the queue for their turn (the queue depth)",
                             registry=self.registry)
        self.running = Gauge("colony_jobs_running", "Jobs whose operation runs now (0 or 1)",
                             registry=self.registry)
        self.queue_limit = Gauge("colony_jobs_queue_limit",
                                 "Jobs the queue takes; one more is refused (409)",
                                 registry=self.registry)
        self.inbox = Gauge("colony_jobs_inbox_messages",
                           "Messages waiting for the job runner's actor",
                           registry=self.registry)
        self.network = Counter("colony_network_operations",
                               "Network record operations, by operation and outcome",
                               ["operation", "outcome"], registry=self.registry)
        self.network_seconds = Histogram("colony_network_operation_seconds",
                                         "Network record operation duration",
                                         ["operation", "outcome"], buckets=_NETWORK_SECONDS,
                                         registry=self.registry)
        self.connections = Gauge("colony_http_connections",
                                 "Open HTTP connections, idle keep-alive ones included",
                                 registry=self.registry)
        self.connections_max = Gauge("colony_http_connections_max",
                                     "Connections served at once; more are refused (503)",
                                     registry=self.registry)
        self.streams = Gauge("colony_http_streams", "Open event streams (SSE)",
                             registry=self.registry)
        self.streams_max = Gauge("colony_http_streams_max",
                                 "Event streams served at once; more are refused (503)",
                                 registry=self.registry)
        self.refused = Counter("colony_http_refused",
                               "Connections and event streams refused with 503 OVERLOADED",
                               ["kind"], registry=self.registry)
        for kind in ("connection", "stream"):
            self.refused.labels(kind)  # shown at 0 before the first refusal
        self.degraded = Gauge("colony_degraded",
                              "1 while the daemon is degraded for this reason (see /health)",
                              ["reason"], registry=self.registry)
        for reason in health.REASONS:
            self.degraded.labels(reason)  # shown at 0 while it does not hold
        self.store_reopens = Gauge("colony_store_reopens",
                                   "Times the store was reopened to heal a storage fault",
                                   registry=self.registry)
        # process_*: CPU, memory, open and maximum descriptors; python_info: the runtime.
        ProcessCollector(registry=self.registry)
        PlatformCollector(registry=self.registry)

    def watch_runner(self, runner: JobRunner) -> None:
        """Read the runner's queue and running job at every scrape."""
        self.pending.set_function(lambda: runner.statistics().jobs_queued)
        self.running.set_function(lambda: 0 if runner.statistics().running is None else 1)
        self.inbox.set_function(lambda: runner.statistics().inbox_messages)
        self.queue_limit.set(runner.settings.queue_size)

    def observe_request(self, method: str, route: str | None, status: int, seconds: float,
                        error_code: str | None = None) -> None:
        label = route or UNMATCHED_ROUTE
        self.requests.labels(method if method in METHODS else "OTHER", label,
                             str(status)).inc()
        self.latency.labels(label).observe(seconds)
        if error_code is not None or status >= 400:
            self.errors.labels(str(status), error_code or "unknown").inc()

    def observe_job(self, job: Job) -> None:
        if not job.terminal:
            return
        self.jobs.labels(job.job_type, job.status.value).inc()
        if job.finished_at is not None:
            began = job.started_at or job.created_at
            self.job_seconds.labels(job.job_type, job_outcome(job)).observe(
                max((job.finished_at - began).total_seconds(), 0.0))

    def observe_network(self, operation: str, outcome: str, seconds: float) -> None:
        self.network.labels(operation, outcome).inc()
        self.network_seconds.labels(operation, outcome).observe(seconds)

    def observe_health(self, state: health.Health, store_reopens: int) -> None:
        for reason in health.REASONS:
            self.degraded.labels(reason).set(1 if reason in state.reasons else 0)
        self.store_reopens.set(store_reopens)

    def render(self) -> bytes:
        return generate_latest(self.registry)
