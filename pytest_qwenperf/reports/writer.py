"""Write every requested report file of a session, atomically.

Called once, by the controller, at the end of the session (also an interrupted one). Each
file is rendered in memory, then written with :func:`~pytest_qwenperf.reports.atomic.write_atomic`
(temporary file in the same folder, fsync, rename), so a reader never sees half a report and
no temporary file survives an error. The job summary is appended to ``$GITHUB_STEP_SUMMARY``
(never truncated). One file failing does not stop the others: every problem is collected
into one :class:`ReportWriteError` naming the option, the path and the reason.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

from pytest_qwenperf.errors import ConfigError
from pytest_qwenperf.reports.atomic import append_text, write_atomic
from pytest_qwenperf.reports.csv_report import render_csv
from pytest_qwenperf.reports.json_report import render_json
from pytest_qwenperf.reports.junit import render_junit
from pytest_qwenperf.reports.markdown import render_markdown
from pytest_qwenperf.session import SessionSummary

STEP_SUMMARY_SOURCE = "GITHUB_STEP_SUMMARY"


class ReportWriteError(ConfigError):
    """A report could not be written; the message names the option, the path and why.

    ``written`` lists the files that were written all the same.
    """

    def __init__(self, message: str, written: list[Path] | None = None) -> None:
        super().__init__(message)
        self.written: list[Path] = list(written or [])


@dataclass(frozen=True)
class ReportOutputs:
    """Absolute paths of the files to write (None: not asked for)."""

    json: Path | None = None
    junit: Path | None = None
    csv: Path | None = None
    markdown: Path | None = None
    #: $GITHUB_STEP_SUMMARY: the markdown summary is appended to it.
    step_summary: Path | None = None
    include_samples: bool = True
    #: Where each path came from ("--qwenperf-json", "ini key qwenperf_json"), for messages.
    sources: Mapping[str, str] = field(default_factory=dict)

    def source(self, key: str) -> str:
        return self.sources.get(key, f"--qwenperf-{key}")


def _targets(outputs: ReportOutputs) -> list[tuple[str, str, Path, bool]]:
    """(kind, source, path, append) of every file asked for, in writing order."""
    kinds = ("json", "junit", "csv", "markdown")
    targets = [(kind, outputs.source(kind), getattr(outputs, kind), False) for kind in kinds]
    targets.append(("markdown", STEP_SUMMARY_SOURCE, outputs.step_summary, True))
    return [(kind, source, path, append) for kind, source, path, append in targets if path]


def _problem(path: Path, append: bool) -> str | None:
    """Why ``path`` certainly cannot be written (None: it can, as far as one can tell)."""
    if path.is_dir():
        return "it is a folder; give a file path"
    for parent in path.parents:
        if parent.exists():
            if not parent.is_dir():
                return f"{str(parent)!r} is a file, not a folder"
            if not os.access(parent, os.W_OK | os.X_OK):
                return f"no permission to create files in {str(parent)!r}"
            break
    if append and path.exists() and not os.access(path, os.W_OK):
        return "no permission to write to it"
    return None


def _cannot(source: str, path: Path, append: bool, reason: str) -> str:
    verb = "append the job summary to" if append else "write"
    return f"{source}: cannot {verb} {str(path)!r}: {reason}"


def check_outputs(outputs: ReportOutputs) -> None:
    """Refuse, before any request is sent, report paths that certainly cannot be written.

    Each image costs GPU time; a typo in a report path must not cost a whole run. What only
    shows while writing (a full disk, a folder made read-only meanwhile) is still reported
    by :func:`write_reports`.
    """
    problems = []
    for _kind, source, path, append in _targets(outputs):
        problem = _problem(path, append)
        if problem is not None:
            problems.append(_cannot(source, path, append, problem))
    if problems:
        raise ReportWriteError("; ".join(problems))


def write_reports(summary: SessionSummary, outputs: ReportOutputs) -> list[Path]:
    """Write the files of ``outputs``; return the paths written.

    Raises :class:`ReportWriteError` (after trying every file) when any could not be written.
    """
    markdown_text: str | None = None

    def markdown() -> str:
        nonlocal markdown_text
        if markdown_text is None:
            markdown_text = render_markdown(summary)
        return markdown_text

    renderers: dict[str, Callable[[], str]] = {
        "json": lambda: render_json(summary, outputs.include_samples),
        "junit": lambda: render_junit(summary),
        "csv": lambda: render_csv(summary),
        "markdown": markdown,
    }
    written: list[Path] = []
    problems: list[str] = []
    for kind, source, path, append in _targets(outputs):
        problem = _problem(path, append)
        if problem is not None:
            problems.append(_cannot(source, path, append, problem))
            continue
        try:
            text = renderers[kind]()
        except Exception as exc:  # a bug; still write the other files, and say which failed
            problems.append(
                f"{source}: could not render the report for {str(path)!r} "
                f"({type(exc).__name__}: {exc}); this is a pytest-qwenperf bug, please report it"
            )
            continue
        try:
            if append:
                append_text(path, text)
            else:
                write_atomic(path, text)
        except OSError as exc:
            reason = exc.strerror or str(exc) or type(exc).__name__
            problems.append(_cannot(source, path, append, reason))
            continue
        written.append(path)
    if problems:
        raise ReportWriteError("; ".join(problems), written)
    return written
