"""A small synchronous HTTP client for the daemon, for the CLI and users' scripts.

It speaks only the public HTTP contract (API.md): it must never import the daemon's
internals, so a script that uses it works against any daemon that keeps the contract.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx

from colony_actor.client.events import job_events
from colony_actor.locations import DEFAULT_URL


class ClientError(Exception):
    """The daemon answered with an error body (API.md §1)."""

    def __init__(self, status: int, body: dict[str, Any]) -> None:
        super().__init__(f"{body.get('error', status)}: {body.get('message', '')}")
        self.status = status
        self.body = body


class ColonyClient:
    def __init__(self, base_url: str = DEFAULT_URL, token: str | None = None,
                 timeout: float = 30.0) -> None:
        self._http = httpx.Client(base_url=base_url, timeout=timeout)
        if token:
            self._http.headers["Authorization"] = f"Bearer {token}"

    def __enter__(self) -> ColonyClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        self._http.close()

    def _call(self, method: str, path: str, **kwargs: Any) -> Any:
        response = self._http.request(method, path, **kwargs)
        if response.status_code >= 400:
            try:
                body = response.json()
            except ValueError:
                body = {"message": response.text}
            raise ClientError(response.status_code, body)
        return response.json() if response.content else None

    def login(self, password: str) -> str:
        token: str = self._call("POST", "/auth/token", json={"password": password})["token"]
        self._http.headers["Authorization"] = f"Bearer {token}"
        return token

    def start(self, path: str, *, params: dict[str, Any] | None = None, body: Any = None,
              queue: bool = False) -> dict[str, Any]:
        """Start a job at `path` (e.g. "cache/refresh", "cache/refresh/2", "search")."""
        query = dict(params or {})
        if queue:
            query["queue"] = "true"
        kwargs: dict[str, Any] = {"params": query}
        if body is not None:
            kwargs["json"] = body
        started: dict[str, Any] = self._call("POST", f"/api/v1/jobs/{path}", **kwargs)
        return started

    def job(self, job_id: str) -> dict[str, Any]:
        job: dict[str, Any] = self._call("GET", f"/api/v1/jobs/{job_id}")["job"]
        return job

    def result(self, job_id: str) -> dict[str, Any]:
        result: dict[str, Any] = self._call("GET", f"/api/v1/jobs/{job_id}/result")
        return result

    def cancel(self, job_id: str) -> dict[str, Any]:
        job: dict[str, Any] = self._call("POST", f"/api/v1/jobs/{job_id}/cancel")["job"]
        return job

    def jobs(self, **filters: Any) -> list[dict[str, Any]]:
        jobs: list[dict[str, Any]] = self._call("GET", "/api/v1/jobs", params=filters)["jobs"]
        return jobs

    def follow(self, job_id: str) -> Iterator[dict[str, Any]]:
        """Each new state of a job, from its Server-Sent Events, until it is terminal."""
        with self._http.stream("GET", f"/api/v1/jobs/{job_id}/events",
                               timeout=httpx.Timeout(30.0, read=None)) as stream:
            if stream.status_code >= 400:
                stream.read()
                raise ClientError(stream.status_code, stream.json())
            yield from job_events(stream.iter_lines())

