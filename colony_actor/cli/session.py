"""Opening a session with a daemon for a client command: the URL (flag, then
`COLONY_ACTOR_URL`, then the default), the password (flag's file, then
`COLONY_ACTOR_PASSWORD`, then the daemon's generated file, then a prompt on a terminal)
and the login. It must never import the daemon; it talks through `client/` only."""

from __future__ import annotations

import argparse
import getpass
import os
import sys
from collections.abc import Mapping

from colony_actor import locations
from colony_actor.client.errors import ClientError, TooManyRequests, Unauthorized
from colony_actor.client.http import ColonyClient


class NoPassword(Exception):
    """No flag, variable, file or prompt gave a password; the message says how to give one."""


def default_url(env: Mapping[str, str]) -> str:
    return env.get(locations.URL_ENV) or locations.DEFAULT_URL


def _password(args: argparse.Namespace, client: ColonyClient) -> tuple[str, str]:
    """The password and where it came from (for the message if the daemon refuses it).
    Before asking for one, it checks that a daemon answers: no daemon is the likelier
    fault, and nobody should type a password for nothing."""
    data_dir = locations.data_dir(args.data_dir, os.environ)
    try:
        password = locations.find_password(args.password_file, os.environ, data_dir)
    except locations.PasswordError as exc:
        raise NoPassword(f"{exc}.") from None
    if password is not None:
        if args.password_file is not None:
            return password, f"the file {args.password_file}"
        if os.environ.get(locations.PASSWORD_ENV):
            return password, f"${locations.PASSWORD_ENV}"
        return password, f"the file {locations.password_file(data_dir)}"
    client.health()
    if not sys.stdin.isatty():
        raise NoPassword(
            f"No password: give --password-file, set ${locations.PASSWORD_ENV}, or run on a "
            f"terminal to be asked (there is no {locations.password_file(data_dir)}).")
    try:
        typed = getpass.getpass(f"Password for the daemon at {client.url}: ")
    except EOFError:
        typed = ""
    if not typed:
        raise NoPassword("No password was typed.")
    return typed, "the prompt"


def open_client(args: argparse.Namespace) -> ColonyClient:
    """A client logged in to the daemon at the command's URL."""
    client = ColonyClient(args.url)
    try:
        password, source = _password(args, client)
        try:
            client.login(password)
        except TooManyRequests as exc:
            wait = f" in {exc.retry_after} seconds" if exc.retry_after else " later"
            raise TooManyRequests(exc.status, {
                "error": exc.code,
                "message": f"Too many failed logins at {client.url}; try again{wait}"},
                exc.retry_after) from None
        except Unauthorized as exc:
            raise Unauthorized(exc.status, {
                "error": exc.code,
                "message": f"The daemon at {client.url} refused the password from {source}",
            }) from None
    except (ClientError, NoPassword, KeyboardInterrupt):
        client.close()
        raise
    return client
