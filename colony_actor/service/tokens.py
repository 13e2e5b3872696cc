"""Bearer tokens: HS256 JWTs signed with a random per-install secret (never the password),
issued by `TokenAuthority.login` for the right password, at a pace `LoginThrottle` sets.

The secret lives in `<data_dir>/jwt_secret` (mode 0600). The password is compared in
constant time. Tokens expire after `auth.token_ttl_seconds`.

The throttle, for a daemon with one user on one machine: a client address may send
`auth.login_attempts_before_delay` wrong passwords (all addresses together four times as
many); then each wrong password makes the next try wait 1, 2, 4... seconds, up to
`auth.login_max_delay_seconds`, the right password included (a right answer during a
wait would tell a guesser it is right). What keeps it from locking the user out for good:
a try during a wait is refused without being counted, so it never lengthens the wait; the
wait never passes its maximum; an address that logs in is forgiven at once, and every
wrong password is forgotten `FORGET_AFTER_SECONDS` after the last one. So a guesser gets
at most one try per maximum wait (60 a hour by default), and the user, at worst, waits
that long. This module must never log or echo a password or a token.
"""

from __future__ import annotations

import hashlib
import hmac
import math
import secrets
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

import jwt

from colony_actor.runtime.files import write_atomic
from colony_actor.service.config import AuthSettings

SECRET_FILE = "jwt_secret"
ISSUER = "colony-actor"
VERIFIED_CACHE_SIZE = 256
# Wrong passwords are forgotten this long after the last one.
FORGET_AFTER_SECONDS: Final = 900.0
# All client addresses together may send this many times a client's wrong passwords.
EVERYONE_FACTOR: Final = 4
# Client addresses remembered at most (the oldest forgotten first; "everyone" stays).
TRACKED_CLIENTS: Final = 1024
_EVERYONE: Final = ""


def load_or_create_secret(data_dir: Path) -> bytes:
    """The install's signing secret, created on first use (sync; call at start-up)."""
    path = data_dir / SECRET_FILE
    try:
        secret = bytes.fromhex(path.read_text().strip())
        if len(secret) >= 32:
            return secret
    except (FileNotFoundError, ValueError):
        pass
    secret = secrets.token_bytes(32)
    write_atomic(path, secret.hex().encode(), mode=0o600)
    return secret


class WrongPassword(Exception):
    """The password given to log in is not the daemon's."""


class LoginThrottled(Exception):
    """Too many wrong passwords: the client must wait `retry_after` seconds."""

    def __init__(self, retry_after: float) -> None:
        super().__init__(f"Too many wrong passwords; try again in {math.ceil(retry_after)} "
                         "seconds")
        self.retry_after = retry_after


@dataclass
class _Failures:
    count: int = 0
    last: float = 0.0
    wait_until: float = 0.0


@dataclass(frozen=True)
class LoginThrottleStatistics:
    """Client addresses with wrong passwords remembered, the wrong passwords of everyone
    together, and the longest wait now (0.0 when nobody waits)."""

    clients: int
    failures: int
    longest_wait: float


