"""File writes shared by every stage that keeps files: temp file, fsync, rename.

A reader (a browser, a replay, the next run) sees the old file or the new one, never half of
one. `write_temp` leaves a complete file under a temporary name for a caller that renames many at
once (a whole day's publication); `write_atomic` is the one-file case. A killed write leaves only
`.partial` temp files and folders, removed by `remove_partial_files`. `exchange` swaps two folders
in one step (Linux renameat2), so a day's folder is replaced whole.
"""

from __future__ import annotations

import ctypes
import errno
import os
import shutil
import tempfile
from pathlib import Path

TEMP_SUFFIX = ".partial"
_RENAME_EXCHANGE = 2  # renameat2 flag, linux/fs.h
_AT_FDCWD = -100


def remove_partial_files(folder: Path) -> None:
    """Delete temp files and folders that a killed run left in `folder`, its day folders and their
    papers/."""
    for pattern in (f".*{TEMP_SUFFIX}", f"*/.*{TEMP_SUFFIX}", f"*/papers/.*{TEMP_SUFFIX}"):
        for leftover in folder.glob(pattern):
            if leftover.is_dir() and not leftover.is_symlink():
                shutil.rmtree(leftover, ignore_errors=True)
            else:
                leftover.unlink(missing_ok=True)


def write_temp(path: Path, data: str | bytes) -> Path:
    """Write `data` (str as UTF-8, or bytes) to a new temp file beside `path`, fsync'd and
    readable by all (0644); returns the temp file's path, for the caller to rename onto `path`.

    Raises OSError (e.g. ENOSPC, EACCES) naming `path`, with the temp file already removed.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=TEMP_SUFFIX)
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data.encode("utf-8") if isinstance(data, str) else data)
            fh.flush()
            os.fsync(fh.fileno())
        os.chmod(tmp, 0o644)
    except BaseException as exc:
        Path(tmp).unlink(missing_ok=True)
        if isinstance(exc, OSError) and exc.filename is None:
            exc.filename = str(path)  # the message names the file that could not be written
        raise
    return Path(tmp)


def write_atomic(path: Path, data: str | bytes) -> None:
    """Write `data` (str as UTF-8, or bytes) to `path` through a temp file, fsync and rename.

    Raises OSError (e.g. ENOSPC, EACCES) naming `path`, with the temp file already removed.
    """
    tmp = write_temp(path, data)
    try:
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def exchange(new: Path, old: Path) -> None:
    """Put folder `new` in the place of folder `old` in one step; afterwards `new`'s path holds
    the old folder (for the caller to delete). Where the kernel or file system cannot swap
    (no renameat2), `old` is moved to `new`'s path first: a reader may then find no folder for an
    instant, but never a mix of the two. Raises OSError naming `old`."""
    libc = ctypes.CDLL(None, use_errno=True)
    swap = getattr(libc, "renameat2", None)
    if swap is not None:
        if swap(_AT_FDCWD, os.fsencode(new), _AT_FDCWD, os.fsencode(old), _RENAME_EXCHANGE) == 0:
            return
        code = ctypes.get_errno()
        if code not in (errno.EINVAL, errno.ENOSYS, errno.EOPNOTSUPP):
            raise OSError(code, os.strerror(code), str(old))
    # Not a temp name: if the run dies between the renames, the published folder is found here,
    # never removed as a leftover.
    aside = new.with_name(new.name + ".published")
    os.replace(old, aside)
    try:
        os.replace(new, old)
    except BaseException:
        os.replace(aside, old)  # the published folder goes back
        raise
    os.replace(aside, new)
