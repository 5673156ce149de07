"""Write a report file atomically, or append to one (the GitHub job summary).

A reader (a CI step, an artifact upload, a person with ``cat``) must never see half a report:
the text goes to a temporary file in the target's own folder (so the rename cannot cross a
file system), is flushed and fsynced, then ``os.replace``-d over the target. On any error,
including ``KeyboardInterrupt`` in the middle of the write, the temporary file is removed.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from pathlib import Path

#: Temporary files are named ``.<target name>.<random>.tmp`` in the target's folder.
TEMP_PREFIX = "."
TEMP_SUFFIX = ".tmp"
#: Permissions of a written report (mkstemp's 0600 would hide it from other users).
REPORT_MODE = 0o644


def write_atomic(path: Path, text: str) -> None:
    """Replace ``path`` with ``text`` (UTF-8) in one step; create missing folders.

    Raises OSError (with the temporary file already removed) when anything fails.
    """
    folder = path.parent
    folder.mkdir(parents=True, exist_ok=True)
    fd, temp_name = tempfile.mkstemp(
        prefix=f"{TEMP_PREFIX}{path.name}.", suffix=TEMP_SUFFIX, dir=folder
    )
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="") as handle:
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())
        # mkstemp creates the file 0600; a report is an ordinary readable file. (Reading the
        # umask would mean setting it, which races with other threads of the process.)
        os.chmod(temp_name, REPORT_MODE)
        os.replace(temp_name, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(temp_name)
        raise
    _fsync_folder(folder)


def append_text(path: Path, text: str) -> None:
    """Append ``text`` (UTF-8) to ``path`` in one write, creating it if needed; never truncate.

    This is the contract of ``$GITHUB_STEP_SUMMARY``: several steps (and several tools in one
    step) append to the same file.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "a", encoding="utf-8", newline="") as handle:
        if handle.tell() > 0:
            text = "\n" + text
        handle.write(text)
        handle.flush()
        os.fsync(handle.fileno())


def _fsync_folder(folder: Path) -> None:
    """Make the rename itself durable where the platform allows it (POSIX)."""
    if os.name != "posix":  # pragma: no cover - Windows cannot open a folder
        return
    with contextlib.suppress(OSError):
        fd = os.open(folder, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)
