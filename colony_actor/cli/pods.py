"""The pod commands: `pods list|add|remove|rename|put|add-ref|remove-ref` (API.md §5).
Each edit answers with one sentence, or its JSON with `--json`. Talks to the daemon only
through `client/`."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from colony_actor.cli import show
from colony_actor.cli.exits import Exit
from colony_actor.client.http import ColonyClient


class BadDocument(Exception):
    """The JSON-LD given to `pods put` cannot be read; the message says why."""


def _done(args: argparse.Namespace, data: Any, sentence: str) -> Exit:
    if args.json:
        show.as_json(data)
    else:
        show.line(sentence)
    return Exit.OK


def read_document(source: str) -> Any:
    """The JSON of a file, or of stdin for `-`."""
    try:
        text = sys.stdin.read() if source == "-" else Path(source).read_text(encoding="utf-8")
    except OSError as exc:
        raise BadDocument(f"Cannot read {source}: {exc.strerror}.") from None
    except UnicodeDecodeError:
        raise BadDocument(f"{source} is not UTF-8 text.") from None
    try:
        return json.loads(text)
    except ValueError as exc:
        where = "standard input" if source == "-" else source
        raise BadDocument(f"{where} is not JSON ({exc}).") from None


def command(client: ColonyClient, args: argparse.Namespace) -> Exit:
    action = args.pod_command
    if action == "list":
        found = client.pods()
        if args.json:
            show.as_json(found)
        else:
            show.pods(found)
        return Exit.OK
    if action == "add":
        pod = client.create_pod(args.name)
        return _done(args, pod, f"Created pod {pod.get('name')!r} at {pod.get('address')}.")
    if action == "rename":
        pod = client.rename_pod(args.pod, args.name)
        return _done(args, pod, f"Renamed pod {pod.get('address')} to {pod.get('name')!r}.")
    if action == "remove":
        client.remove_pod(args.pod)
        return _done(args, {"pod": args.pod}, f"Removed pod {args.pod}.")
    if action == "put":
        stored = client.put_subject(args.pod, args.subject, read_document(args.file))
        return _done(args, stored, f"Stored the data of {args.subject} in pod {args.pod}.")
    if action == "add-ref":
        client.add_pod_ref(args.pod, args.pod_ref)
        return _done(args, {"pod": args.pod, "pod_ref": args.pod_ref},
                     f"Pod {args.pod} now references {args.pod_ref}.")
    client.remove_pod_ref(args.pod, args.pod_ref)
    return _done(args, {"pod": args.pod, "pod_ref": args.pod_ref},
                 f"Pod {args.pod} no longer references {args.pod_ref}.")
