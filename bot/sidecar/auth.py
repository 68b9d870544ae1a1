"""Bearer-token check for the sidecar routes that expose data (/logs, /query, optionally /metrics).

Closed by default: with no token configured the protected routes answer 403 and say how to enable
them, because an empty token must never mean "open to anyone who can reach the port". The compare is
``hmac.compare_digest`` on bytes so a caller cannot learn the token one character at a time from
response timing.
"""

from __future__ import annotations

import hmac
from enum import Enum

_SCHEME = "bearer"


class AuthResult(Enum):
    """Why a request may or may not proceed; the route layer maps each value to a status code."""

    OK = "ok"
    MISSING = "missing"  # no usable Authorization header → 401
    WRONG = "wrong"  # a bearer token that does not match → 401
    DISABLED = "disabled"  # the server has no token configured → 403


def check_bearer(authorization: str | None, expected: str) -> AuthResult:
    """Compare ``Authorization: Bearer <token>`` against the configured token in constant time."""
    if not expected:
        return AuthResult.DISABLED
    if not authorization:
        return AuthResult.MISSING
    scheme, _, presented = authorization.strip().partition(" ")
    if scheme.lower() != _SCHEME or not presented.strip():
        return AuthResult.MISSING
    if hmac.compare_digest(presented.strip().encode("utf-8"), expected.encode("utf-8")):
        return AuthResult.OK
    return AuthResult.WRONG
