"""Prompt files (`digest/prompts/<id>.md`): YAML front matter (id, version, max_tokens), then a
`[system]` and a `[user]` part. The user part is a Jinja2 template filled with the task's input.
"""

from __future__ import annotations

import functools
from importlib import resources

import jinja2
import yaml
from pydantic import BaseModel

_ENV = jinja2.Environment(undefined=jinja2.StrictUndefined, keep_trailing_newline=False)


class Prompt(BaseModel):
    id: str
    version: int
    max_tokens: int  # completion tokens
    system: str
    user: str  # Jinja2 template source

    @property
    def ref(self) -> str:
        """'paper_review@1': the id and version recorded in every section's provenance."""
        return f"{self.id}@{self.version}"

    def render(self, **values) -> list[dict[str, str]]:
        """The chat messages for this prompt with `values` filled in."""
        return [
            {"role": "system", "content": self.system},
            {"role": "user", "content": _ENV.from_string(self.user).render(**values).strip()},
        ]


@functools.cache
def load_prompt(prompt_id: str) -> Prompt:
    """Read prompts/<prompt_id>.md from the package. Raises FileNotFoundError or ValueError."""
    text = resources.files("digest").joinpath("prompts", f"{prompt_id}.md").read_text(encoding="utf-8")
    _, front, body = text.split("---", 2)
    meta = yaml.safe_load(front)
    if "[system]" not in body or "[user]" not in body:
        raise ValueError(f"prompt {prompt_id}: needs a [system] and a [user] part")
    system, user = body.split("[user]", 1)
    return Prompt(
        id=meta["id"],
        version=meta["version"],
        max_tokens=meta["max_tokens"],
        system=system.replace("[system]", "", 1).strip(),
        user=user.strip(),
    )
