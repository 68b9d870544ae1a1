"""Text from the wire made valid Unicode where it enters the process.

JSON may carry ``\\ud83d`` escapes for half of a surrogate pair; Python decodes that into a ``str`` that
cannot be encoded as UTF-8, and the first ``.encode()`` downstream (a Slack post, a model request, the
sidecar's answer) fails for the whole request. Every such character becomes U+FFFD once, here, at the
edges that parse JSON from others: AWS responses, the model's output, the sidecar's request body.
"""

from __future__ import annotations

from typing import Any


def valid_text(text: str) -> str:
    """``text`` with lone surrogates replaced by U+FFFD (a proper pair is joined into its character)."""
    if text.isascii():
        return text
    try:
        text.encode("utf-8")
        return text
    except UnicodeEncodeError:
        return text.encode("utf-16", "surrogatepass").decode("utf-16", "replace")


def valid_tree(value: Any) -> Any:
    """``valid_text`` over every string value in parsed JSON, in place (a parsed response is ours to
    change; rebuilding every dict of a 10,000-event page would cost more than the check)."""
    if isinstance(value, str):
        return valid_text(value)
    items = value.items() if isinstance(value, dict) else enumerate(value) if isinstance(value, list) else ()
    for key, item in items:
        if isinstance(item, str):
            if not item.isascii():
                value[key] = valid_text(item)
        elif isinstance(item, dict | list):
            valid_tree(item)
    return value
