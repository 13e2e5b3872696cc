"""Prometheus metrics of one daemon: HTTP requests and jobs, in a registry of its own
(no process-wide globals, so tests can build several daemons). It must never block."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest

from colony_actor.jobs.lifecycle import Job


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

    def observe_request(self, method: str, status: int, seconds: float) -> None:
        self.requests.labels(method, str(status)).inc()
        self.latency.observe(seconds)

    def observe_job(self, job: Job) -> None:
        if job.terminal:
            self.jobs.labels(job.job_type, job.status.value).inc()

    def render(self) -> bytes:
        return generate_latest(self.registry)
