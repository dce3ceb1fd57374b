"""The files in examples/ work as written: every digest command line in them parses, and the GitHub
Actions workflow names only actions, settings and paths that exist."""

import re
import shlex
from pathlib import Path

import yaml

from digest.cli import parser

EXAMPLES = Path(__file__).parent.parent / "examples"
ROOT = EXAMPLES.parent
# The actions the workflow may use, at their current major versions (the Pages deployment set).
KNOWN_ACTIONS = {
    "actions/checkout@v4",
    "actions/setup-python@v5",
    "actions/cache@v4",
    "actions/configure-pages@v5",
    "actions/upload-pages-artifact@v3",
    "actions/deploy-pages@v4",
}


def _digest_argv(line: str) -> list[str]:
    """The arguments after `digest` in a shell line, with `$(...)` replaced by a date."""
    line = re.sub(r'"?\$\([^)]*\)"?', "2026-04-30", line).replace("%%", "%")
    words = shlex.split(line.split("&&")[-1].split("||")[0])
    start = next(i for i, w in enumerate(words) if w.endswith("digest") or w.endswith("/digest"))
    return words[start + 1 :]


def _command_lines() -> list[str]:
    cron = [
        line
        for line in (EXAMPLES / "crontab").read_text().splitlines()
        if line.strip() and not line.startswith("#") and "digest" in line and "=" not in line.split()[0]
    ]
    unit = [
        line.split("=", 1)[1].strip().removeprefix("/bin/bash -c ").strip("'")
        for line in (EXAMPLES / "digest.service").read_text().splitlines()
        if line.startswith("ExecStart=")
    ]
    workflow = yaml.safe_load((EXAMPLES / "github" / "digest.yml").read_text())
    runs = [
        step["run"] for job in workflow["jobs"].values() for step in job["steps"] if "digest " in step.get("run", "")
    ]
    return cron + unit + runs


def test_every_example_command_line_parses():
    lines = _command_lines()
    assert len(lines) == 3  # cron, systemd, GitHub Actions
    for line in lines:
        args = parser().parse_args(_digest_argv(line))
        assert args.command == "build", line


def test_the_workflow_deploys_to_pages_with_absolute_links():
    workflow = yaml.safe_load((EXAMPLES / "github" / "digest.yml").read_text())
    job = workflow["jobs"]["build"]
    steps = job["steps"]
    assert job["environment"]["name"] == "github-pages"  # deploy-pages refuses other environments
    assert {"pages": "write", "id-token": "write"}.items() <= workflow["permissions"].items()
    uses = [s["uses"] for s in steps if "uses" in s]
    assert set(uses) <= KNOWN_ACTIONS and uses[-1] == "actions/deploy-pages@v4"
    build = next(s for s in steps if "digest build" in s.get("run", ""))
    args = parser().parse_args(_digest_argv(build["run"]))
    assert (ROOT / args.config).is_file()
    upload = next(s for s in steps if s.get("uses", "").startswith("actions/upload-pages-artifact"))
    assert Path(upload["with"]["path"]) == args.output  # the folder built is the folder deployed
    pages = next(s for s in steps if s.get("uses", "").startswith("actions/configure-pages"))
    assert build["env"]["DIGEST_SITE_URL"] == "${{ steps." + pages["id"] + ".outputs.base_url }}/"


def test_the_readme_exit_code_table_matches_the_codes():
    from digest.errors import EXIT_CODES

    readme = (ROOT / "README.md").read_text()
    rows = dict(re.findall(r"^\| (\d) \| ([^|]+) \|", readme, re.M))
    assert set(rows) == {str(code) for code in EXIT_CODES}
    for code, meaning in EXIT_CODES.items():
        assert rows[str(code)].startswith(meaning), code
