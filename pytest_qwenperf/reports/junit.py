"""``--qwenperf-junit``: one testcase per (run, gate), valid against pytest's JUnit schema.

What CI test reporters (dorny/test-reporter, mikepenz/action-junit-report,
EnricoMi/publish-unit-test-result-action) show is a testcase's name, its classname and the
``message`` of its failure, so:

* one ``<testsuite>`` per run, named ``qwenperf: <run label>``, whose ``<properties>`` hold the
  run's key metrics (properties are valid only under ``<testsuite>``, never ``<testcase>``);
* one ``<testcase>`` per gate, ``classname`` the test id and ``name`` the threshold as
  written for people (``p95 <= 12 s``), failing or passing on its own. A failure's
  ``message`` is one line with the numbers: ``SLA breached: p95 = 14.2 s > 12 s (n=40, 95%
  upper bound 16.0 s)``; an inconclusive gate fails or passes as the gate mode decided, and
  says so (``SLA not proven: ... inconclusive, treated as a failure under
  --qwenperf-gate=strict``). The full explanation is the failure's text (or the passing
  testcase's ``system-out``);
* a run without an SLA still appears, as one passing testcase ``no SLA declared`` whose
  ``system-out`` lists its figures: it was measured, CI should list it, and nothing gated it;
* the session aggregate is a suite of its own (classname ``session``) with one testcase per
  ``--qwenperf-session-sla`` gate; an interrupted session and tests whose results never
  arrived are ``<error>`` testcases, so a half-measured build never looks green.
"""

from __future__ import annotations

import datetime as dt
import re
import xml.etree.ElementTree as ET
from collections.abc import Sequence

from pytest_qwenperf.gates import GateCheck, Verdict
from pytest_qwenperf.metrics.result import LoadResult, encode_float
from pytest_qwenperf.reports.terminal import load_cell, verdict_word
from pytest_qwenperf.session import RunRecord, SessionSummary, TargetInfo
from pytest_qwenperf.units import format_duration, format_rate, format_throughput

NO_SLA_NAME = "no SLA declared"
SESSION_CLASSNAME = "session"
SESSION_SUITE = "qwenperf: session (all runs)"
INTERRUPTED_NAME = "session interrupted"
MISSING_NAME = "results missing"
FAILURE_TYPE = "qwenperf.SLABreach"
INCONCLUSIVE_TYPE = "qwenperf.SLANotProven"

# XML 1.0 forbids most control characters even when escaped; service error texts may hold them.
_INVALID_XML = re.compile("[^\u0009\u000a\u000d\u0020-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")


def _text(value: str) -> str:
    return _INVALID_XML.sub("\ufffd", value)


def _seconds(value: float) -> str:
    """``time`` as the schema's SUREFIRE_TIME allows: digits, at most 3 decimals."""
    return f"{max(0.0, value):.3f}"


def _number(value: float | None) -> str:
    """A property value: the number, ``inf``, or ``n/a`` when undefined."""
    return "n/a" if value is None else str(encode_float(value))


def failure_message(check: GateCheck) -> str:
    """One line with the numbers, as the test failure's first line words it."""
    head = "SLA breached" if check.status == "fail" else "SLA not proven"
    return _text(f"{head}: {check.summary}")


def _wall_seconds(result: LoadResult) -> float:
    """Real seconds of the run (results against the scaled simulator are in simulated
    seconds; CI durations are real)."""
    scale = result.config.get("time_scale", 1.0)
    factor = float(scale) if isinstance(scale, (int, float)) and scale > 0 else 1.0
    return result.wall_time_s * factor


def _properties(result: LoadResult, target: TargetInfo, verdict: Verdict | None) -> ET.Element:
    unit = "simulated seconds" if target.kind == "simulator" else "seconds"
    values: list[tuple[str, str]] = [
        ("target", target.describe()),
        ("api", target.api),
        ("model", target.model),
        ("load", load_cell(result)),
        ("mode", result.mode),
        ("n", str(result.n)),
        ("planned", str(result.planned)),
        ("ok_count", str(result.ok_count)),
        ("interrupted", str(result.interrupted).lower()),
        ("time_unit", unit),
        ("wall_time_s", _number(result.wall_time_s)),
    ]
    values += [(name, _number(value)) for name, value in result.metrics().items()]
    values.append(("verdict", verdict_word(verdict)))
    if verdict is not None:
        values.append(("gate_mode", verdict.mode))
    props = ET.Element("properties")
    for name, value in values:
        ET.SubElement(props, "property", name=name, value=_text(value))
    return props


def _figures(result: LoadResult) -> str:
    return (
        f"n={result.n} of {result.planned} planned, ok {format_rate(result.success_rate)}, "
        f"timeout {format_rate(result.timeout_rate)}, 5xx {format_rate(result.error_5xx_rate)}, "
        f"p50 {format_duration(result.p50)}, p95 {format_duration(result.p95)}, "
        f"p99 {format_duration(result.p99)}, max {format_duration(result.max)}, "
        f"throughput {format_throughput(result.throughput)}"
    )


def _context(record_label: str, result: LoadResult) -> list[str]:
    lines = [f"run: {record_label}", f"figures: {_figures(result)}"]
    if result.interrupted:
        lines.append(
            f"INTERRUPTED: {result.n} of {result.planned} planned requests were measured; "
            "the gate judged what was measured"
        )
    return lines


