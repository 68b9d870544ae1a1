"""Versioned YAML prompt templates and the one strict loader that renders them.

Each ``*.yaml`` file holds ``name``, ``version``, ``description``, ``variables`` (the exact set the
template may use) and ``template`` (Jinja2). Rendering uses ``StrictUndefined`` and also rejects
variables that were not declared, so a typo fails loudly in the render tests instead of shipping a
prompt with a hole in it. ``Prompt.ref`` (``status@v2``) of every prompt sent goes into the request's
audit event (``handlers.dispatch``).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import jinja2
import yaml

PROMPT_DIR = Path(__file__).parent
EVIDENCE_CLOSE = "</evidence>"
# Any spelling a model might read as our delimiter: any case, whitespace or invisible format characters
# between the pieces ("</EVIDENCE>", "< / evidence >", "</evi\u200bdence>" is left to clean_text).
_GAP = r"[\s\u200b-\u200f\u2060\ufeff]*"
_TAG = re.compile(rf"<{_GAP}(/?){_GAP}(e{_GAP}v{_GAP}i{_GAP}d{_GAP}e{_GAP}n{_GAP}c{_GAP}e)(?![\w-])", re.IGNORECASE)


class PromptError(Exception):
    """A template is malformed or was rendered with the wrong variables (a bug, not user error)."""


@dataclass(frozen=True)
class Prompt:
    name: str
    version: int
    description: str
    variables: frozenset[str]
    template: jinja2.Template

    def render(self, **values: Any) -> str:
        missing = self.variables - values.keys()
        extra = values.keys() - self.variables
        if missing or extra:
            raise PromptError(f"prompt {self.name} v{self.version}: missing {sorted(missing)}, "
                              f"undeclared {sorted(extra)}")
        try:
            return self.template.render(**values).strip() + "\n"
        except jinja2.UndefinedError as exc:
            raise PromptError(f"prompt {self.name}: {exc}") from exc

    @property
    def ref(self) -> str:
        return f"{self.name}@v{self.version}"


def evidence_block(source: str, text: str) -> str:
    """Wrap untrusted evidence in delimiters the model is told to treat as data.

    A log line could contain the closing tag to "escape" the block, so it is defused first.
    """
    body = _TAG.sub(lambda m: f"<{m.group(1)}evidence_", text)
    safe_source = "".join(ch for ch in source if ch.isalnum() or ch in "/-_.:# ")[:120]
    return f'<evidence source="{safe_source}">\n{body}\n{EVIDENCE_CLOSE}'


class PromptLibrary:
    """All templates, loaded and compiled once at start-up (a broken file stops the bot early)."""

    def __init__(self, directory: Path = PROMPT_DIR) -> None:
        # Prompts are plain text for a model, not HTML: HTML-escaping would corrupt the evidence.
        env = jinja2.Environment(
            undefined=jinja2.StrictUndefined, autoescape=False,  # not HTML  # noqa: S701  # nosec B701
            keep_trailing_newline=True,
            trim_blocks=True, lstrip_blocks=True,
        )
        env.filters["evidence"] = lambda text, source="evidence": evidence_block(source, str(text))
        self._prompts: dict[str, Prompt] = {}
        for path in sorted(directory.glob("*.yaml")):
            raw = yaml.safe_load(path.read_text(encoding="utf-8"))
            try:
                prompt = Prompt(
                    name=str(raw["name"]), version=int(raw["version"]), description=str(raw["description"]),
                    variables=frozenset(raw.get("variables") or ()), template=env.from_string(raw["template"]),
                )
            except (KeyError, TypeError, jinja2.TemplateSyntaxError) as exc:
                raise PromptError(f"{path.name}: {exc}") from exc
            if prompt.name != path.stem:
                raise PromptError(f"{path.name}: name {prompt.name!r} does not match the file name")
            self._prompts[prompt.name] = prompt

    def get(self, name: str) -> Prompt:
        try:
            return self._prompts[name]
        except KeyError:
            raise PromptError(f"no prompt named {name!r}") from None

    def render(self, name: str, **values: Any) -> str:
        return self.get(name).render(**values)

    def names(self) -> list[str]:
        return sorted(self._prompts)
