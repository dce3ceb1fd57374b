"""Archive benchmark: a rerun of the demo day beside no earlier day and beside ten years of them.

Run: python bench/archive.py
Builds the demo day (2026-04-30, from demo/snapshot) with the fake OpenAI-compatible server of
tests/fake_llm.py, as the tests do, then puts a synthetic ten-year archive beside it: 3,649 earlier
days, each a copy of the built digest.json with its date changed (its page and paper pages are hard
links to the demo day's, so the folders look like published days). Every figure is one fresh
subprocess, best of 3: the wall time of the step and the process's peak resident memory
(resource.getrusage, so the interpreter and its imports are in every figure alike).

- publish: the archive work of a rerun, as the build does it (digest.pipeline): "covered earlier"
  for the day's papers (digest.render.index.writeups_before), the published day
  (read_published), then stage_day and commit with the data folder's archive index;
- build: the whole `digest build` rerun (the answer cache serves every call), through digest.cli;
- old path: load_digests over the same site, which every build did before the index (twice: for
  "covered earlier" and for the archive and the feed).

Each is measured with no earlier day (the baseline), with 3,650 days and the index present, and
with 3,650 days and the index missing (built again from every digest.json, once). Target: with
the index present, the 3,650-day archive adds at most 0.2 s and 50 MB to the baseline.
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

from fake_llm import FakeLLM

from digest.cli import main as digest_main
from digest.render.index import INDEX_FILE

DATE = "2026-04-30"
EARLIER_DAYS = 3649  # with the demo day, ten years of days
RUNS = 3
TARGET_SECONDS, TARGET_MB = 0.2, 50

# One step in a fresh interpreter: prints {"seconds": wall time of the step, "peak_mb": peak RSS}.
STEP = """
import datetime as dt, json, resource, sys, time
from pathlib import Path
step, site, data = sys.argv[1], Path(sys.argv[2]), Path(sys.argv[3])
from digest.cli import main
from digest.config import SiteConfig
from digest.render.index import writeups_before
from digest.render.publish import publish
from digest.render.site import load_digests, read_published
date = dt.date.fromisoformat(sys.argv[4])
start = time.perf_counter()
if step == "publish":
    digest = read_published(site, date)
    papers = [w.paper for w in digest.papers] + [c.paper for c in digest.covered]
    writeups_before(site, data, papers, date)
    publish(digest, site, SiteConfig(), data)
elif step == "build":
    assert main(sys.argv[5:]) == 0
else:
    load_digests(site)
