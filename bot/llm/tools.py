"""Model tools as data plus a plain callable, in the spirit of HolmesGPT's toolsets.

A tool never raises: the loop turns any exception into an ``error: …`` result, which goes back to the
model so it can try something else (a wrong instance name is information, not a crash).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class ToolSpec:
    name: str
    description: str
    parameters: dict[str, Any]  # JSON schema of the arguments object
    fn: Callable[[dict[str, Any]], str]

    def schema(self) -> dict[str, Any]:
        """The OpenAI ``tools`` entry for this tool."""
        return {
            "type": "function",
            "function": {"name": self.name, "description": self.description, "parameters": self.parameters},
        }

    def parse(self, raw_arguments: str) -> tuple[dict[str, Any], str]:
        """The model's JSON arguments and ``""``, or ``{}`` and what is wrong with them (``error: …``)."""
        try:
            args = json.loads(raw_arguments or "{}")
        except json.JSONDecodeError as exc:
            return {}, f"error: arguments are not valid JSON ({exc.msg})"
        if not isinstance(args, dict):
            return {}, "error: arguments must be a JSON object"
        missing = [k for k in self.parameters.get("required", []) if k not in args]
        if missing:
            return {}, f"error: missing required argument(s): {', '.join(missing)}"
        allowed = set(self.parameters.get("properties", {}))
        unknown = sorted(set(args) - allowed)
        if unknown:
            return {}, f"error: unknown argument(s): {', '.join(unknown)}; allowed: {', '.join(sorted(allowed))}"
        return args, ""

    def invoke(self, raw_arguments: str) -> str:
        """Parse the model's JSON arguments, check required keys, call, and return text (never raise)."""
        args, problem = self.parse(raw_arguments)
        if problem:
            return problem
        try:
            return self.fn(args)
        except Exception as exc:  # reported to the model as a result, by design
            message = getattr(exc, "message", None) or str(exc) or type(exc).__name__
            hint = getattr(exc, "hint", "")
            return f"error: {message}" + (f" (hint: {hint})" if hint else "")
