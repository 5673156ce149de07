"""SLA gates: parsing thresholds, every metric's pass and fail path, each gate mode, messages."""

from __future__ import annotations

import json
import math
from collections.abc import Sequence

import pytest

from pytest_qwenperf.errors import ConfigError
from pytest_qwenperf.gates import Verdict, evaluate
from pytest_qwenperf.metrics.result import METRIC_NAMES, LoadResult
from pytest_qwenperf.metrics.sample import Outcome, Sample
from pytest_qwenperf.thresholds import (
    GATE_METRICS,
    GATE_MODES,
    GATE_OPTION,
    Threshold,
    merge_thresholds,
    parse_sla_spec,
    thresholds_from_kwargs,
)


def result_of(
    latencies: Sequence[float],
    outcomes: Sequence[Outcome] | None = None,
    *,
    wall_time_s: float = 50.0,
    label: str = "test_run",
) -> LoadResult:
    """One sample per latency, each starting a second after the previous one."""
    outcomes = list(outcomes) if outcomes is not None else [Outcome.OK] * len(latencies)
    samples = [
        Sample(index=i, prompt="p", intended_start=float(i), start=float(i), end=i + lat, outcome=o)
        for i, (lat, o) in enumerate(zip(latencies, outcomes, strict=True))
    ]
    return LoadResult(samples, "closed", 4, None, len(samples), wall_time_s, 0.0, label=label)


#: 100 successful samples, 1.0 s .. 10.9 s.
ALL_OK = result_of([1.0 + 0.1 * i for i in range(100)])
#: 100 samples: 94 ok, 2 timeouts, one 5xx, one 4xx, two 429s.
MIXED_OUTCOMES = [Outcome.OK] * 94 + [
    Outcome.TIMEOUT,
    Outcome.TIMEOUT,
    Outcome.HTTP_5XX,
    Outcome.HTTP_4XX,
    Outcome.THROTTLED,
    Outcome.THROTTLED,
]
MIXED = result_of([1.0 + 0.1 * i for i in range(100)], MIXED_OUTCOMES)


# ------------------------------------------------------------------------------------------
# The metric table
# ------------------------------------------------------------------------------------------


def test_gate_metrics_cover_exactly_the_metric_names() -> None:
    assert tuple(GATE_METRICS) == METRIC_NAMES
    assert GATE_METRICS["p95"].kind == "latency"
    assert GATE_METRICS["p95"].direction == "<="
    assert GATE_METRICS["timeout_rate"].kind == "rate"
    assert GATE_METRICS["timeout_rate"].direction == "<="
    assert GATE_METRICS["success_rate"].direction == ">="
    assert GATE_METRICS["throughput"].kind == "throughput"
    assert GATE_METRICS["throughput"].direction == ">="


# ------------------------------------------------------------------------------------------
# Parsing
# ------------------------------------------------------------------------------------------


def test_parse_sla_spec() -> None:
    spec = parse_sla_spec(
        "p95<=12s, timeout_rate<=5%,error_5xx_rate <= 1% ,  success_rate>=0.95", "--qwenperf-sla"
    )
    assert list(spec) == ["p95", "timeout_rate", "error_5xx_rate", "success_rate"]
    assert spec["p95"] == Threshold("p95", "<=", 12.0, "--qwenperf-sla", "p95<=12s")
    assert spec["timeout_rate"].value == 0.05
    assert spec["error_5xx_rate"].value == 0.01
    assert spec["success_rate"].op == ">="
    assert spec["p95"].describe() == "p95 <= 12 s"


def test_parse_sla_spec_ops_separators_and_empty() -> None:
    spec = parse_sla_spec("p99 < 800ms\nthroughput > 2/s; mean<=1.5", "ini qwenperf_sla")
    assert spec["p99"].op == "<"
    assert spec["p99"].value == pytest.approx(0.8)
    assert spec["throughput"].op == ">"
    assert spec["throughput"].value == 2.0
    assert spec["mean"].value == 1.5
    assert parse_sla_spec("", "--qwenperf-sla") == {}
    # separators alone are not "no SLA": they are a spec whose thresholds went missing
    with pytest.raises(ConfigError, match="holds no threshold"):
        parse_sla_spec("  ,  ", "--qwenperf-sla")
    assert parse_sla_spec("p95<=12s,", "--qwenperf-sla").keys() == {"p95"}


