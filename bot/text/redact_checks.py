"""Value checks for the secret rules: is this captured value a secret, or a placeholder, a word, a path?

A rule's regex finds a candidate (``password=<value>``); its check decides. gitleaks calls these
allowlists and entropy thresholds, detect-secrets filters; the thresholds here are theirs.
"""

from __future__ import annotations

import base64
import binascii
import math
import re
from collections import Counter

__all__ = ["b64_private_key", "b64_user_pass", "cookie_value", "credential_value", "entropy", "has_digit_and_letter",
           "is_placeholder", "password_value", "random_looking", "secret_value", "spoken_password"]

_PLACEHOLDER_WORDS = frozenset((
    "null", "none", "nil", "true", "false", "undefined", "redacted", "masked", "hidden", "removed", "omitted",
    "empty", "unset", "n/a", "sensitive", "(sensitive)", "not_set", "notset",
))
_LETTERS_ONLY = re.compile(r"[A-Za-z_. -]+")
_PATH = re.compile(r"(?:~|\.{1,2})?/[\w./-]*")


def entropy(value: str) -> float:
    """Shannon entropy in bits per character (gitleaks' and detect-secrets' measure)."""
    n = len(value)
    return -sum(c / n * math.log2(c / n) for c in Counter(value).values())


def is_placeholder(value: str) -> bool:
    """Values that name or hide a secret rather than being one (templating, masks, our own marker)."""
    v = value.strip()
    if not v or v.count(v[0]) == len(v) or (len(v) <= 12 and v.lower() in _PLACEHOLDER_WORDS):
        return True
    return v.startswith(("$", "{{", "%", "<", "[REDACTED", "arn:", "os.environ", "process.env"))


def password_value(value: str) -> bool:
    """Any password value counts, even a weak one, unless it is a placeholder or a path (``PWD=/home/x``)."""
    return not is_placeholder(value) and not _PATH.fullmatch(value)


def secret_value(value: str) -> bool:
    """Generic token/secret values need to look random: gitleaks' letters-only allowlist + an entropy floor."""
    if len(value) < 8 or is_placeholder(value) or _LETTERS_ONLY.fullmatch(value):
        return False
    if value.endswith("/aws4_request"):  # SigV4 "Credential=<key id>/<date>/<region>/…": only the id is secret
        return False
    return not _PATH.fullmatch(value) and entropy(value) >= 3.0


def credential_value(value: str) -> bool:
    """After an auth scheme anything but a placeholder is a credential; without one it must look random."""
    return not is_placeholder(value) and (len(value) >= 8 or not value.isalpha())


def cookie_value(value: str) -> bool:
    """A cookie header holds ``name=value`` pairs; "cookie: accepted" is prose."""
    return "=" in value and not is_placeholder(value.partition("=")[2])


_PROSE = re.compile(r"[A-Za-z][a-z]*(?:-[a-z]+)*")


def spoken_password(value: str) -> bool:
    """"password is hunter2" is a secret, "password is incorrect" / "is Required" / "is too-short" are not."""
    return password_value(value) and not _PROSE.fullmatch(value)


def random_looking(value: str) -> bool:
    """A bare value worth redacting without a secret-ish key: long, mixed upper/lower/digit, high entropy.

    Hex (hashes, ids), UUIDs and words never qualify: they lack one of the three classes or the entropy.
    The entropy floor is 85 % of the most a value of that length over ~64 symbols can have.
    """
    if len(value) < 20 or is_placeholder(value) or value.startswith(("/", "http", "arn:")):
        return False
    if not (any(c.isupper() for c in value) and any(c.islower() for c in value) and any(c.isdigit() for c in value)):
        return False
    return entropy(value) >= 0.85 * math.log2(min(len(value), 64))


def has_digit_and_letter(value: str) -> bool:
    return any(c.isdigit() for c in value) and any(c.isalpha() for c in value)


def b64_decode(value: str) -> bytes | None:
    try:
        return base64.b64decode(value + "=" * (-len(value) % 4), validate=True)
    except (binascii.Error, ValueError):
        return None


def b64_user_pass(value: str) -> bool:
    """HTTP Basic / docker ``auth`` values are base64("user:password"); anything else is a false alarm."""
    raw = b64_decode(value)
    return raw is not None and b":" in raw


def b64_private_key(value: str) -> bool:
    """A base64-wrapped PEM (kubeconfig ``client-key-data``) is secret only when it is a private key."""
    raw = b64_decode(value[: len(value) - len(value) % 4][:96])
    return raw is not None and b"PRIVATE KEY" in raw
