"""Prometheus metrics of one daemon: HTTP requests, connections and jobs, the process's
descriptors, and its health (a gauge per reason to be degraded), in a registry of its own
(no process-wide globals, so tests can build several daemons). It must never block."""

from __future__ import annotations

from prometheus_client import (
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    ProcessCollector,
    generate_latest,
)

from colony_actor.jobs.lifecycle import Job
from colony_actor.service import health


class Metrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.requests = Counter("colony_http_requests", "HTTP requests answered",
                                ["method", "status"], registry=self.registry)
        self.latency = Histogram("colony_http_request_seconds", "HTTP request duration",
                                 registry=self.registry)
        self.jobs = Counter("colony_jobs_finished", "Jobs that reached a terminal state",
                            ["job_type", "status"], registry=self.registry)
        self.retained = Gauge("colony_jobs_retained", "Jobs held in the job table",
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
        # process_open_fds and process_max_fds: how far the daemon is from its limit.
        ProcessCollector(registry=self.registry)

    def observe_request(self, method: str, status: int, seconds: float) -> None:
        self.requests.labels(method, str(status)).inc()
        self.latency.observe(seconds)

    def observe_job(self, job: Job) -> None:
        if job.terminal:
            self.jobs.labels(job.job_type, job.status.value).inc()

    def observe_health(self, state: health.Health, store_reopens: int) -> None:
        for reason in health.REASONS:
            self.degraded.labels(reason).set(1 if reason in state.reasons else 0)
        self.store_reopens.set(store_reopens)

    def render(self) -> bytes:
        return generate_latest(self.registry)
