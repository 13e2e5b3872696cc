"""Bearer tokens: HS256 JWTs signed with a random per-install secret (never the password).

The secret lives in `<data_dir>/jwt_secret` (mode 0600). The password is compared in
constant time. Tokens expire after `auth.token_ttl_seconds`. This module must never log
or echo a password or a token.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import time
from pathlib import Path
from typing import Any

import jwt

from colony_actor.runtime.files import write_atomic

SECRET_FILE = "jwt_secret"
ISSUER = "colony-actor"
VERIFIED_CACHE_SIZE = 256


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


class TokenAuthority:
    def __init__(self, secret: bytes, password: str, ttl_seconds: int) -> None:
        self._secret = secret
        # Keep only a digest, so the password itself does not sit in this object.
        self._password_digest = hashlib.sha256(password.encode()).digest()
        self.ttl_seconds = ttl_seconds
        self._verified: dict[str, dict[str, Any]] = {}

    def __repr__(self) -> str:
        return f"TokenAuthority(ttl_seconds={self.ttl_seconds})"

    def password_matches(self, candidate: str) -> bool:
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
