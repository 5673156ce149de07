"""Write every requested report file of a session, atomically.

Called once, by the controller, at the end of the session (also an interrupted one). Each
file is rendered in memory, then written with :func:`~pytest_qwenperf.reports.atomic.write_atomic`
(temporary file in the same folder, fsync, rename), so a reader never sees half a report and
no temporary file survives an error. The job summary is appended to ``$GITHUB_STEP_SUMMARY``
(never truncated). One file failing does not stop the others: every problem is collected
into one :class:`ReportWriteError` naming the option, the path and the reason.
"""

from __future__ import annotations

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


def _reason(exc: OSError, path: Path) -> str:
    if isinstance(exc, (FileExistsError, NotADirectoryError)):
        # mkdir's "File exists" names no culprit: say which part of the path is a file
        for parent in path.parents:
            if parent.exists() and not parent.is_dir():
                return f"{str(parent)!r} is a file, not a folder"
    return exc.strerror or str(exc) or type(exc).__name__


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

    jobs: list[tuple[str, Path | None, Callable[[], str], bool]] = [
        (
            outputs.source("json"),
            outputs.json,
            lambda: render_json(summary, outputs.include_samples),
            False,
        ),
        (outputs.source("junit"), outputs.junit, lambda: render_junit(summary), False),
        (outputs.source("csv"), outputs.csv, lambda: render_csv(summary), False),
        (outputs.source("markdown"), outputs.markdown, markdown, False),
        (STEP_SUMMARY_SOURCE, outputs.step_summary, markdown, True),
    ]
    written: list[Path] = []
    problems: list[str] = []
    for source, path, render, append in jobs:
        if path is None:
            continue
        verb = "append the job summary to" if append else "write"
        if not append and path.is_dir():
            problems.append(
                f"{source}: cannot write {str(path)!r}: it is a folder; give a file path"
            )
            continue
        try:
            text = render()
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
            problems.append(f"{source}: cannot {verb} {str(path)!r}: {_reason(exc, path)}")
            continue
        written.append(path)
    if problems:
        raise ReportWriteError("; ".join(problems), written)
    return written
