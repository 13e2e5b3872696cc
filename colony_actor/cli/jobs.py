"""The job commands: `run` (start a job and follow it), `follow`, `jobs`, `cancel` and
`result`. A job is followed through its event stream with a live progress bar on stderr;
Ctrl-C stops following and leaves the job running (or cancels it with
`--cancel-on-interrupt`). Every job id may be given as a unique prefix. Talks to the
daemon only through `client/`."""

from __future__ import annotations

import argparse
from typing import Any

from rich.console import Console
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

from colony_actor.cli import show
from colony_actor.cli.exits import Exit
from colony_actor.client.errors import Conflict
from colony_actor.client.http import ColonyClient

ERR = Console(stderr=True, highlight=False)


def say(text: str) -> None:
    """One sentence for a person, on stderr."""
    ERR.print(text, markup=False, soft_wrap=True)


def search_query(args: argparse.Namespace) -> dict[str, Any] | None:
    """The search form the flags ask for, or None when they give none or several."""
    forms: list[dict[str, Any]] = []
    if args.text:
        forms.append({"type": "text", "text": " ".join(args.text)})
    if args.type_uri:
        forms.append({"type": "by_type", "type_uri": args.type_uri})
    if args.predicate_uri:
        forms.append({"type": "by_predicate", "predicate_uri": args.predicate_uri})
    if args.sparql:
        forms.append({"type": "advanced", "sparql": args.sparql})
    if args.browse:
        forms.append({"type": "browse"})
    if len(forms) != 1:
        return None
    query = forms[0]
    if args.limit is not None:
        query["limit"] = args.limit
    return query


def _start(client: ColonyClient, args: argparse.Namespace) -> dict[str, Any]:
    queue = args.queue
    operation = args.operation
    if operation == "refresh":
        return client.refresh(queue=queue)
    if operation == "refresh-ref":
        return client.refresh_ref(args.depth, queue=queue)
    if operation == "upload":
        return client.upload(queue=queue)
    if operation == "upload-pod":
        return client.upload_pod(args.pod, queue=queue)
    if operation == "subject":
        return client.subject(args.subject, queue=queue)
    query = search_query(args)
    assert query is not None  # the parser checked it
    return client.search(query, queue=queue)


def run(client: ColonyClient, args: argparse.Namespace) -> Exit:
    started = _start(client, args)
    job_id = str(started["job_id"])
    if args.detach:
        show.line(job_id)
        return Exit.OK
    return _watch(client, job_id, args, str(started.get("message", "")))


def follow(client: ColonyClient, args: argparse.Namespace) -> Exit:
    job_id = client.resolve_job_id(args.job_id)
    return _watch(client, job_id, args, f"Following job {job_id}")


def _watch(client: ColonyClient, job_id: str, args: argparse.Namespace,
           description: str) -> Exit:
    columns = (TextColumn("{task.description}"), BarColumn(),
               TextColumn("{task.percentage:>3.0f}%"), TimeElapsedColumn())
    try:
        if not ERR.is_terminal:  # no bar, not even the blank line some rich versions leave
            for _job in client.follow(job_id):
                pass
        else:
            with Progress(*columns, console=ERR, transient=True) as bar:
                task = bar.add_task(description, total=1.0)
                for job in client.follow(job_id):
                    bar.update(task, completed=float(job.get("progress", 0.0)),
                               description=str(job.get("message") or description))
    except KeyboardInterrupt:
        return _interrupted(client, job_id, args.cancel_on_interrupt)
    return _finish(client, job_id, args)


def _interrupted(client: ColonyClient, job_id: str, cancel: bool) -> Exit:
    if not cancel:
        say(f"Interrupted: job {job_id} keeps running; follow it with `colony-actor follow "
            f"{job_id}` or cancel it with `colony-actor cancel {job_id}`.")
        return Exit.INTERRUPTED
    try:
        client.cancel(job_id)
    except Conflict:
        say(f"Interrupted: job {job_id} had already finished; see `colony-actor result "
            f"{job_id}`.")
        return Exit.INTERRUPTED
    say(f"Interrupted: job {job_id} is cancelled.")
    return Exit.INTERRUPTED


def _finish(client: ColonyClient, job_id: str, args: argparse.Namespace) -> Exit:
    outcome = client.result(job_id)
    status = outcome.get("status")
    if outcome.get("error") == "JOB_NOT_COMPLETED":
        say(f"Job {job_id} is not finished yet; follow it with `colony-actor follow "
            f"{job_id}`.")
        return Exit.NOT_FINISHED
    if status == "completed":
        if args.json:
            show.as_json(outcome.get("result"))
        else:
            show.result(outcome.get("result"))
        return Exit.OK
    error = str(outcome.get("error") or "no reason given").rstrip(".")
    if status == "cancelled":
        say(f"Job {job_id} was cancelled: {error}.")
        return Exit.JOB_CANCELLED
    say(f"Job {job_id} failed: {error}.")
    return Exit.JOB_FAILED


def result(client: ColonyClient, args: argparse.Namespace) -> Exit:
    return _finish(client, client.resolve_job_id(args.job_id), args)


def jobs(client: ColonyClient, args: argparse.Namespace) -> Exit:
    found = client.jobs(status=args.status, job_type=args.type, limit=args.limit)
    if args.json:
        show.as_json(found)
    else:
        show.jobs(found)
    return Exit.OK


def cancel(client: ColonyClient, args: argparse.Namespace) -> Exit:
    job_id = client.resolve_job_id(args.job_id)
    job = client.cancel(job_id)
    if args.json:
        show.as_json(job)
    elif job.get("status") == "cancelled":
        show.line(f"Cancelled job {job_id}.")
    else:
        show.line(f"Cancelling job {job_id}: it stops at its next step "
                  f"(`colony-actor follow {job_id}` shows when).")
    return Exit.OK