@pytest.mark.parametrize(
    ("text", "fragments"),
    [
        ("P95<=12s", ["unknown SLA metric 'P95'", "Did you mean 'p95'?", "Valid metrics: p50"]),
        ("p96<=12s", ["unknown SLA metric 'p96'", "Did you mean"]),
        ("error-5xx-rate<=1%", ["Did you mean 'error_5xx_rate'?"]),
        ("timeout<=5%", ["unknown SLA metric 'timeout'", "Did you mean 'timeout_rate'?"]),
        ("p95<=12s, p95<=10s", ["p95 appears twice", "'p95<=12s'", "'p95<=10s'"]),
        ("p95>=12s", ["'p95>=12s'", "lower is better", "write p95<=<value>"]),
        ("success_rate<=95%", ["higher is better", "write success_rate>=<value>"]),
        ("throughput<2/s", ["higher is better"]),
        ("p95=12s", ["uses '='", "not an exact value", "p95<=<value>"]),
        ("p95==12s", ["uses '=='"]),
        ("p95=<12s", ["write '<='"]),
        ("p95<=", ["'p95<=' has no value", "p95<=12s"]),
        ("p95 12s", ["cannot read 'p95 12s'", "e.g. 'p95<=12s"]),
        ("p95<=-1s", ["--qwenperf-sla (p95)", "'-1s'", "cannot be negative"]),
        ("p95<=12 parsecs", ["unknown duration unit 'parsecs'"]),
        ("timeout_rate<=105%", ["--qwenperf-sla (timeout_rate)", "'105%'", "between 0% and 100%"]),
        ("timeout_rate<=5", ["did you mean '5%'?"]),
        ("throughput>=fast", ["cannot read 'fast' as a throughput"]),
    ],
)
def test_parse_sla_spec_errors(text: str, fragments: list[str]) -> None:
    with pytest.raises(ConfigError) as info:
        parse_sla_spec(text, "--qwenperf-sla")
    message = str(info.value)
    assert message.startswith("--qwenperf-sla")
    for fragment in fragments:
        assert fragment in message


def test_parse_sla_spec_rejects_non_text() -> None:
    with pytest.raises(ConfigError, match=r"ini qwenperf_sla: .* got 12"):
        parse_sla_spec(12, "ini qwenperf_sla")  # type: ignore[arg-type]


def test_thresholds_from_kwargs() -> None:
    got = thresholds_from_kwargs(
        {"p95": "15s", "timeout_rate": "5%", "ok_p99": 20, "success_rate": 0.99, "max": "<30s"},
        "sla marker",
    )
    assert got["p95"] == Threshold("p95", "<=", 15.0, "sla marker", "p95='15s'")
    assert got["timeout_rate"].value == 0.05
    assert got["ok_p99"].value == 20.0
    assert got["success_rate"] == Threshold(
        "success_rate", ">=", 0.99, "sla marker", "success_rate=0.99"
    )
    assert got["max"].op == "<"
    assert got["max"].value == 30.0


@pytest.mark.parametrize(
    ("kwargs", "fragments"),
    [
        ({"p95s": "15s"}, ["sla marker: unknown SLA metric 'p95s'", "Did you mean 'p95'?"]),
        ({"latency": "15s"}, ["unknown SLA metric 'latency'", "Valid metrics:"]),
        ({"p95": True}, ["sla marker: p95 must be a duration", "got True"]),
        ({"p95": None}, ["got None"]),
        ({"timeout_rate": "150%"}, ["sla marker (timeout_rate)", "'150%'"]),
        ({"timeout_rate": 5}, ["got 5", "did you mean '5%'?"]),
        ({"p95": "-2s"}, ["sla marker (p95)", "'-2s'", "negative"]),
        ({"p95": ">=12s"}, ["lower is better"]),
        ({"success_rate": "=99%"}, ["not an exact value"]),
    ],
)
def test_thresholds_from_kwargs_errors(kwargs: dict[str, object], fragments: list[str]) -> None:
    with pytest.raises(ConfigError) as info:
        thresholds_from_kwargs(kwargs, "sla marker")
    message = str(info.value)
    assert message.startswith("sla marker")
    for fragment in fragments:
        assert fragment in message


