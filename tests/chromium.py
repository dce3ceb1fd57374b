"""Debian's headless Chromium for the browser tests: where it is, how it starts with no network,
opening a page with its console errors and requests recorded, and axe-core's WCAG 2.1 A/AA check
(the engine's own build, shipped in axe-playwright-python)."""

from __future__ import annotations

import shutil
from pathlib import Path

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
ARTIFACTS = Path(__file__).parent / "artifacts"
# Without the background-networking flags Chromium phones home at start, which a closed network refuses.
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


def open_page(browser, where: Path | str, color_scheme="light"):
    """Open `where` (a file, or an http URL) in a new page of `browser`: (page, console errors, requested URLs)."""
    page = browser.new_page(color_scheme=color_scheme, viewport={"width": 1400, "height": 900})
    errors, requests = [], []
    page.on("console", lambda msg: errors.append(msg.text) if msg.type == "error" else None)
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.on("request", lambda req: requests.append(req.url))
    page.goto(where.as_uri() if isinstance(where, Path) else where)
    return page, errors, requests


WCAG_21_AA = {"runOnly": {"type": "tag", "values": ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]}}


def axe_violations(page) -> list[str]:
    """axe-core's WCAG 2.1 A and AA violations on the open `page`, every <details> opened first (the
    folded reviews and lists are checked too), one line each: rule (impact): help at the first targets."""
    from axe_playwright_python.sync_playwright import Axe

    for details in page.locator("details").all():
        details.evaluate("d => d.open = true")
    results = Axe().run(page, options=WCAG_21_AA)
    return [
        f"{v['id']} ({v['impact']}): {v['help']} at {', '.join(str(n['target']) for n in v['nodes'][:3])}"
        for v in results.response["violations"]
    ]
