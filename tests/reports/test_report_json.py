"""The JSON perf report: valid against the shipped schema for every kind of session."""

from __future__ import annotations

import pytest
from qp_reports import FAST, make_suite, validate_report

from pytest_qwenperf.metrics.result import METRIC_NAMES, LoadResult
from pytest_qwenperf.reports.json_report import CI_VARIABLES, REPORT_FORMAT, SCHEMA_VERSION
from pytest_qwenperf.session import RunRecord


def run_json(pytester: pytest.Pytester, *args: str) -> tuple[pytest.RunResult, dict]:  # type: ignore[type-arg]
    result = pytester.runpytest("--qwenperf-json=perf.json", *FAST, *args)
    result.stdout.no_fnmatch_line("*INTERNALERROR*")
    path = pytester.path / "perf.json"
    result.stdout.fnmatch_lines([f"qwenperf report written: {path}"])
    return result, validate_report(path)


def test_passing_session(pytester: pytest.Pytester) -> None:
    make_suite(pytester)
    result, data = run_json(pytester)
    result.assert_outcomes(passed=2)
    assert data["format"] == REPORT_FORMAT
    assert data["schema_version"] == SCHEMA_VERSION
    assert data["interrupted"] is False
    assert data["verdict"] == {
        "failed": False,
        "failed_runs": [],
        "session_failed": False,
        "runs_with_sla": 1,
        "runs_without_sla": 1,
    }
    gated, ungated = data["runs"]
    assert gated["test_id"] == "test_perf.py::test_gated"
    assert gated["status"] == "pass"
    assert [c["text"] for c in gated["verdict"]["checks"]] == [
        "max <= 60 s",
        "throughput >= 0.01/s",
    ]
    assert ungated["status"] == "no_sla"
    assert ungated["verdict"] is None
    # metrics are LoadResult's own, in METRIC_NAMES order; samples ride along by default
    assert list(gated["result"]["metrics"]) == list(METRIC_NAMES)
    assert len(gated["result"]["samples"]) == gated["result"]["n"] == 5
    assert data["target"]["kind"] == "simulator"
    assert data["target"]["simulator_profile"] == "fixed"
    assert data["definitions"]["time_unit"] == "simulated seconds"
    assert data["session"]["settings"]["sources"]["sim_profile"] == "--qwenperf-sim-profile"
    assert gated["sources"]["requests"] == "qwenperf marker keyword requests"
    assert gated["result"]["config"]["requests"] == 5
    assert gated["result"]["selfcheck"]["client_bound"] in (True, False)
    assert data["aggregate"]["result"]["n"] == 8
    assert "samples" not in data["aggregate"]["result"]


def test_a_run_reads_back_into_a_load_result(pytester: pytest.Pytester) -> None:
    make_suite(pytester)
    _, data = run_json(pytester)
    record = RunRecord.from_dict(data["runs"][0])
    assert isinstance(record.result, LoadResult)
    assert record.result.n == 5
    saved = data["runs"][0]["result"]["metrics"]
    assert record.result.metrics()["max"] == saved["max"]


def test_failing_session(pytester: pytest.Pytester) -> None:
    make_suite(pytester, sla="p95='10s', timeout_rate='5%'")
    result, data = run_json(pytester, "--qwenperf-session-sla=p50<=5s")
    result.assert_outcomes(passed=1, failed=1)
    assert result.ret == 1
    assert data["verdict"]["failed"] is True
    assert data["verdict"]["failed_runs"] == ["test_perf.py::test_gated"]
    assert data["verdict"]["session_failed"] is True
    gated = data["runs"][0]
    assert gated["status"] == "fail"
    assert gated["failed"] is True
    p95 = gated["verdict"]["checks"][0]
    assert p95["metric"] == "p95"
    assert p95["status"] == "fail"
    assert p95["estimate"] > p95["threshold"] == 10.0
    assert gated["verdict"]["first_line"].startswith("SLA breached: p95 = ")
    session = data["aggregate"]["verdict"]
    assert session["status"] == "fail"
    assert session["checks"][0]["metric"] == "p50"


def test_inconclusive_session(pytester: pytest.Pytester) -> None:
    make_suite(pytester, sla="p95='60s'")
    result, data = run_json(pytester, "--qwenperf-gate=strict")
    result.assert_outcomes(passed=1, failed=1)
    gated = data["runs"][0]
    assert gated["status"] == "inconclusive"
    assert gated["failed"] is True
    check = gated["verdict"]["checks"][0]
    # 5 samples: no 95% upper bound of p95 exists; the report says how many would
    assert check["upper"] is None
    assert check["bound_min_n"] == 59
    assert data["session"]["gate_mode"] == "strict"


def test_without_samples(pytester: pytest.Pytester) -> None:
    make_suite(pytester)
    _, data = run_json(pytester, "--qwenperf-no-samples")
    assert data["samples_included"] is False
    for run in data["runs"]:
        assert "samples" not in run["result"]
        assert "warmup_samples" not in run["result"]
        assert run["result"]["n"] > 0


def test_warmup_figures(pytester: pytest.Pytester) -> None:
    make_suite(pytester)
    _, data = run_json(pytester, "--qwenperf-warmup=2")
    warmup = data["runs"][0]["result"]["warmup"]
    assert warmup["n"] == 2
    assert warmup["first_outcome"] == "ok"
    assert len(data["runs"][0]["result"]["warmup_samples"]) == 2


def test_ci_variables_recorded_and_nothing_else(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name in CI_VARIABLES:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("GITHUB_SHA", "0123abc")
    monkeypatch.setenv("GITHUB_RUN_ID", "42")
    monkeypatch.setenv("CI_PIPELINE_ID", "7")
    monkeypatch.setenv("QWENPERF_API_KEY", "sk-canary-json-0001")
    monkeypatch.setenv("SOME_OTHER_SECRET", "do-not-copy")
    make_suite(pytester)
    _, data = run_json(pytester)
    assert data["environment"]["ci"] == {
        "GITHUB_SHA": "0123abc",
        "GITHUB_RUN_ID": "42",
        "CI_PIPELINE_ID": "7",
    }
    text = (pytester.path / "perf.json").read_text("utf-8")
    assert "sk-canary-json-0001" not in text
    assert "do-not-copy" not in text
    assert data["session"]["settings"]["api_key_source"] == "environment variable QWENPERF_API_KEY"


def test_report_is_utf8_with_prompts_verbatim(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        test_perf="""
        import pytest

        @pytest.mark.qwenperf(requests=2, workers=2, prompts=["一只橘猫, \\"quoted\\""])
        def test_cn(qwenperf):
            qwenperf.run()
        """
    )
    _, data = run_json(pytester)
    raw = (pytester.path / "perf.json").read_bytes()
    assert "一只橘猫".encode() in raw
    assert data["runs"][0]["result"]["samples"][0]["prompt"] == '一只橘猫, "quoted"'


def test_relative_path_resolved_against_rootdir_and_folders_created(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    make_suite(pytester)
    pytester.makeini("[pytest]\n")
    elsewhere = pytester.mkdir("elsewhere")
    monkeypatch.chdir(elsewhere)  # the path is relative to the rootdir, not the cwd
    result = pytester.runpytest(
        str(pytester.path / "test_perf.py"), "--qwenperf-json=out/deep/perf.json", *FAST
    )
    result.assert_outcomes(passed=2)
    validate_report(pytester.path / "out" / "deep" / "perf.json")
    assert not (elsewhere / "out").exists()
