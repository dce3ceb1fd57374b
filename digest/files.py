"""Atomic file writes shared by every stage that keeps files: temp file, fsync, rename.

A reader (a browser, a replay, the next run) sees the old file or the new one, never half of
one; a killed write leaves only a `.partial` temp file, removed by `remove_partial_files`.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

TEMP_SUFFIX = ".partial"


def remove_partial_files(folder: Path) -> None:
    """Delete temp files that a killed run left in `folder`, its day folders and their papers/."""
    for leftover in [*folder.glob(f".*{TEMP_SUFFIX}"), *folder.glob(f"*/.*{TEMP_SUFFIX}"),
                     *folder.glob(f"*/papers/.*{TEMP_SUFFIX}")]:
        leftover.unlink(missing_ok=True)


def write_atomic(path: Path, data: str | bytes) -> None:
    """Write `data` (str as UTF-8, or bytes) to `path` through a temp file, fsync and rename.

    Raises OSError (e.g. ENOSPC, EACCES) with the temp file already removed.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=TEMP_SUFFIX)
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data.encode("utf-8") if isinstance(data, str) else data)
            fh.flush()
            os.fsync(fh.fileno())
        os.chmod(tmp, 0o644)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
