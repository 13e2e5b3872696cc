"""The CLI's client side: `colony-actor run|jobs|cancel` against a running daemon, with a
progress bar that follows the job's Server-Sent Events.

It talks to the daemon only through `client/` and reads only the pure-data job catalogue
and `locations`: it must never import the daemon's parts."""

from __future__ import annotations

import argparse
import json
import os
from typing import Any

from rich.console import Console
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from colony_actor import locations
from colony_actor.client.http import ClientError, ColonyClient
from colony_actor.service import catalogue


def _password(args: argparse.Namespace) -> str:
    data_dir = locations.data_dir(args.data_dir, os.environ)
    password = locations.find_password(args.password_file, os.environ, data_dir)
    if password is None:
        raise locations.PasswordError(
            f"{locations.password_file(data_dir)} does not exist")
    return password


def main(args: argparse.Namespace) -> int:
    console = Console(stderr=True)
    try:
        password = _password(args)
    except locations.PasswordError as exc:
        console.print(f"[red]No password: {exc}. Use --password-file or "
                      f"{locations.PASSWORD_ENV}.")
        return 2
    try:
        with ColonyClient(args.url) as client:
            client.login(password)
            if args.command == "jobs":
                return _list(client, args, Console())
            if args.command == "cancel":
                job = client.cancel(args.job_id)
                console.print(f"{job['id']}: {job['status']}")
                return 0
            return _run(client, args, console)
    except ClientError as exc:
        console.print(f"[red]{exc}")
        return 1
    except OSError as exc:
        console.print(f"[red]Cannot reach the daemon at {args.url}: {exc}")
        return 1


def _run(client: ColonyClient, args: argparse.Namespace, console: Console) -> int:
    job_type = catalogue.BY_COMMAND[args.operation]
    argument = job_type.argument
    if argument is not None and not args.argument:
        console.print(f"[red]{args.operation} needs a {argument.value}")
        return 2
    params: dict[str, Any] = {}
    if argument is not None and not argument.in_path:
        params["q"] = args.argument
    started = client.start(job_type.job_path(args.argument), params=params, queue=args.queue)
    job_id = started["job_id"]
    if args.detach:
        print(job_id)
        return 0
    columns = (TextColumn("{task.description}"), BarColumn(),
               TextColumn("{task.percentage:>3.0f}%"), TimeElapsedColumn())
    with Progress(*columns, console=console, transient=True) as bar:
        task = bar.add_task(started["message"], total=1.0)
        job: dict[str, Any] = {}
        for job in client.follow(job_id):
            bar.update(task, completed=job["progress"], description=job["message"])
    outcome = client.result(job_id)
    if outcome["status"] == "completed":
        print(json.dumps(outcome["result"], indent=2, ensure_ascii=False))
        return 0
    console.print(f"[red]Job {job_id} {outcome['status']}: {outcome['error']}")
    return 1


def _list(client: ColonyClient, args: argparse.Namespace, console: Console) -> int:
    filters = {"status": args.status} if args.status else {}
    table = Table("id", "type", "status", "progress", "message", "created")
    for job in client.jobs(**filters):
        table.add_row(job["id"], job["job_type"], job["status"], f"{job['progress']:.0%}",
                      job["message"], job["created_at"])
    console.print(table)
    return 0
