"""Writing: atomic files, clear errors for unwritable paths, reports from an interrupted run."""

from __future__ import annotations

import csv
import signal
import sys
import time
from pathlib import Path

import junitparser
import pytest
from qp_reports import FAST, leftovers, make_suite, make_summary, validate_junit, validate_report

from pytest_qwenperf.reports import atomic, writer
from pytest_qwenperf.reports.junit import INTERRUPTED_NAME
from pytest_qwenperf.reports.writer import (
    ReportOutputs,
    ReportWriteError,
    check_outputs,
    write_reports,
)


def test_every_report_in_one_session_and_no_temp_files(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    canary = "sk-canary-reports-7f3a"
    monkeypatch.setenv("QWENPERF_API_KEY", canary)
    make_suite(pytester)
    result = pytester.runpytest(
        "--qwenperf-json=out/perf.json",
        "--qwenperf-junit=out/perf.xml",
        "--qwenperf-csv=out/samples.csv",
        "--qwenperf-markdown=out/summary.md",
        *FAST,
    )
    result.assert_outcomes(passed=2)
    out = pytester.path / "out"
    assert sorted(p.name for p in out.iterdir()) == [
        "perf.json",
        "perf.xml",
        "samples.csv",
        "summary.md",
    ]
    result.stdout.fnmatch_lines([f"qwenperf report written: {out / 'perf.json'}"])
    for path in out.iterdir():
        assert canary not in path.read_text("utf-8"), path.name


def test_unwritable_path_is_refused_before_any_request(pytester: pytest.Pytester) -> None:
    make_suite(pytester)
    pytester.path.joinpath("taken").write_text("a file, not a folder")
    pytester.mkdir("a_folder")
    result = pytester.runpytest(
        "--qwenperf-json=taken/perf.json",
        "--qwenperf-junit=a_folder",
        "--qwenperf-csv=ok.csv",
        *FAST,
    )
    assert result.ret == pytest.ExitCode.USAGE_ERROR  # a typo must not cost a paid run
    taken, folder = pytester.path / "taken", pytester.path / "a_folder"
    result.stderr.fnmatch_lines(
        [
            f"ERROR: --qwenperf-json: cannot write '{taken / 'perf.json'}'"
            f": '{taken}' is a file, not a folder; "
            f"--qwenperf-junit: cannot write '{folder}': it is a folder; give a file path"
        ]
    )
    assert "Traceback" not in result.stdout.str() + result.stderr.str()
    assert "INTERNALERROR" not in result.stdout.str() + result.stderr.str()
    result.stdout.no_fnmatch_line("*test_perf.py*")  # nothing was collected, nothing sent
    assert not (pytester.path / "ok.csv").exists()


LATE_SUITE = """
import pytest

@pytest.mark.qwenperf(requests=2, workers=2)
def test_blocks_the_report_folder(qwenperf):
    qwenperf.run()
    open("late", "w").close()  # where --qwenperf-json wants a folder
"""


def test_path_broken_during_the_session_is_a_clear_error_at_the_end(
    pytester: pytest.Pytester,
) -> None:
    pytester.makepyfile(test_perf=LATE_SUITE)
    result = pytester.runpytest("--qwenperf-json=late/perf.json", "--qwenperf-csv=ok.csv", *FAST)
    assert result.ret == 1  # the test passed, but a report asked for was not written
    result.stdout.no_fnmatch_line("*Traceback*")
    result.stdout.no_fnmatch_line("*INTERNALERROR*")
    late = pytester.path / "late"
    result.stdout.fnmatch_lines(
        [
            f"qwenperf ERROR: --qwenperf-json: cannot write '{late / 'perf.json'}'"
            f": '{late}' is a file, not a folder"
        ]
    )
    assert (pytester.path / "ok.csv").is_file()  # one bad path does not cost the others
    assert leftovers(pytester.path) == []


def test_writer_reports_what_it_wrote_despite_an_error(tmp_path: Path) -> None:
    (tmp_path / "taken").write_text("x")
    outputs = ReportOutputs(json=tmp_path / "taken" / "perf.json", csv=tmp_path / "s.csv")
    with pytest.raises(ReportWriteError, match="--qwenperf-json: cannot write") as info:
        write_reports(make_summary(), outputs)
    assert info.value.written == [tmp_path / "s.csv"]


def test_interrupted_write_leaves_the_old_file_and_no_temp(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    target = tmp_path / "perf.json"
    target.write_text("previous report", encoding="utf-8")

    def interrupted_fsync(fd: int) -> None:
        raise KeyboardInterrupt

    monkeypatch.setattr(atomic.os, "fsync", interrupted_fsync)
    with pytest.raises(KeyboardInterrupt):
        atomic.write_atomic(target, "new report")
    assert target.read_text(encoding="utf-8") == "previous report"
    assert leftovers(tmp_path) == []


def test_append_keeps_what_was_there(tmp_path: Path) -> None:
    path = tmp_path / "deep" / "summary.md"
    atomic.append_text(path, "first\n")
    atomic.append_text(path, "second\n")
    assert path.read_text(encoding="utf-8") == "first\n\nsecond\n"


INTERRUPT_SUITE = """
import pytest

@pytest.mark.qwenperf(requests=3, workers=3)
def test_first(qwenperf):
    qwenperf.run()
    open("first_done", "w").close()  # tells the test driving us that test_long starts now

@pytest.mark.qwenperf(requests=400, workers=2)
@pytest.mark.sla(p95="60s")
def test_long(qwenperf):
    qwenperf.run()
"""


def test_ctrl_c_still_writes_a_valid_report_marked_interrupted(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(test_perf=INTERRUPT_SUITE)
    out = pytester.mkdir("out")
    args = [
        sys.executable,
        "-m",
        "pytest",
        "--qwenperf-json=out/perf.json",
        "--qwenperf-junit=out/perf.xml",
        "--qwenperf-csv=out/samples.csv",
        *FAST,
    ]
    proc = pytester.popen(args, stdin=None)
    try:
        # test_long sends 400 requests of 0.2 s two at a time (~40 s): interrupt it once it
        # has measured something (about 10 requests a second).
        deadline = time.monotonic() + 30
        while not (pytester.path / "first_done").exists() and time.monotonic() < deadline:
            assert proc.poll() is None, "pytest ended before it could be interrupted"
            time.sleep(0.05)
        time.sleep(1.5)
        assert proc.poll() is None, "the run ended before it could be interrupted"
        proc.send_signal(signal.SIGINT)
        stdout_text, _ = proc.communicate(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()
    assert proc.returncode == 2, stdout_text  # pytest's "interrupted"
    data = validate_report(out / "perf.json")
    assert data["interrupted"] is True
    runs = {run["test_id"]: run for run in data["runs"]}
    assert runs["test_perf.py::test_first"]["result"]["n"] == 3
    long_run = runs["test_perf.py::test_long"]["result"]
    assert long_run["interrupted"] is True
    assert 0 < long_run["n"] < long_run["planned"] == 400
    assert len(long_run["samples"]) == long_run["n"]
    assert leftovers(out) == []
    assert sorted(p.name for p in out.iterdir()) == ["perf.json", "perf.xml", "samples.csv"]
    validate_junit(out / "perf.xml")
    xml = junitparser.JUnitXml.fromfile(str(out / "perf.xml"))
    errors = [
        c.name
        for suite in xml
        for c in suite
        if any(isinstance(r, junitparser.Error) for r in c.result)
    ]
    assert errors == [INTERRUPTED_NAME]
    with open(out / "samples.csv", encoding="utf-8", newline="") as handle:
        rows = list(csv.DictReader(handle))
    assert len(rows) == 3 + long_run["n"]


def test_check_outputs_names_a_folder_without_write_permission(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The tests run as root, where chmod cannot take the permission away; os.access is the
    # one question the check asks, so it is answered "no" for this one folder.
    locked = tmp_path / "locked"
    locked.mkdir()
    real_access = writer.os.access
    monkeypatch.setattr(
        writer.os, "access", lambda path, mode: Path(path) != locked and real_access(path, mode)
    )
    outputs = ReportOutputs(
        json=locked / "deeper" / "perf.json",
        csv=tmp_path / "ok.csv",
        sources={"json": "ini key qwenperf_json"},
    )
    with pytest.raises(ReportWriteError) as info:
        check_outputs(outputs)
    assert str(info.value) == (
        f"ini key qwenperf_json: cannot write '{locked / 'deeper' / 'perf.json'}': "
        f"no permission to create files in '{locked}'"
    )
    check_outputs(ReportOutputs(csv=tmp_path / "new" / "ok.csv"))  # missing folders are fine
