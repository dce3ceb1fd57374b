"""Search index benchmark: indexing one day, one year of 365 days and, as the baseline, the whole
ten-year archive in one bundle, with the Pagefind binary and options digest.render.search uses.

Run: python bench/search.py
Builds the demo day (2026-04-30, from demo/snapshot) with the fake OpenAI-compatible server of
tests/fake_llm.py, as the tests do, and indexes it alone (one day, the bundle of 2026). Then puts
3,649 earlier days beside it, each a day folder whose index.html is a hard link to the demo day's
page (ten years of pages at no disk cost; their words are the same, so the bundles are smaller than a
real archive's, while Pagefind still reads and parses every page), and indexes the 365 days of 2025
(the bundle a build publishing a day of that year writes) and every day in one bundle (what a
single-bundle design would redo every night). Each figure is one run of the Pagefind process in a
fresh wrapper: its wall time, its CPU time and its peak resident memory (RUSAGE_CHILDREN), with the
size of the bundle it wrote.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests"))
sys.path.insert(0, str(ROOT / "bench"))

from archive import DATE, build_args  # the demo day's build, as the archive benchmark runs it
from fake_llm import FakeLLM

from digest.cli import main as digest_main
from digest.render.search import day_pages, pagefind_binary, pagefind_command

EARLIER_DAYS = 3649  # with the demo day, ten years of days

# Runs the command in argv and prints {"seconds", "cpu_seconds", "peak_mb"} of that one child.
WRAPPER = """
import json, resource, subprocess, sys, time
start = time.perf_counter()
subprocess.run(sys.argv[1:], check=True, capture_output=True)
seconds = time.perf_counter() - start
child = resource.getrusage(resource.RUSAGE_CHILDREN)
cpu = child.ru_utime + child.ru_stime
print(json.dumps({"seconds": seconds, "cpu_seconds": cpu, "peak_mb": child.ru_maxrss / 1024}))
"""


def measure(site: Path, pages: str, bundle: Path) -> dict:
    """Index `pages` (a glob of `site`) into `bundle` in a fresh process: its figures and the bundle's bytes."""
    command = pagefind_command(pagefind_binary(), site, pages, bundle)
    result = subprocess.run([sys.executable, "-c", WRAPPER, *command], capture_output=True, text=True, check=False)
    if result.returncode != 0:
        raise SystemExit(f"indexing {pages} failed:\n{result.stderr[-3000:]}")
    figures = json.loads(result.stdout)
    figures["pages"] = len(list(site.glob(pages)))
    figures["bundle_mb"] = sum(p.stat().st_size for p in bundle.rglob("*") if p.is_file()) / 1e6
    return figures


def ten_years(site: Path) -> None:
    """3,649 day folders before the demo day, each page a hard link to the demo day's."""
    page = site / DATE / "index.html"
    start = dt.date.fromisoformat(DATE)
    for n in range(1, EARLIER_DAYS + 1):
        folder = site / (start - dt.timedelta(days=n)).isoformat()
        folder.mkdir()
        os.link(page, folder / "index.html")


def row(label: str, figures: dict) -> str:
    return (
        f"  {label:<42} {figures['pages']:6,} pages {figures['seconds']:8.2f} s wall"
        f" {figures['cpu_seconds']:8.2f} s CPU {figures['peak_mb']:8.1f} MB peak   bundle {figures['bundle_mb']:6.1f} MB"
    )


def main() -> None:
    with tempfile.TemporaryDirectory() as folder, FakeLLM() as llm:
        os.environ.update({"OPENAI_BASE_URL": llm.base_url, "OPENAI_API_KEY": "bench"})
        os.environ.pop("DIGEST_MODEL", None)  # every task's model as demo/sources.yaml names it
        site, data, bundles = Path(folder) / "site", Path(folder) / "data", Path(folder) / "bundles"
        assert digest_main(build_args(site, data)) in (0, 3), "the demo day builds"
        size = (site / DATE / "index.html").stat().st_size
        print(f"the demo day's page: {size:,} bytes; Pagefind {pagefind_binary().name}, one run each")
        one_day = measure(site, day_pages(2026), bundles / "day")
        ten_years(site)
        one_year = measure(site, day_pages(2025), bundles / "year")
        everything = measure(site, "????-??-??/index.html", bundles / "all")
        print("indexing (one Pagefind process each):")
        print(row("one day (a new year's first day)", one_day))
        print(row("one year of 365 days (a nightly build)", one_year))
        print(row(f"all {EARLIER_DAYS + 1:,} days in one bundle (baseline)", everything))
        print(
            f"a nightly build indexes its year: at most 366 pages, {everything['seconds'] / one_year['seconds']:.1f}x "
            "less wall time than the whole archive in one bundle"
        )


if __name__ == "__main__":
    main()
