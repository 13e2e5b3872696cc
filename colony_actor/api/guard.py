"""The loopback guard: the daemon answers only to the Host names it serves, and takes a
state-changing request only without an Origin or from one of its own.

A daemon on the user's machine is reachable by every web page the user opens: a page
whose name its attacker points at 127.0.0.1 (DNS rebinding) reaches it with that name as
its Host, and any page can send a cross-site POST (its Origin is the page's). Tools (curl,
the command line, scripts) send the daemon's own name as Host and no Origin. So: a Host
that is not a served name answers 421 FORBIDDEN_HOST; a POST, PUT, PATCH or DELETE with
an Origin other than `http(s)://<a served name>` on the Host's port answers 403
FORBIDDEN_ORIGIN. The served names are the loopback ones, the listen address when it is
not a wildcard, and `server.allowed_hosts`; any port.

It reads headers only; it must never read a body or look at a token.
"""

from __future__ import annotations

from typing import Final

from colony_actor.api.errors import FORBIDDEN_HOST, FORBIDDEN_ORIGIN, ApiError
from colony_actor.api.params import natural
from colony_actor.service.config import ServerSettings

LOOPBACK_HOSTS: Final = frozenset({"localhost", "127.0.0.1", "[::1]"})
STATE_CHANGING: Final = frozenset({"POST", "PUT", "PATCH", "DELETE"})
_WILDCARDS: Final = frozenset({"", "0.0.0.0", "::", "[::]"})
_DEFAULT_PORTS: Final = {"http": 80, "https": 443}


def served_hosts(server: ServerSettings) -> frozenset[str]:
    """The host names the daemon answers to (IPv6 addresses in brackets)."""
    names = set(LOOPBACK_HOSTS) | {host.lower() for host in server.allowed_hosts}
    listen = server.listen.lower()
    if listen not in _WILDCARDS:
        names.add(f"[{listen}]" if ":" in listen and not listen.startswith("[") else listen)
    return frozenset(names)


def _authority(value: str) -> tuple[str, int | None] | None:
    """The name and port of `name[:port]` (an IPv6 name in brackets), or None when it is
    not one."""
    value = value.strip().lower()
    if value.startswith("["):
        end = value.find("]")
        if end < 0:
            return None
        name, rest = value[:end + 1], value[end + 1:]
    else:
        name, colon, port_text = value.partition(":")
        rest = colon + port_text
    if not name:
        return None
    if not rest:
        return name, None
    port = natural(rest[1:]) if rest.startswith(":") else None
    if port is None or port > 65535:
        return None
    return name, port


class HostGuard:
    def __init__(self, hosts: frozenset[str]) -> None:
        self.hosts = hosts

    def check(self, method: str, host: str | None, origin: str | None) -> None:
        """Raise ApiError (421, 403) for a request this daemon must not answer."""
        served = _authority(host or "")
        if served is None or served[0] not in self.hosts:
            raise ApiError(FORBIDDEN_HOST, f"This daemon does not answer to the host "
                           f"{(host or '')[:100]!r}; add its name to server.allowed_hosts "
                           "to allow it")
        if method.upper() in STATE_CHANGING and origin is not None \
                and not self._own(origin, served[1]):
            raise ApiError(FORBIDDEN_ORIGIN, f"A {method.upper()} from the web origin "
                           f"{origin[:100]!r} is refused: it is not this daemon's")

    def _own(self, origin: str, host_port: int | None) -> bool:
        scheme, separator, rest = origin.strip().lower().partition("://")
        if not separator or scheme not in _DEFAULT_PORTS:
            return False  # "null" (a sandboxed page, a file) included
        parsed = _authority(rest)
        if parsed is None:
            return False
        name, port = parsed
        default = _DEFAULT_PORTS[scheme]
        return name in self.hosts and (port or default) == (host_port or default)