seconds = time.perf_counter() - start
print(json.dumps({"seconds": seconds, "peak_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))
"""


def build_args(site: Path, data: Path) -> list[str]:
    """The command line of the demo day's build into `site` and `data`."""
    return [
        "-q",
        "build",
        "--date",
        DATE,
        "--config",
        str(ROOT / "demo" / "sources.yaml"),
        "--snapshot",
        str(ROOT / "demo" / "snapshot"),
        "--output",
        str(site),
        "--data",
        str(data),
    ]


def measure(step: str, site: Path, data: Path, fresh_index: bool = False) -> tuple[float, float]:
    """Best of RUNS fresh subprocesses of `step`: (seconds, peak MB). With `fresh_index` the
    archive index is deleted before each run, so each builds it again."""
    best = (float("inf"), float("inf"))
    for _ in range(RUNS):
        if fresh_index:
            (data / INDEX_FILE).unlink(missing_ok=True)
        command = [sys.executable, "-c", STEP, step, str(site), str(data), DATE, *build_args(site, data)]
        result = subprocess.run(command, capture_output=True, text=True, cwd=ROOT)
        if result.returncode != 0:
            raise SystemExit(f"{step} failed:\n{result.stderr[-3000:]}")
        figures = json.loads(result.stdout.strip().splitlines()[-1])
        best = (min(best[0], figures["seconds"]), min(best[1], figures["peak_mb"]))
    return best


def ten_years(site: Path) -> None:
    """3,649 earlier days beside the demo day: its digest.json with the date and the papers' arXiv
    ids changed (so that, as on a real site, no earlier day wrote up today's papers and the rerun
    writes up what the baseline does), its pages hard linked."""
    day = site / DATE
    text = (day / "digest.json").read_text(encoding="utf-8")
    first = f'"date": "{DATE}"'
    assert first in text, "digest.json names its date"
    listed = json.loads(text)["digest"]
    ids = [w["paper"]["arxiv_id"] for w in listed["papers"]] + [p["arxiv_id"] for p in listed["updated"]]
    ids += [c["paper"]["arxiv_id"] for c in listed["covered"]]
    pages = [p.relative_to(day) for p in day.rglob("*.html")]
    start = dt.date.fromisoformat(DATE)
    for n in range(1, EARLIER_DAYS + 1):
        date = start - dt.timedelta(days=n)
        copy = text.replace(first, f'"date": "{date}"', 1)
        for i, arxiv_id in enumerate(ids):  # YYMM.NNNNN of that day: a new-style id no other day has
            copy = copy.replace(arxiv_id, f"{date:%y%m}.{date.day * 1000 + i:05d}")
        folder = site / date.isoformat()
        (folder / "papers").mkdir(parents=True)
        (folder / "digest.json").write_text(copy, encoding="utf-8")
        for page in pages:
            os.link(day / page, folder / page)


def row(label: str, figures: tuple[float, float], baseline: tuple[float, float] | None = None) -> str:
    seconds, mb = figures
    line = f"  {label:<44} {seconds:8.3f} s {mb:8.1f} MB"
    if baseline:
        line += f"   +{seconds - baseline[0]:7.3f} s +{mb - baseline[1]:7.1f} MB   x{seconds / baseline[0]:6.2f}"
    return line


def main() -> None:
    with tempfile.TemporaryDirectory() as folder, FakeLLM() as llm:
        os.environ.update({"OPENAI_BASE_URL": llm.base_url, "OPENAI_API_KEY": "bench"})
        os.environ.pop("DIGEST_MODEL", None)  # every task's model as demo/sources.yaml names it
        site, data = Path(folder) / "site", Path(folder) / "data"
        assert digest_main(build_args(site, data)) == 0, "the demo day builds"
        size = (site / DATE / "digest.json").stat().st_size
        print(
            f"the demo day: {len(list((site / DATE / 'papers').glob('*.html')))} paper pages, digest.json {size:,} bytes"
        )
        results = {}
        for step in ("publish", "build", "old"):
            results[step, 0] = measure(step, site, data)
        ten_years(site)
        measure("publish", site, data)  # the index learns the new days once
        for step in ("publish", "build", "old"):
            results[step, 1] = measure(step, site, data)
        for step in ("publish", "build"):
            results[step, 2] = measure(step, site, data, fresh_index=True)
        print(
            f"best of {RUNS} fresh processes; the step's wall time, the process's peak RSS, then against the baseline"
        )
        names = {"publish": "publish (covered earlier, read, stage, commit)", "build": "build (digest build rerun)"}
        for step in ("publish", "build"):
            print(f"{names[step]}:")
            print(row("1 day (baseline)", results[step, 0]))
            print(row(f"{EARLIER_DAYS + 1:,} days, index present", results[step, 1], results[step, 0]))
            print(row(f"{EARLIER_DAYS + 1:,} days, index missing (built once)", results[step, 2], results[step, 0]))
        print("old path (load_digests over the site; the build before the index ran it twice):")
        print(row("1 day", results["old", 0]))
        print(row(f"{EARLIER_DAYS + 1:,} days", results["old", 1], results["old", 0]))
        index_mb = (data / INDEX_FILE).stat().st_size / 1e6
        print(f"archive index: {index_mb:.1f} MB; year pages: {len(list((site / 'archive').glob('*.html')))}")
        for step in ("publish", "build"):
            added = (results[step, 1][0] - results[step, 0][0], results[step, 1][1] - results[step, 0][1])
            met = added[0] <= TARGET_SECONDS and added[1] <= TARGET_MB
            print(
                f"target ({step}): {EARLIER_DAYS + 1:,} days add <= {TARGET_SECONDS} s and <= {TARGET_MB} MB with the "
                f"index -> {'met' if met else 'NOT met'} (+{added[0]:.3f} s, +{added[1]:.1f} MB)"
            )


if __name__ == "__main__":
    main()
