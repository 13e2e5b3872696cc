"""A small synchronous HTTP client for the daemon, for the CLI and users' scripts.

It speaks only the public HTTP contract (API.md): it must never import the daemon's
internals, so a script that uses it works against any daemon that keeps the contract.
Every failure comes out as one of the typed errors of `client/errors.py`, never as an
httpx exception.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any
from urllib.parse import quote

import httpx
from httpx_sse import SSEError, connect_sse

from colony_actor.client import errors
from colony_actor.client.errors import (
    AmbiguousJobId,
    BadUrl,
    NotFound,
    UnexpectedAnswer,
    Unreachable,
)
from colony_actor.client.events import TERMINAL
from colony_actor.locations import DEFAULT_URL

API = "/api/v1"
JOBS = f"{API}/jobs"
FULL_ID_LENGTH = 36
PAGE = 1000
# Streams that end with no event before the client gives up re-attaching.
MAX_EMPTY_STREAMS = 3


def check_url(url: str) -> str:
    """The URL without a trailing slash, or BadUrl saying what a good one looks like."""
    try:
        parsed = httpx.URL(url)
    except (httpx.InvalidURL, TypeError):
        parsed = None
    if parsed is None or parsed.scheme not in ("http", "https") or not parsed.host:
        raise BadUrl(f"{url!r} is not a daemon URL; give it as http://HOST:PORT, "
                     f"for example {DEFAULT_URL}.")
    return url.rstrip("/")


def _segment(value: str) -> str:
    """A pod name or address as one path segment."""
    return quote(value, safe="")


def _subject(value: str) -> str:
    return quote(value, safe=":/")


class ColonyClient:
    def __init__(self, base_url: str = DEFAULT_URL, token: str | None = None,
                 timeout: float = 30.0) -> None:
        self.url = check_url(base_url)
        self._http = httpx.Client(base_url=self.url, timeout=timeout)
        if token:
            self._http.headers["Authorization"] = f"Bearer {token}"

    def __enter__(self) -> ColonyClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        self._http.close()

    # -- the wire -------------------------------------------------------------------------

    def _transport_error(self, exc: httpx.HTTPError) -> errors.ClientError:
        if isinstance(exc, httpx.UnsupportedProtocol | httpx.InvalidURL):
            return BadUrl(f"{self.url!r} is not a daemon URL; give it as http://HOST:PORT, "
                          f"for example {DEFAULT_URL}.")
        if isinstance(exc, httpx.ConnectError | httpx.ConnectTimeout):
            return Unreachable(f"No daemon answers at {self.url} ({_reason(exc)}); "
                               "start one with `colony-actor serve` or give --url.")
        if isinstance(exc, httpx.TimeoutException):
            return Unreachable(f"The daemon at {self.url} did not answer in time.")
        return Unreachable(f"The connection to the daemon at {self.url} broke "
                           f"({_reason(exc)}).")

    def _error(self, response: httpx.Response) -> errors.ApiError:
        try:
            body = response.json()
        except ValueError:
            body = None
        if not isinstance(body, dict):
            body = {"message": f"The daemon answered HTTP {response.status_code}"}
        return errors.for_status(response.status_code, body,
                                 response.headers.get("Retry-After"))

    def _request(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        try:
            response = self._http.request(method, path, **kwargs)
        except httpx.HTTPError as exc:
            raise self._transport_error(exc) from None
        if response.status_code >= 400:
            raise self._error(response)
        return response

    def _call(self, method: str, path: str, **kwargs: Any) -> Any:
        response = self._request(method, path, **kwargs)
        if not response.content:
            return None
        try:
            return response.json()
        except ValueError:
            raise UnexpectedAnswer(
                f"The server at {self.url} did not answer as a colony-actor daemon "
                f"(HTTP {response.status_code}, not JSON).") from None

    def _member(self, method: str, path: str, name: str, **kwargs: Any) -> Any:
        body = self._call(method, path, **kwargs)
        if not isinstance(body, dict) or name not in body:
            raise UnexpectedAnswer(f"The server at {self.url} answered {method} {path} "
                                   f"without {name!r}; is it a colony-actor daemon?")
        return body[name]

    # -- authentication and health --------------------------------------------------------

    def login(self, password: str) -> str:
        token: str = self._member("POST", "/auth/token", "token", json={"password": password})
        self._http.headers["Authorization"] = f"Bearer {token}"
        return token

    def health(self) -> dict[str, Any]:
        health: dict[str, Any] = self._call("GET", "/health")
        return health

    # -- starting jobs --------------------------------------------------------------------

    def start(self, path: str, *, params: dict[str, Any] | None = None, body: Any = None,
              queue: bool = False) -> dict[str, Any]:
        """Start a job at `path` under /api/v1/jobs/ (e.g. "cache/refresh/2", "search");
        the 202 answer: `job_id`, `status`, `message`, `timestamp`."""
        query = dict(params or {})
        if queue:
            query["queue"] = "true"
        kwargs: dict[str, Any] = {"params": query}
        if body is not None:
            kwargs["json"] = body
        started = self._call("POST", f"{JOBS}/{path}", **kwargs)
        if not isinstance(started, dict) or "job_id" not in started:
            raise UnexpectedAnswer(f"The server at {self.url} started no job; "
                                   "is it a colony-actor daemon?")
        return started

    def refresh(self, *, queue: bool = False) -> dict[str, Any]:
        return self.start("cache/refresh", queue=queue)

    def refresh_ref(self, depth: int, *, queue: bool = False) -> dict[str, Any]:
        return self.start(f"cache/refresh/{depth}", queue=queue)

    def upload(self, *, queue: bool = False) -> dict[str, Any]:
        return self.start("cache/upload", queue=queue)

    def upload_pod(self, pod: str, *, queue: bool = False) -> dict[str, Any]:
        return self.start(f"cache/upload/{_segment(pod)}", queue=queue)

    def search(self, query: dict[str, Any], *, queue: bool = False) -> dict[str, Any]:
        """A search job for one form of API.md §5, e.g. `{"type": "text", "text": "abbey"}`."""
        return self.start("search", body=query, queue=queue)

    def subject(self, subject: str, *, queue: bool = False) -> dict[str, Any]:
        return self.start(f"search/subject/{_subject(subject)}", queue=queue)

    # -- jobs -----------------------------------------------------------------------------

    def job(self, job_id: str, *, wait: int | None = None,
            since: int | None = None) -> dict[str, Any]:
        """A job's state; with `wait`, long-polls until its version is above `since`."""
        params: dict[str, Any] = {}
        if wait is not None:
            params["wait"] = wait
        if since is not None:
            params["since"] = since
        job: dict[str, Any] = self._member("GET", f"{JOBS}/{_segment(job_id)}", "job",
                                           params=params)
        return job

    def result(self, job_id: str) -> dict[str, Any]:
        result: dict[str, Any] = self._call("GET", f"{JOBS}/{_segment(job_id)}/result")
        return result

    def cancel(self, job_id: str) -> dict[str, Any]:
        job: dict[str, Any] = self._member("POST", f"{JOBS}/{_segment(job_id)}/cancel", "job")
        return job

    def jobs_page(self, *, status: str | None = None, job_type: str | None = None,
                  limit: int | None = None, cursor: str | None = None
                  ) -> tuple[list[dict[str, Any]], str | None]:
        """One page of jobs, newest first, and the cursor of the next page (or None)."""
        params = {name: value for name, value in
                  (("status", status), ("job_type", job_type), ("limit", limit),
                   ("cursor", cursor)) if value is not None}
        body = self._call("GET", JOBS, params=params)
        if not isinstance(body, dict) or not isinstance(body.get("jobs"), list):
            raise UnexpectedAnswer(f"The server at {self.url} listed no jobs; "
                                   "is it a colony-actor daemon?")
        next_cursor = body.get("next_cursor")
        return body["jobs"], str(next_cursor) if next_cursor is not None else None

    def jobs(self, *, status: str | None = None, job_type: str | None = None,
             limit: int | None = None) -> list[dict[str, Any]]:
        """Up to `limit` jobs (every retained one when None), newest first."""
        found: list[dict[str, Any]] = []
        cursor: str | None = None
        while limit is None or len(found) < limit:
            wanted = PAGE if limit is None else min(PAGE, limit - len(found))
            page, cursor = self.jobs_page(status=status, job_type=job_type, limit=wanted,
                                          cursor=cursor)
            found.extend(page)
            if cursor is None or not page:
                break
        return found

    def resolve_job_id(self, prefix: str) -> str:
        """The full id of the one job whose id starts with `prefix` (a full id as is);
        NotFound when none does, AmbiguousJobId when several do."""
        prefix = prefix.strip().lower()
        if len(prefix) >= FULL_ID_LENGTH:
            return prefix
        matches = [job["id"] for job in self.jobs() if str(job["id"]).startswith(prefix)]
        if not prefix or not matches:
            raise NotFound(404, {"error": "JOB_NOT_FOUND",
                                 "message": f"No job id starts with {prefix!r}"})
        if len(matches) > 1:
            raise AmbiguousJobId(prefix, matches)
        return str(matches[0])

    def follow(self, job_id: str) -> Iterator[dict[str, Any]]:
        """Each new state of a job, from its Server-Sent Events, until it is terminal;
        re-attaches (with Last-Event-ID) if a stream ends early."""
        last_id: str | None = None
        empty = 0
        while True:
            headers = {"Last-Event-ID": last_id} if last_id else {}
            seen = 0
            try:
                with connect_sse(self._http, "GET", f"{JOBS}/{_segment(job_id)}/events",
                                 headers=headers,
                                 timeout=httpx.Timeout(30.0, read=None)) as source:
                    if source.response.status_code >= 400:
                        source.response.read()
                        raise self._error(source.response)
                    for event in source.iter_sse():
                        if not event.data:
                            continue
                        job: dict[str, Any] = json.loads(event.data)
                        seen += 1
                        last_id = event.id or last_id
                        yield job
                        if job.get("status") in TERMINAL:
                            return
            except httpx.HTTPError as exc:
                raise self._transport_error(exc) from None
            except (SSEError, ValueError) as exc:
                raise UnexpectedAnswer(f"The event stream of job {job_id} from {self.url} "
                                       f"could not be read ({exc}).") from None
            empty = 0 if seen else empty + 1
            if empty >= MAX_EMPTY_STREAMS:
                raise UnexpectedAnswer(f"The event stream of job {job_id} keeps ending "
                                       "with no event.")

    # -- pods -----------------------------------------------------------------------------

    def pods(self) -> list[dict[str, Any]]:
        pods: list[dict[str, Any]] = self._member("GET", f"{API}/pods", "pods")
        return pods

    def create_pod(self, name: str) -> dict[str, Any]:
        pod: dict[str, Any] = self._call("POST", f"{API}/pods", json={"name": name})
        return pod

    def rename_pod(self, pod: str, name: str) -> dict[str, Any]:
        renamed: dict[str, Any] = self._call("POST", f"{API}/pods/{_segment(pod)}",
                                             json={"name": name})
        return renamed

    def remove_pod(self, pod: str) -> None:
        self._call("DELETE", f"{API}/pods/{_segment(pod)}")

    def put_subject(self, pod: str, subject: str, document: Any) -> Any:
        """Store a JSON-LD object as `subject`'s data in `pod`; the stored JSON-LD."""
        return self._call("PUT", f"{API}/pods/{_segment(pod)}/{_subject(subject)}",
                          json=document)

    def add_pod_ref(self, pod: str, pod_ref: str) -> None:
        self._call("POST", f"{API}/pods/{_segment(pod)}/pod_ref", json={"pod_ref": pod_ref})

    def remove_pod_ref(self, pod: str, pod_ref: str) -> None:
        self._call("DELETE", f"{API}/pods/{_segment(pod)}/pod_ref", json={"pod_ref": pod_ref})

    def updates(self) -> dict[str, Any]:
        updates: dict[str, Any] = self._call("GET", f"{API}/updates")
        return updates


def _reason(exc: Exception) -> str:
    text = str(exc).strip()
    if "Connection refused" in text or "[Errno 111]" in text:
        return "connection refused"
    return text.rstrip(".") or type(exc).__name__
