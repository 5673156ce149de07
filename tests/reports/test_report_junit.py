"""JUnit: ``--qwenperf-junit`` (one testcase per run and gate) and pytest's own ``--junitxml``."""

from __future__ import annotations

import re
from pathlib import Path

import junitparser
import pytest
from qp_reports import FAST, P95_BREACH, make_suite, make_summary, validate_junit

from pytest_qwenperf.reports.junit import (
    INTERRUPTED_NAME,
    MISSING_NAME,
    NO_SLA_NAME,
    SESSION_CLASSNAME,
    render_junit,
)


def cases(path: Path) -> dict[tuple[str, str], junitparser.TestCase]:
    xml = junitparser.JUnitXml.fromfile(str(path))
    return {(case.classname, case.name): case for suite in xml for case in suite}


def failure_of(case: junitparser.TestCase) -> junitparser.Failure | None:
    found = [r for r in case.result if isinstance(r, junitparser.Failure)]
    return found[0] if found else None


def test_one_testcase_per_run_and_gate(pytester: pytest.Pytester) -> None:
    make_suite(pytester, sla="p95='10s', max='60s'")
    result = pytester.runpytest("--qwenperf-junit=reports/perf.xml", *FAST)
    result.assert_outcomes(passed=1, failed=1)
    path = pytester.path / "reports" / "perf.xml"
    validate_junit(path)
    found = cases(path)
    assert set(found) == {
        ("test_perf.py::test_gated", "p95 <= 10 s"),
        ("test_perf.py::test_gated", "max <= 60 s"),
        ("test_perf.py::test_ungated", NO_SLA_NAME),
    }
    failure = failure_of(found[("test_perf.py::test_gated", "p95 <= 10 s")])
    assert failure is not None
    assert P95_BREACH.match(failure.message)
    assert failure_of(found[("test_perf.py::test_gated", "max <= 60 s")]) is None
    assert found[("test_perf.py::test_ungated", NO_SLA_NAME)].is_passed

    xml = junitparser.JUnitXml.fromfile(str(path))
    assert (xml.tests, xml.failures, xml.errors) == (3, 1, 0)
    suite = next(iter(xml))
    assert suite.name == "qwenperf: test_perf.py::test_gated"
    props = {p.name: p.value for p in suite.properties()}
    assert props["n"] == "5"
    assert props["verdict"] == "FAIL"
    assert float(props["p95"]) > 10.0
    assert props["time_unit"] == "simulated seconds"


def test_inconclusive_says_what_the_gate_mode_decided(pytester: pytest.Pytester) -> None:
    make_suite(pytester, sla="p95='60s'")
    for mode, fails in (("strict", True), ("point", False)):
        pytester.runpytest(f"--qwenperf-junit={mode}.xml", f"--qwenperf-gate={mode}", *FAST)
        validate_junit(pytester.path / f"{mode}.xml")
        case = cases(pytester.path / f"{mode}.xml")[("test_perf.py::test_gated", "p95 <= 60 s")]
        failure = failure_of(case)
        if fails:
            assert failure is not None
            assert re.match(r"SLA not proven: p95 = \d+\.\d s <= 60 s \(n=5, ", failure.message)
            assert (
                "inconclusive, treated as a failure under --qwenperf-gate=strict" in failure.message
            )
        else:
            assert failure is None
            assert case.is_passed
            assert "Passes on the estimate under --qwenperf-gate=point" in (case.system_out or "")


def test_session_gates_and_incomplete_sessions_are_visible() -> None:
    from pytest_qwenperf.gates import evaluate
    from pytest_qwenperf.thresholds import parse_sla_spec

    summary = make_summary(runs=2)
    assert summary.aggregate is not None
    summary.session_verdict = evaluate(summary.aggregate, parse_sla_spec("p50<=1s", "x"))
    summary.interrupted = True
    summary.missing_tests = ["test_x.py::test_crashed"]
    xml = junitparser.JUnitXml.fromstring(render_junit(summary))
    found = {(c.classname, c.name): c for suite in xml for c in suite}
    session_case = found[(SESSION_CLASSNAME, "p50 <= 1 s")]
    assert failure_of(session_case) is not None
    errors = {
        k: c for k, c in found.items() if any(isinstance(r, junitparser.Error) for r in c.result)
    }
    assert set(errors) == {
        (SESSION_CLASSNAME, INTERRUPTED_NAME),
        ("test_x.py::test_crashed", MISSING_NAME),
    }


def test_control_characters_never_break_the_xml(tmp_path: Path) -> None:
    summary = make_summary(label="test_x.py::test_bad[\x1b\x00<&>]")
    path = tmp_path / "perf.xml"
    path.write_text(render_junit(summary), encoding="utf-8")
    validate_junit(path)
    assert any(
        "test_bad[" in c.classname for s in junitparser.JUnitXml.fromfile(str(path)) for c in s
    )


def test_pytest_junitxml_stays_valid_with_a_failing_sla(pytester: pytest.Pytester) -> None:
    make_suite(pytester, sla="p95='10s', timeout_rate='5%'")
    result = pytester.runpytest("--junitxml=junit.xml", *FAST)  # xunit2: pytest's default family
    result.assert_outcomes(passed=1, failed=1)
    path = pytester.path / "junit.xml"
    validate_junit(path)
    failure = failure_of(cases(path)[("test_perf", "test_gated")])
    assert failure is not None
    assert P95_BREACH.match(failure.message)
