"""The job catalogue: every job type, the one place each is described.

For each type: its name on the wire, the words the command line uses for it, the route
that starts it (and the synchronous route that runs it, if any), the argument it takes
and its start message. The settings (`service/config.py`), the HTTP routes (`api/routes/`)
and the command line (`cli/`) all read this table; `service/operations.py` binds each type
to the Colony call that does its work, and a test checks that every type has one.

Pure data: the command line imports it to start, so it must never import anything but the
standard library (no jobs, no colony, no pyoxigraph).
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from typing import Final


class Argument(enum.Enum):
    """What a job type takes, named as its job parameter and its route placeholder."""

    DEPTH = "depth"      # a non-negative integer, in the path
    POD = "pod"          # a pod's address or name, in the path
    SUBJECT = "subject"  # a subject, in the path
    QUERY = "query"      # a search form: `?q=` and `?limit=`, or a JSON body

    @property
    def in_path(self) -> bool:
        return self is not Argument.QUERY


@dataclass(frozen=True)
class JobType:
    name: str
    # Its name in code (route endpoints, OpenAPI operation ids).
    operation: str
    # The command line's word for it: `colony-actor run <command> [argument]`.
    command: str
    # The start route, under /api/v1/jobs/; `{<argument>}` marks a path argument.
    path: str
    argument: Argument | None
    # `{<argument>}` takes the argument as the request gave it (a search: its text).
    start_message: str
    # The synchronous route that runs it (method, path under /api/v1/), if there is one.
    synchronous: tuple[str, str] | None = None

    def message(self, label: str = "") -> str:
        """The start message for an argument shown as `label`."""
        if self.argument is None:
            return self.start_message
        return self.start_message.format(**{self.argument.value: label})

    def job_path(self, argument: str | None = None) -> str:
        """The start route's path under /api/v1/jobs/ with the argument in its place."""
        if self.argument is None or not self.argument.in_path:
            return self.path
        return self.path.format(**{self.argument.value: argument})


REFRESH_CACHE: Final = JobType(
    "refreshcache", "refresh_cache", "refresh", "cache/refresh", None,
    "Cache refresh job started", synchronous=("POST", "cache"))
UPLOAD_ALL: Final = JobType(
    "uploadall", "upload_all", "upload", "cache/upload", None,
    "Upload all job started", synchronous=("PUT", "cache"))
UPLOAD_POD: Final = JobType(
    "uploadpod", "upload_pod", "upload-pod", "cache/upload/{pod}", Argument.POD,
    "Upload pod job started")
REFRESH_REF: Final = JobType(
    "refreshref", "refresh_ref", "refresh-ref", "cache/refresh/{depth}", Argument.DEPTH,
    "Refresh ref job started with depth {depth}", synchronous=("POST", "cache/{depth}"))
SEARCH: Final = JobType(
    "search", "search", "search", "search", Argument.QUERY,
    "Search job started for: {query}", synchronous=("GET", "search"))
GET_SUBJECT_DATA: Final = JobType(
    "getsubjectdata", "subject_data", "subject", "search/subject/{subject}", Argument.SUBJECT,
    "Get subject data job started for: {subject}",
    synchronous=("GET", "search/subject/{subject}"))

JOB_TYPES: Final = (REFRESH_CACHE, UPLOAD_ALL, UPLOAD_POD, REFRESH_REF, SEARCH,
                    GET_SUBJECT_DATA)
NAMES: Final = tuple(job_type.name for job_type in JOB_TYPES)
BY_NAME: Final = {job_type.name: job_type for job_type in JOB_TYPES}
BY_COMMAND: Final = {job_type.command: job_type for job_type in JOB_TYPES}