class LoginThrottle:
    """How many wrong passwords each client address (and everyone) sent, and how long it
    must wait before the next try (see the module's docstring). `clock` is monotonic."""

    def __init__(self, attempts_before_delay: int, max_delay_seconds: float, *,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self._free = attempts_before_delay
        self._max_delay = max_delay_seconds
        self._clock = clock
        self._failures: OrderedDict[str, _Failures] = OrderedDict()

    @classmethod
    def of(cls, auth: AuthSettings, *, clock: Callable[[], float] = time.monotonic
           ) -> LoginThrottle:
        return cls(auth.login_attempts_before_delay, auth.login_max_delay_seconds, clock=clock)

    def wait(self, client: str) -> float:
        """Seconds `client` must wait before its next try; 0.0 when it may try now."""
        now = self._clock()
        entries = (self._current(client, now), self._current(_EVERYONE, now))
        return max([0.0, *(entry.wait_until - now for entry in entries if entry)])

    def failed(self, client: str) -> None:
        now = self._clock()
        for key, free in ((client, self._free), (_EVERYONE, self._free * EVERYONE_FACTOR)):
            entry = self._current(key, now) or _Failures()
            entry.count += 1
            entry.last = now
            if entry.count >= free:
                entry.wait_until = now + min(self._max_delay,
                                             2.0 ** min(entry.count - free, 32))
            self._failures[key] = entry
            self._failures.move_to_end(key)
        while len(self._failures) > TRACKED_CLIENTS + 1:
            oldest = next(key for key in self._failures if key != _EVERYONE)
            del self._failures[oldest]

    def succeeded(self, client: str) -> None:
        self._failures.pop(client, None)

    def statistics(self) -> LoginThrottleStatistics:
        now = self._clock()
        current = {key: entry for key in list(self._failures)
                   if (entry := self._current(key, now)) is not None}
        everyone = current.pop(_EVERYONE, None)
        waits = [entry.wait_until - now for entry in (*current.values(), everyone) if entry]
        return LoginThrottleStatistics(clients=len(current),
                                       failures=everyone.count if everyone else 0,
                                       longest_wait=max([0.0, *waits]))

    def _current(self, key: str, now: float) -> _Failures | None:
        entry = self._failures.get(key)
        if entry is not None and now - entry.last > FORGET_AFTER_SECONDS:
            del self._failures[key]
            return None
        return entry


class TokenAuthority:
    def __init__(self, secret: bytes, password: str, ttl_seconds: int, *,
                 throttle: LoginThrottle) -> None:
        self._secret = secret
        # Keep only a digest, so the password itself does not sit in this object.
        self._password_digest = hashlib.sha256(password.encode()).digest()
        self.ttl_seconds = ttl_seconds
        self.throttle = throttle
        self._verified: dict[str, dict[str, Any]] = {}

    def __repr__(self) -> str:
        return f"TokenAuthority(ttl_seconds={self.ttl_seconds})"

    def login(self, candidate: str, client: str) -> str:
        """A new token for the right password. Raises LoginThrottled while `client` (or
        everyone) must wait, without looking at the password, and WrongPassword."""
        wait = self.throttle.wait(client)
        if wait > 0:
            raise LoginThrottled(wait)
        if not self._password_matches(candidate):
            self.throttle.failed(client)
            raise WrongPassword("Wrong password")
        self.throttle.succeeded(client)
        return self.issue()

    def _password_matches(self, candidate: str) -> bool:
        digest = hashlib.sha256(candidate.encode()).digest()
        return hmac.compare_digest(digest, self._password_digest)

    def issue(self, now: float | None = None) -> str:
        issued = int(time.time() if now is None else now)
        claims = {"iss": ISSUER, "sub": "colony-user", "iat": issued,
                  "exp": issued + self.ttl_seconds, "jti": secrets.token_hex(8)}
        return jwt.encode(claims, self._secret, algorithm="HS256")

    def verify(self, token: str) -> dict[str, Any] | None:
        """The token's claims, or None if it is malformed, forged or expired."""
        # Clients poll with the same token many times a second: remember good ones (only
        # ones whose signature verified) until they expire, instead of re-checking each.
        cached = self._verified.get(token)
        if cached is not None:
            if cached["exp"] > time.time():
                return cached
            del self._verified[token]
        claims = self._decode(token)
        if claims is not None:
            if len(self._verified) >= VERIFIED_CACHE_SIZE:
                self._verified.pop(next(iter(self._verified)))
            self._verified[token] = claims
        return claims

    def _decode(self, token: str) -> dict[str, Any] | None:
        try:
            claims: dict[str, Any] = jwt.decode(
                token, self._secret, algorithms=["HS256"], issuer=ISSUER,
                options={"require": ["exp", "iat", "iss"]})
        except jwt.PyJWTError:
            return None
        return claims
