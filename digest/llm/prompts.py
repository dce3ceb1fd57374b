"""Prompt files (`digest/prompts/<id>.md`): YAML front matter (id, version, and max_tokens unless the
task's depth settings give it: config.Depth), then a
`[system]` and a `[user]` part, both Jinja2 templates filled with the task's input. Files whose name
starts with "_" are parts the prompts include (`_today.md`: the digest's date, and that what the
model does not know may still be real).
"""

from __future__ import annotations

import functools
from importlib import resources

import jinja2
import yaml
from pydantic import BaseModel

_ENV = jinja2.Environment(
    loader=jinja2.PackageLoader("digest", "prompts"), undefined=jinja2.StrictUndefined, keep_trailing_newline=False
)


class Prompt(BaseModel):
    id: str
    version: int
    max_tokens: int | None = None  # completion tokens; tasks with depth settings take theirs from there
    system: str  # Jinja2 template source
    user: str  # Jinja2 template source

    @property
    def ref(self) -> str:
        """'paper_review@1': the id and version recorded in every section's provenance."""
        return f"{self.id}@{self.version}"

    def render(self, **values) -> list[dict[str, str]]:
        """The chat messages for this prompt with `values` filled in."""
        return [
            {"role": "system", "content": _template(self.system).render(**values).strip()},
            {"role": "user", "content": _template(self.user).render(**values).strip()},
        ]


@functools.lru_cache(maxsize=128)
def _template(source: str) -> jinja2.Template:
    """`source` compiled once: a day renders the same few templates thousands of times."""
    return _ENV.from_string(source)


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
        max_tokens=meta.get("max_tokens"),
        system=system.replace("[system]", "", 1).strip(),
        user=user.strip(),
    )
