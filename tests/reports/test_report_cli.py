"""``qwenperf report``: a saved report rendered as the terminal table or as markdown."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from qp_reports import FAST, P95_BREACH, make_suite

from pytest_qwenperf.cli import main
from pytest_qwenperf.reports.cli import EXIT_BAD_FILE


def section(lines: list[str]) -> list[str]:
    """The plugin's qwenperf terminal section, without its banner and report-written lines."""
    start = next(i for i, line in enumerate(lines) if "= qwenperf =" in line) + 1
    out = []
    for line in lines[start:]:
        if line.startswith(("qwenperf report written:", "=")):
            break
        if line.strip():
            out.append(line)
    return out


@pytest.mark.parametrize("samples", [True, False], ids=["with-samples", "no-samples"])
def test_table_is_the_terminal_summary(
    pytester: pytest.Pytester, capsys: pytest.CaptureFixture[str], samples: bool
) -> None:
    make_suite(pytester, sla="p95='10s'")
    extra = () if samples else ("--qwenperf-no-samples",)
    result = pytester.runpytest("--qwenperf-json=perf.json", *FAST, *extra)
    terminal = section(result.outlines)
    assert any("SLA breached" in line for line in terminal)
    capsys.readouterr()

    assert main(["report", str(pytester.path / "perf.json")]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[0].startswith("qwenperf report: written ")
    assert ("with samples" if samples else "without samples") in out[0]
    assert out[1:] == terminal

    assert main(["report", str(pytester.path / "perf.json"), "--format", "markdown"]) == 0
    markdown = capsys.readouterr().out
    assert markdown.startswith("### qwenperf: ❌ SLA FAILED")
    assert re.search("^- `test_perf.py::test_gated`: " + P95_BREACH.pattern, markdown, re.M)


def test_verbose_explains_every_check(
    pytester: pytest.Pytester, capsys: pytest.CaptureFixture[str]
) -> None:
    make_suite(pytester)
    pytester.runpytest("--qwenperf-json=perf.json", "--qwenperf-no-samples", *FAST)
    capsys.readouterr()
    assert main(["report", str(pytester.path / "perf.json"), "-v"]) == 0
    assert "SLA verdict for test_perf.py::test_gated: PASS" in capsys.readouterr().out


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        (None, "no such file"),
        (b"{not json", "is not valid JSON (line 1 column 2"),
        (b"\xff\xfe\x00", "is not UTF-8 text"),
        (b"[1, 2]", "not a pytest-qwenperf JSON report"),
        (b'{"format": "pytest-qwenperf/report", "schema_version": 99}', "schema_version 99"),
        (b'{"format": "pytest-qwenperf/report", "schema_version": 1}', "malformed report"),
        (
            b'{"format": "pytest-qwenperf/report", "schema_version": 1, "target": 3}',
            "malformed report",
        ),
    ],
    ids=["missing", "bad-json", "not-utf8", "not-a-report", "future", "empty", "wrong-type"],
)
def test_bad_file_is_one_line_and_exit_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], content: bytes | None, expected: str
) -> None:
    path = tmp_path / "perf.json"
    if content is not None:
        path.write_bytes(content)
    assert main(["report", str(path)]) == EXIT_BAD_FILE == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    lines = captured.err.splitlines()
    assert len(lines) == 1, captured.err
    assert lines[0].startswith("qwenperf report: error: ")
    assert expected in lines[0]
    assert "Traceback" not in captured.err


def test_folder_instead_of_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["report", str(tmp_path)]) == 2
    assert "is a folder" in capsys.readouterr().err
