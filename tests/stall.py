"""Kill a `digest` command in a child process while one of its writes is under way: the child's
`nth` fsync (digest.files) stalls, the parent sees the flag file it creates and sends SIGKILL."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
from collections.abc import Mapping
from pathlib import Path

STALL_SECONDS = 60  # longer than any wait below: the child is killed while stalled, never wakes


def kill_at_write(args: list[str], nth: int, flag: Path, env: Mapping[str, str] | None = None) -> None:
    """Run `digest <args>` (digest.cli.main) in a child process with the environment `env` (None:
    this one's) and kill it while its `nth` fsync'd write is under way. Asserts that the child got
    that far within STALL_SECONDS (a command with fewer writes fails the assertion)."""
    flag.unlink(missing_ok=True)
    script = f"""
        import os, sys, time
        import digest.files
        real, count = os.fsync, [0]
        def stalled(fd):
            count[0] += 1
            if count[0] == {nth}:
                open({str(flag)!r}, "w").close()
                time.sleep({STALL_SECONDS})
            real(fd)
        digest.files.os.fsync = stalled
        from digest.cli import main
        sys.exit(main({args!r}))
    """
    child = subprocess.Popen(
        [sys.executable, "-c", textwrap.dedent(script)],
        env=None if env is None else dict(env),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + STALL_SECONDS
    while not flag.exists() and time.monotonic() < deadline:
        time.sleep(0.01)
    os.kill(child.pid, signal.SIGKILL)
    child.wait()
    assert flag.exists(), f"the child never reached write {nth}"
