"""The job catalogue: one entry per job type, each bound to a Colony call, read by the
command line without loading the daemon."""

from __future__ import annotations

import subprocess
import sys

from colony_actor.service import catalogue
from colony_actor.service.operations import BINDINGS


def test_every_job_type_has_a_binding_and_every_binding_a_type() -> None:
    assert set(BINDINGS) == set(catalogue.NAMES)
    assert len(catalogue.NAMES) == len(set(catalogue.NAMES))
    assert len(catalogue.BY_COMMAND) == len(catalogue.JOB_TYPES)
    assert len({job_type.operation for job_type in catalogue.JOB_TYPES}) == len(catalogue.NAMES)


def test_start_messages_and_paths() -> None:
    assert catalogue.REFRESH_CACHE.message() == "Cache refresh job started"
    assert catalogue.REFRESH_REF.message("2") == "Refresh ref job started with depth 2"
    assert catalogue.SEARCH.message("abbey") == "Search job started for: abbey"
    assert catalogue.UPLOAD_POD.message("p") == "Upload pod job started"
    assert catalogue.REFRESH_REF.job_path("2") == "cache/refresh/2"
    assert catalogue.GET_SUBJECT_DATA.job_path("ant://x") == "search/subject/ant://x"
    assert catalogue.SEARCH.job_path("abbey") == "search"
    for job_type in catalogue.JOB_TYPES:
        argument = job_type.argument
        in_path = argument is not None and argument.in_path
        placed = argument is not None and f"{{{argument.value}}}" in job_type.path
        assert placed == in_path, job_type.name


def test_the_command_line_starts_without_the_daemon() -> None:
    code = ("import sys; import colony_actor.cli.main; "
            "print(' '.join(sorted(sys.modules)))")
    loaded = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                            check=True).stdout.split()
    daemon_side = [name for name in loaded
                   if name == "pyoxigraph" or name.startswith((
                       "colony_actor.colony", "colony_actor.jobs", "colony_actor.api",
                       "colony_actor.daemon", "quart", "hypercorn"))
                   or (name.startswith("colony_actor.service.")
                       and name != "colony_actor.service.catalogue")]
    assert daemon_side == []
