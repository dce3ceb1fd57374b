"""Shared test fixtures: recorded data, the fake OpenAI-compatible server, page parsing."""

from __future__ import annotations

import sys
from html.parser import HTMLParser
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))
from fake_llm import FakeLLM  # noqa: E402

ROOT = Path(__file__).parent.parent
DATA = Path(__file__).parent / "data"
DEMO_SNAPSHOT = ROOT / "demo" / "snapshot"
DEMO_CONFIG = ROOT / "demo" / "sources.yaml"
DEMO_DATE = "2026-04-30"


@pytest.fixture(autouse=True)
def _isolated_cwd(tmp_path, monkeypatch):
    """Default folders (data/, output/) land in the test's own temporary folder."""
    monkeypatch.chdir(tmp_path)


@pytest.fixture
def fake_llm(monkeypatch):
    """A running fake endpoint, selected through the SDK's own environment variables."""
    with FakeLLM() as server:
        monkeypatch.setenv("OPENAI_BASE_URL", server.base_url)
        monkeypatch.setenv("OPENAI_API_KEY", "test-key")
        monkeypatch.delenv("DIGEST_MODEL", raising=False)
        yield server


class Page(HTMLParser):
    """The ids, links and text of a built page."""

    def __init__(self, html: str):
        super().__init__()
        self.ids: list[str] = []
        self.hrefs: list[str] = []
        self.text: list[str] = []
        self.elements: list[tuple[str, dict]] = []
        self.feed(html)

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        self.elements.append((tag, attrs))
        if "id" in attrs:
            self.ids.append(attrs["id"])
        if tag == "a" and "href" in attrs:
            self.hrefs.append(attrs["href"])

    def handle_data(self, data):
        self.text.append(data)

    @property
    def plain(self) -> str:
        return " ".join(" ".join(self.text).split())
