"""A paper's code repository: the first GitHub, GitLab or Hugging Face repository URL in its
arXiv comment, then in its abstract, else the `githubRepo` Hugging Face's daily papers listing
gives it (when that listing was fetched).

Only a repository counts: `github.com/owner/repo`, `gitlab.com/group/.../repo`,
`huggingface.co/owner/model` and `huggingface.co/{spaces,datasets}/owner/name`; a profile, a blog
post or a site page of those hosts (`github.com/features/...`, `huggingface.co/blog/...`) is not code.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping

from digest.models import Paper

# The path segments stop at anything a URL in running text is followed by: space, quotes, brackets.
_REPOSITORY = re.compile(
    r"https?://(?:www\.)?(?P<host>github\.com|gitlab\.com|huggingface\.co)/(?P<path>[\w.~-]+(?:/[\w.~-]+){1,3})",
    re.IGNORECASE,
)
# First segments of these hosts that are site pages, not owners (their URL namespaces as of 2026).
_NOT_OWNERS = {
    "github.com": {
        "about",
        "apps",
        "collections",
        "enterprise",
        "explore",
        "features",
        "orgs",
        "marketplace",
        "settings",
        "sponsors",
        "topics",
        "login",
        "pricing",
        "site",
        "security",
        "readme",
    },
    "gitlab.com": {"explore", "help", "users", "dashboard", "groups"},
    "huggingface.co": {
        "blog",
        "docs",
        "papers",
        "learn",
        "collections",
        "organizations",
        "settings",
        "api",
        "join",
        "login",
        "pricing",
        "tasks",
        "models",
        "posts",
        "chat",
    },
}
_HF_KINDS = ("spaces", "datasets")  # huggingface.co/spaces/owner/name; a model has no kind segment
_TRAILING = ".,;:!?)'\""  # sentence punctuation glued to a URL's end


def repository_url(text: str) -> str | None:
    """The first code repository URL in `text`, normalized to 'https://host/owner/repo' (no '.git',
    no trailing punctuation, no deeper path such as '/tree/main'); None when there is none."""
    for match in _REPOSITORY.finditer(text or ""):
        host = match["host"].lower()
        parts = [p for p in (p.rstrip(_TRAILING) for p in match["path"].split("/")) if p]
        kept = _repository(host, parts)
        if kept:
            kept[-1] = kept[-1].removesuffix(".git")
            if kept[-1]:
                return f"https://{host}/{'/'.join(kept)}"
    return None


def _repository(host: str, parts: list[str]) -> list[str] | None:
    """The segments of `parts` (a URL path on `host`) that name a repository, or None."""
    if host == "huggingface.co" and parts and parts[0].lower() in _HF_KINDS:
        kept = parts[:3]
        return kept if len(kept) == 3 else None
    if host == "gitlab.com" and "-" in parts:  # '/-/tree/main' starts GitLab's pages of a project
        parts = parts[: parts.index("-")]
    kept = parts if host == "gitlab.com" else parts[:2]
    if len(kept) < 2 or kept[0].lower() in _NOT_OWNERS[host]:
        return None
    return kept


def with_code(papers: Iterable[Paper], listed: Mapping[str, str] | None = None) -> list[Paper]:
    """`papers` with `code_url` set: from the comment, else the abstract, else `listed` (arXiv id ->
    repository URL, from Hugging Face's daily papers listing); papers without any keep None."""
    listed = listed or {}
    found = []
    for paper in papers:
        url = repository_url(paper.comment or "") or repository_url(paper.summary) or listed.get(paper.arxiv_id)
        found.append(paper.model_copy(update={"code_url": url}) if url else paper)
    return found