def test_merge_thresholds_key_by_key() -> None:
    base = parse_sla_spec("p95<=12s, timeout_rate<=5%", "--qwenperf-sla")
    override = thresholds_from_kwargs({"timeout_rate": "1%", "p99": "20s"}, "sla marker")
    merged = merge_thresholds(base, override)
    assert list(merged) == ["p95", "timeout_rate", "p99"]
    assert merged["p95"].source == "--qwenperf-sla"
    assert merged["timeout_rate"].value == 0.01
    assert merged["timeout_rate"].source == "sla marker"
    assert base["timeout_rate"].value == 0.05  # inputs untouched


# ------------------------------------------------------------------------------------------
# Every metric's pass and fail path
# ------------------------------------------------------------------------------------------


def _gate(metric: str, value: float, result: LoadResult, mode: str = "point") -> Verdict:
    return evaluate(result, thresholds_from_kwargs({metric: value}, "sla marker"), mode)


@pytest.mark.parametrize("metric", METRIC_NAMES)
def test_every_metric_passes_and_fails(metric: str) -> None:
    spec = GATE_METRICS[metric]
    result = ALL_OK if spec.kind == "latency" else MIXED
    estimate = result.metric(metric)
    assert estimate is not None
    assert 0 < estimate < math.inf
    if spec.kind == "rate":
        good, bad = (
            (min(1.0, estimate * 1.5), estimate / 2)
            if spec.direction == "<="
            else (estimate * 0.9, min(1.0, estimate * 1.05))
        )
    else:
        good, bad = (
            (estimate * 2, estimate / 2)
            if spec.direction == "<="
            else (
                estimate / 2,
                estimate * 2,
            )
        )
    passed = _gate(metric, good, result)
    assert not passed.failed, passed.lines()
    assert passed.checks[0].status in ("pass", "inconclusive")
    assert passed.first_line().startswith("SLA met")
    failed = _gate(metric, bad, result)
    assert failed.failed
    assert failed.status == "fail"
    assert failed.first_line().startswith(f"SLA breached: {metric} = ")


def test_infinite_percentile_fails_and_says_why() -> None:
    verdict = _gate("p95", 12.0, MIXED)
    check = verdict.checks[0]
    assert check.estimate == math.inf
    assert not check.proven_fail  # 6% without image: the 95% lower bound is still 10 s
    assert check.needed_n is not None
    assert verdict.first_line() == (
        "SLA breached: p95 = inf > 12 s (n=100, 6 without image, 95% upper bound inf)"
    )


# ------------------------------------------------------------------------------------------
# The first line, exactly
# ------------------------------------------------------------------------------------------


def test_first_line_format_with_a_bound() -> None:
    latencies = [10.0] * 94 + [14.2, 15.0, 15.0, 15.0, 16.0, 20.0]
    result = result_of(latencies)
    verdict = evaluate(result, parse_sla_spec("p95<=12s, p50<=11s", "--qwenperf-sla"))
    assert verdict.first_line() == (
        "SLA breached: p95 = 14.2 s > 12 s (n=100, 95% upper bound 16.0 s)"
    )


def test_first_line_format_small_n_and_rate() -> None:
    latencies = [10.0] * 37 + [120.0] * 3
    outcomes = [Outcome.OK] * 37 + [Outcome.TIMEOUT] * 3
    verdict = evaluate(
        result_of(latencies, outcomes),
        parse_sla_spec("p95<=12s, timeout_rate<=5%, error_5xx_rate<=1%", "--qwenperf-sla"),
    )
    assert verdict.first_line() == (
        "SLA breached: p95 = inf > 12 s (n=40, 3 without image, 95% upper bound n/a, "
        "needs n>=59); timeout_rate = 7.5% > 5% (3/40)"
    )


