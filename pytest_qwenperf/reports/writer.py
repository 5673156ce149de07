"""Write every requested report file of a session, atomically (interface; being built)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from pytest_qwenperf.errors import ConfigError
from pytest_qwenperf.session import SessionSummary


class ReportWriteError(ConfigError):
    """A report could not be written; the message names the option, the path and why."""


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


def write_reports(summary: SessionSummary, outputs: ReportOutputs) -> list[Path]:
    """Write the files of ``outputs``; return the paths written."""
    raise ReportWriteError("report writing is not implemented yet")
