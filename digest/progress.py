"""How a build tells what it is doing: a live display on a terminal (rich), plain log lines
everywhere else (cron mail, CI logs, files).

The pipeline calls `stage()` when a stage starts and `paper_written()` after each paper; both
reporters show the same facts: the stage, papers done of total, LLM calls, cache hits, tokens,
and the elapsed time.
"""

from __future__ import annotations

import logging
import time

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

from digest.models import Usage
from digest.words import plural

log = logging.getLogger("digest")


def usage_line(usage: Usage) -> str:
    """'12 calls, 3 cached, 4,812 tokens'."""
    return (
        f"{plural(usage.calls, 'call')}, {usage.cache_hits} cached, "
        f"{plural(usage.prompt_tokens + usage.completion_tokens, 'token')}"
    )


class Reporter:
    """Plain log lines, one per stage and one per paper."""

    def __init__(self) -> None:
        self.started = time.monotonic()

    def stage(self, name: str, detail: str = "") -> None:
        """Stage `name` (one word) starts; `detail` says with what."""
        log.info("%s%s", name, f": {detail}" if detail else "")

    def paper_written(self, done: int, total: int, usage: Usage) -> None:
        log.info("paper %d/%d written (%s, %.0f s)", done, total, usage_line(usage), time.monotonic() - self.started)

    def close(self) -> None:
        """Stop the display (nothing to stop for log lines)."""


class LiveReporter(Reporter):
    """A rich progress line on `console`, redrawn in place; log records printed above it (when
    the logging handler writes to the same console)."""

    def __init__(self, console: Console) -> None:
        super().__init__()
        self._progress = Progress(
            SpinnerColumn(),
            TextColumn("{task.description:<10}"),
            BarColumn(bar_width=16),
            MofNCompleteColumn(),
            TextColumn("papers · {task.fields[usage]}"),
            TimeElapsedColumn(),
            console=console,
        )
        self._task = self._progress.add_task("starting", total=None, usage=usage_line(Usage()))
        self._progress.start()

    def stage(self, name: str, detail: str = "") -> None:
        super().stage(name, detail)  # the detail as a log line above the display
        self._progress.update(self._task, description=name)

    def paper_written(self, done: int, total: int, usage: Usage) -> None:
        self._progress.update(self._task, completed=done, total=total, usage=usage_line(usage))

    def close(self) -> None:
        self._progress.stop()