def test_first_line_success_rate_and_throughput() -> None:
    verdict = evaluate(
        MIXED, thresholds_from_kwargs({"success_rate": "99%", "throughput": "3/s"}, "sla marker")
    )
    assert verdict.first_line() == (
        "SLA breached: success_rate = 94.0% < 99% (94/100); "
        "throughput = 1.88/s < 3/s (94 images in 50.0 s)"
    )


def test_estimate_is_printed_finely_enough_to_differ_from_the_threshold() -> None:
    result = result_of([12.04] * 100)
    verdict = evaluate(result, parse_sla_spec("p95<=12s", "--qwenperf-sla"))
    assert verdict.first_line().startswith("SLA breached: p95 = 12.04 s > 12 s")


# ------------------------------------------------------------------------------------------
# Gate modes
# ------------------------------------------------------------------------------------------

SMALL_OK = result_of([1.0] * 40)  # p95 = 1 s, but n < 59: no upper bound exists


def test_point_mode() -> None:
    proven = _gate("p95", 20.0, ALL_OK)
    assert proven.status == "pass"
    assert not proven.failed
    unproven = _gate("p95", 20.0, SMALL_OK)
    assert unproven.status == "inconclusive"
    assert not unproven.failed
    assert "not proven" in unproven.checks[0].message
    assert unproven.checks[0].needed_n == 59
    breach = _gate("p95", 0.5, SMALL_OK)
    assert breach.status == "fail"
    assert breach.failed


def test_strict_mode() -> None:
    assert not _gate("p95", 20.0, ALL_OK, "strict").failed
    unproven = _gate("p95", 20.0, SMALL_OK, "strict")
    assert unproven.status == "inconclusive"
    assert unproven.failed
    assert unproven.first_line() == (
        "SLA not proven: p95 = 1.0 s <= 20 s (n=40, 95% upper bound n/a, needs n>=59): "
        f"inconclusive, treated as a failure under {GATE_OPTION}=strict; "
        "about 59 requests would decide"
    )
    breach = _gate("p95", 0.5, SMALL_OK, "strict")
    assert breach.status == "fail"
    assert breach.failed
    assert breach.first_line().startswith("SLA breached: p95 = 1.0 s > 500 ms")
    # a rate that passes on the estimate but not on its Wilson upper bound
    rate = _gate("error_5xx_rate", 0.01, result_of([1.0] * 40), "strict")
    assert rate.failed
    assert rate.checks[0].needed_n == 268
    assert "about 268 requests would decide" in rate.first_line()


def test_lenient_mode() -> None:
    assert not _gate("p95", 20.0, ALL_OK, "lenient").failed
    # 3 timeouts of 40 = 7.5% > 5%, but the Wilson lower bound (3.0%) does not prove it
    outcomes = [Outcome.OK] * 37 + [Outcome.TIMEOUT] * 3
    unproven = _gate("timeout_rate", 0.05, result_of([1.0] * 40, outcomes), "lenient")
    check = unproven.checks[0]
    assert check.status == "inconclusive"
    assert not unproven.failed
    assert check.lower is not None
    assert check.lower < 0.05 < check.estimate  # type: ignore[operator]
    assert unproven.first_line().startswith(
        "SLA met (lenient, not all proven): timeout_rate = 7.5% > 5% (3/40): "
        f"inconclusive, treated as a pass under {GATE_OPTION}=lenient; about"
    )
    # 20 timeouts of 100: the lower bound proves the breach
    outcomes = [Outcome.OK] * 80 + [Outcome.TIMEOUT] * 20
    proven = _gate("timeout_rate", 0.05, result_of([1.0] * 100, outcomes), "lenient")
    assert proven.status == "fail"
    assert proven.failed
    assert proven.checks[0].proven_fail
    assert proven.first_line() == "SLA breached: timeout_rate = 20.0% > 5% (20/100)"
    # a percentile breach proven by the lower bound shows that bound
    slow = _gate("p50", 1.0, result_of([2.0] * 100), "lenient")
    assert slow.first_line() == "SLA breached: p50 = 2.0 s > 1 s (n=100, 95% lower bound 2.0 s)"


