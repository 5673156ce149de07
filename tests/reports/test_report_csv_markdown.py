"""CSV samples and the markdown job summary."""

from __future__ import annotations

import csv
import json
import re

import pytest
from qp_reports import FAST, P95_BREACH, make_suite, make_summary

from pytest_qwenperf.reports.csv_report import COLUMNS, render_csv
from pytest_qwenperf.reports.json_report import render_json
from pytest_qwenperf.reports.markdown import MARKDOWN_CAP, render_markdown


def test_csv_has_one_row_per_sample(pytester: pytest.Pytester) -> None:
    make_suite(pytester)
    result = pytester.runpytest("--qwenperf-csv=samples.csv", "--qwenperf-warmup=1", *FAST)
    result.assert_outcomes(passed=2)
    with open(pytester.path / "samples.csv", encoding="utf-8", newline="") as handle:
        reader = csv.DictReader(handle)
        assert tuple(reader.fieldnames or ()) == COLUMNS
        rows = list(reader)
    measured = [r for r in rows if r["warmup"] == "false"]
    warmup = [r for r in rows if r["warmup"] == "true"]
    assert len(measured) == 5 + 3  # requests of test_gated + test_ungated
    assert len(warmup) == 2  # one warm-up request per run
    gated = [r for r in measured if r["test_id"] == "test_perf.py::test_gated"]
    assert sorted(int(r["index"]) for r in gated) == list(range(5))
    assert all(r["outcome"] == "ok" and r["status"] == "200" for r in gated)
    assert all(19.0 < float(r["latency_s"]) < 40.0 for r in gated)  # simulated seconds


def test_signed_urls_lose_their_query_string_everywhere() -> None:
    signed = "https://oss.example.com/img/1.png?Expires=1&OSSAccessKeyId=LTAI-canary&Signature=abc"
    summary = make_summary(
        image_urls=(signed,), error_message="see https://u:p@x.example/a?token=t"
    )
    for text in (render_csv(summary), render_json(summary)):
        assert "LTAI-canary" not in text
        assert "Signature" not in text
        assert "token=t" not in text
        assert "u:p@" not in text
        assert "https://oss.example.com/img/1.png" in text
    json.loads(render_json(summary))


def test_markdown_only_where_asked(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("GITHUB_STEP_SUMMARY", raising=False)
    make_suite(pytester)
    result = pytester.runpytest(*FAST)
    result.assert_outcomes(passed=2)
    result.stdout.no_fnmatch_line("qwenperf report written:*")
    assert not list(pytester.path.glob("*.md"))

    result = pytester.runpytest("--qwenperf-markdown=summary.md", *FAST)
    written = (pytester.path / "summary.md").read_text("utf-8")
    assert written.startswith("### qwenperf: ✅ SLA met")
    assert "| `test_perf.py::test_gated` | c=5 | 5 |" in written
    assert "**target** simulator (fixed, time scale 0.01)" in written


def test_step_summary_is_appended_never_truncated(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    step = pytester.path / "step_summary.md"
    step.write_text("## an earlier step\n", encoding="utf-8")
    monkeypatch.setenv("GITHUB_STEP_SUMMARY", str(step))
    make_suite(pytester, sla="p95='10s'")
    result = pytester.runpytest(*FAST)
    result.assert_outcomes(passed=1, failed=1)
    text = step.read_text("utf-8")
    assert text.startswith("## an earlier step\n")
    assert "### qwenperf: ❌ SLA FAILED" in text
    assert re.search("^- `test_perf.py::test_gated`: " + P95_BREACH.pattern, text, re.M)
    assert len(text.encode()) < MARKDOWN_CAP
    result.stdout.fnmatch_lines([f"qwenperf report written: {step}"])


def test_markdown_is_cut_under_its_cap_with_a_note() -> None:
    summary = make_summary(
        runs=2000, sla="p50<=1s", label="tests/perf/test_{i}.py::test_a_long_name"
    )
    text = render_markdown(summary)
    size = len(text.encode("utf-8"))
    assert size <= MARKDOWN_CAP
    assert "**truncated**" in text
    assert "of 2001 table rows" in text  # 2000 runs and the session row
    assert text.rstrip().endswith("</sub>")  # the fixed parts survive the cut
    small = render_markdown(make_summary(runs=3))
    assert "truncated" not in small
    tiny_cap = render_markdown(summary, cap=8 * 1024)
    assert len(tiny_cap.encode("utf-8")) <= 8 * 1024


def test_markdown_escapes_table_breaking_labels() -> None:
    summary = make_summary(label="test_x.py::test_a[x|y`z]")
    row = next(line for line in render_markdown(summary).splitlines() if "test_a[" in line)
    assert "x\\|y" in row
    assert row.count(" | ") == 11  # 12 cells: the pipe in the label did not add one
