"""``qwenperf report perf.json [--format table|markdown]``: a saved JSON report, for people.

``table`` is the summary the plugin prints at the end of a session (the same function renders
it); ``markdown`` is the job summary. Both work on reports written with or without samples.
A missing, unreadable or invalid file is one line on stderr and exit status 2.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from pytest_qwenperf.reports.markdown import render_markdown
from pytest_qwenperf.reports.saved import ReportReadError, SavedReport, load_report
from pytest_qwenperf.reports.terminal import summary_lines

#: Exit status for a file that cannot be read as a report (as argparse uses for bad usage).
EXIT_BAD_FILE = 2


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("path", help="a JSON report written by --qwenperf-json")
    parser.add_argument(
        "--format",
        choices=("table", "markdown"),
        default="table",
        help="table: the terminal summary (default); markdown: the GitHub job summary",
    )
    parser.add_argument(
        "-v",
        "--verbose",
        action="store_true",
        help="table: explain every gate check, not only the breached ones",
    )


def render_table(report: SavedReport, verbose: bool = False) -> str:
    samples = "with samples" if report.samples_included else "without samples"
    lines = [
        f"qwenperf report: written {report.created_at or 'at an unknown time'} by "
        f"pytest-qwenperf {report.tool_version}, {len(report.runs)} run(s), {samples}",
        *summary_lines(report, verbose=verbose),
    ]
    return "\n".join(lines) + "\n"


def run(args: argparse.Namespace) -> int:
    try:
        report = load_report(Path(args.path))
    except ReportReadError as exc:
        print(f"qwenperf report: error: {exc}", file=sys.stderr)
        return EXIT_BAD_FILE
    if args.format == "markdown":
        text = render_markdown(report)
    else:
        text = render_table(report, verbose=bool(getattr(args, "verbose", False)))
    sys.stdout.write(text)
    return 0