@pytest.mark.parametrize("mode", GATE_MODES)
def test_undefined_values_never_pass(mode: str) -> None:
    empty = result_of([], wall_time_s=0.0)
    verdict = evaluate(
        empty, parse_sla_spec("p95<=12s, timeout_rate<=5%, throughput>=1/s", "x"), mode
    )
    assert verdict.failed
    assert verdict.status == "inconclusive"
    assert all(c.failed and c.status == "inconclusive" for c in verdict.checks)
    assert verdict.first_line().startswith(
        "SLA not proven: p95 = n/a (no samples): undefined, never a pass; "
    )
    no_success = result_of([5.0, 5.0], [Outcome.TIMEOUT, Outcome.TIMEOUT])
    ok_gate = evaluate(no_success, parse_sla_spec("ok_p95<=12s, mean<=3s", "x"), mode)
    assert ok_gate.failed
    assert "no successful samples" in ok_gate.first_line()
    assert "fails under every gate mode" in ok_gate.checks[0].message


def test_measured_metrics_are_decided_by_the_estimate_in_every_mode() -> None:
    for mode in GATE_MODES:
        verdict = evaluate(SMALL_OK, parse_sla_spec("max<=2s, mean<=2s", "x"), mode)
        assert not verdict.failed
        assert verdict.status == "pass"
        assert "estimate decides" in verdict.checks[0].message
        assert evaluate(SMALL_OK, parse_sla_spec("max<=0.5s", "x"), mode).failed


def test_clopper_pearson_is_more_conservative() -> None:
    thresholds = parse_sla_spec("error_5xx_rate<=1%", "x")
    zero_of_280 = result_of([1.0] * 280)
    assert evaluate(zero_of_280, thresholds, "strict").checks[0].status == "pass"
    exact = evaluate(zero_of_280, thresholds, "strict", rate_method="clopper-pearson")
    assert exact.checks[0].status == "inconclusive"
    assert exact.checks[0].needed_n == 299
    assert "Clopper-Pearson" in exact.lines()[0]


def test_evaluate_validates_its_arguments() -> None:
    with pytest.raises(ConfigError, match=r"--qwenperf-gate must be one of .* got 'loose'"):
        evaluate(ALL_OK, {}, "loose")
    with pytest.raises(ConfigError, match="confidence"):
        evaluate(ALL_OK, {}, confidence=1.0)
    with pytest.raises(ConfigError, match="rate interval method"):
        evaluate(ALL_OK, {}, rate_method="agresti")


# ------------------------------------------------------------------------------------------
# The verdict as text and data
# ------------------------------------------------------------------------------------------


def test_lines_explain_every_check() -> None:
    verdict = evaluate(
        SMALL_OK,
        parse_sla_spec("p95<=20s, p50<=0.5s, timeout_rate<=5%", "--qwenperf-sla"),
        "point",
    )
    lines = verdict.lines()
    assert lines[0].startswith("SLA verdict for test_run: FAIL (fails the test); gate mode point")
    assert len(lines) == 4
    assert lines[1].lstrip().startswith("INCONCLUSIVE -> pass")
    assert "p95 <= 20 s [--qwenperf-sla]" in lines[1]
    assert "upper n/a (needs n>=59)" in lines[1]
    assert lines[2].lstrip().startswith("FAIL")
    assert "The breach is proven at 95%" in lines[2]
    assert lines[3].lstrip().startswith("INCONCLUSIVE -> pass")
    assert "about" in lines[3]


def test_no_thresholds() -> None:
    verdict = evaluate(ALL_OK, {})
    assert not verdict.failed
    assert verdict.status == "pass"
    assert verdict.first_line() == "SLA: no thresholds"


def test_verdict_round_trips_through_strict_json() -> None:
    verdict = evaluate(
        MIXED,
        parse_sla_spec("p95<=12s, p50<=20s, timeout_rate<=5%, throughput>=1/s", "x"),
        "strict",
    )
    data = json.loads(json.dumps(verdict.to_dict(), allow_nan=False))
    assert data["first_line"] == verdict.first_line()
    assert data["checks"][0]["estimate"] == "inf"
    assert data["checks"][0]["text"] == "p95 <= 12 s"
    back = Verdict.from_dict(data)
    assert back == verdict
    assert back.first_line() == verdict.first_line()