class _Suite:
    def __init__(self, name: str, result: LoadResult, target: TargetInfo, verdict: Verdict | None):
        self.element = ET.Element("testsuite", name=_text(name))
        self.element.append(_properties(result, target, verdict))
        self.tests = self.failures = self.errors = 0
        self.time = _wall_seconds(result)
        self.timestamp = (
            dt.datetime.fromtimestamp(result.started_at, tz=dt.timezone.utc)
            .isoformat(timespec="seconds")
            .replace("+00:00", "Z")
            if result.started_at
            else None
        )

    def case(
        self,
        classname: str,
        name: str,
        *,
        failure: tuple[str, str, str] | None = None,
        error: tuple[str, str] | None = None,
        out: str | None = None,
    ) -> None:
        case = ET.SubElement(self.element, "testcase", classname=_text(classname), name=_text(name))
        self.tests += 1
        if failure is not None:
            kind, message, text = failure
            element = ET.SubElement(case, "failure", type=kind, message=_text(message))
            element.text = _text(text)
            self.failures += 1
        if error is not None:
            message, text = error
            element = ET.SubElement(
                case, "error", type="qwenperf.Incomplete", message=_text(message)
            )
            element.text = _text(text)
            self.errors += 1
        if out:
            ET.SubElement(case, "system-out").text = _text(out)

    def finish(self) -> ET.Element:
        self.element.set("tests", str(self.tests))
        self.element.set("failures", str(self.failures))
        self.element.set("errors", str(self.errors))
        self.element.set("skipped", "0")
        self.element.set("time", _seconds(self.time))
        if self.timestamp:
            self.element.set("timestamp", self.timestamp)
        return self.element


def _gate_cases(
    suite: _Suite, classname: str, label: str, result: LoadResult, verdict: Verdict
) -> None:
    context = _context(label, result)
    for check in verdict.checks:
        explanation = "\n".join([check.message, *context])
        if check.failed:
            kind = FAILURE_TYPE if check.status == "fail" else INCONCLUSIVE_TYPE
            suite.case(
                classname, check_name(check), failure=(kind, failure_message(check), explanation)
            )
        else:
            suite.case(classname, check_name(check), out=explanation)


def check_name(check: GateCheck) -> str:
    """``p95 <= 12 s``: the threshold as written for people."""
    text = check.to_dict()["text"]
    return str(text)


def run_suite(record: RunRecord, target: TargetInfo) -> ET.Element:
    result = record.result
    suite = _Suite(f"qwenperf: {record.label}", result, target, record.verdict)
    classname = record.test_id or record.label
    if record.verdict is None or not record.verdict.checks:
        suite.case(
            classname,
            NO_SLA_NAME,
            out="\n".join([*_context(record.label, result), "no SLA gated this run"]),
        )
    else:
        _gate_cases(suite, classname, record.label, result, record.verdict)
    return suite.finish()


def session_suite(summary: SessionSummary) -> ET.Element | None:
    aggregate = summary.aggregate
    if aggregate is None:
        return None
    suite = _Suite(SESSION_SUITE, aggregate, summary.target, summary.session_verdict)
    # The session's time is the union of the runs' measured intervals, not their sum.
    if summary.session_verdict is not None:
        _gate_cases(
            suite, SESSION_CLASSNAME, "session (all runs)", aggregate, summary.session_verdict
        )
    return suite.finish()


def _incomplete_suite(summary: SessionSummary) -> ET.Element | None:
    if not (summary.interrupted or summary.missing_tests):
        return None
    element = ET.Element("testsuite", name="qwenperf: session")
    errors = 0
    if summary.interrupted:
        measured = sum(r.result.n for r in summary.runs)
        planned = sum(r.result.planned for r in summary.runs)
        case = ET.SubElement(
            element, "testcase", classname=SESSION_CLASSNAME, name=INTERRUPTED_NAME
        )
        message = (
            f"session interrupted: {len(summary.runs)} run(s) reported, {measured} of "
            f"{planned} planned requests measured; the figures cover what was measured"
        )
        ET.SubElement(case, "error", type="qwenperf.Interrupted", message=message).text = message
        errors += 1
    for test_id in summary.missing_tests:
        case = ET.SubElement(element, "testcase", classname=_text(test_id), name=MISSING_NAME)
        message = f"results missing for {test_id} (its process ended before reporting them)"
        ET.SubElement(case, "error", type="qwenperf.Missing", message=_text(message)).text = _text(
            message
        )
        errors += 1
    for name, value in (("tests", errors), ("failures", 0), ("errors", errors), ("skipped", 0)):
        element.set(name, str(value))
    return element


def build_junit(summary: SessionSummary) -> ET.Element:
    """The ``<testsuites>`` document of a session."""
    suites: list[ET.Element] = [run_suite(r, summary.target) for r in summary.runs]
    for extra in (session_suite(summary), _incomplete_suite(summary)):
        if extra is not None:
            suites.append(extra)
    return _root(suites, summary)


def _root(suites: Sequence[ET.Element], summary: SessionSummary) -> ET.Element:
    root = ET.Element("testsuites", name="pytest-qwenperf")
    totals = {"tests": 0, "failures": 0, "errors": 0}
    for suite in suites:
        for key in totals:
            totals[key] += int(suite.get(key, "0"))
        root.append(suite)
    for key, value in totals.items():
        root.set(key, str(value))
    if summary.started_at and summary.finished_at:
        root.set("time", _seconds(summary.finished_at - summary.started_at))
    return root


def render_junit(summary: SessionSummary) -> str:
    root = build_junit(summary)
    ET.indent(root)
    body = ET.tostring(root, encoding="unicode")
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + body + "\n"
