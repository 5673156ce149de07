"""Every gate metric's pass and fail path, and every gate mode's pass, fail and inconclusive
path, end to end: pytest's exit code and the failure's first line.

The plugin talks real HTTP to a simulator on 127.0.0.1, pointed at with --qwenperf-url, so
measured times are wall-clock seconds (no time scale): the ``fixed`` profile answers every
request after exactly ``median`` seconds unless a fault is injected.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from pytest_qwenperf.metrics.result import METRIC_NAMES
from pytest_qwenperf.simulator import Simulator

TEST_FILE = """
def test_load(qwenperf):
    qwenperf.run()
"""

LATENCY_METRICS = ("p50", "p90", "p95", "p99", "max", "mean")
LATENCY_METRICS += tuple(f"ok_{name}" for name in LATENCY_METRICS if name != "mean")

#: metric -> (simulator faults for the fail path, a threshold that passes on a healthy
#: service, a threshold that the fail path breaches)
CASES: dict[str, tuple[dict[str, object], str, str]] = {
    **{name: ({}, "2s", "10ms") for name in LATENCY_METRICS},
    "success_rate": ({"error_5xx_rate": 1.0}, "50%", "90%"),
    "error_rate": ({"error_5xx_rate": 1.0}, "50%", "10%"),
    "timeout_rate": ({"hang_rate": 1.0}, "50%", "10%"),
    "error_5xx_rate": ({"error_5xx_rate": 1.0}, "50%", "10%"),
    "error_4xx_rate": ({"data_inspection_rate": 1.0}, "50%", "10%"),
    "throttled_rate": ({"slots": 1, "max_queue": 0}, "50%", "10%"),
    "throughput": ({}, "1/s", "100000/s"),
}


@pytest.fixture
def sim() -> Iterator[Simulator]:
    with Simulator(profile="fixed", time_scale=1.0, median=0.05, seed=5) as simulator:
        yield simulator


def run(pytester: pytest.Pytester, sim: Simulator, *args: str) -> pytest.RunResult:
    pytester.makepyfile(TEST_FILE)
    return pytester.runpytest(
        f"--qwenperf-url={sim.url}/api/v1",
        "--qwenperf-timeout=1s",
        "--qwenperf-requests=8",
        "--qwenperf-workers=4",
        *args,
    )


def test_every_metric_has_a_case() -> None:
    assert set(CASES) == set(METRIC_NAMES)


def op(metric: str) -> str:
    return ">=" if metric in ("success_rate", "throughput") else "<="


@pytest.mark.parametrize("metric", sorted(CASES))
def test_metric_pass_path(pytester: pytest.Pytester, sim: Simulator, metric: str) -> None:
    _faults, good, _bad = CASES[metric]
    result = run(pytester, sim, f"--qwenperf-sla={metric}{op(metric)}{good}")
    assert result.ret == pytest.ExitCode.OK, result.stdout.str()
    result.assert_outcomes(passed=1)


@pytest.mark.parametrize("metric", sorted(CASES))
def test_metric_fail_path(pytester: pytest.Pytester, sim: Simulator, metric: str) -> None:
    faults, _good, bad = CASES[metric]
    sim.configure(**faults)
    result = run(pytester, sim, f"--qwenperf-sla={metric}{op(metric)}{bad}")
    assert result.ret == pytest.ExitCode.TESTS_FAILED
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines([f"SLA breached: {metric} = *"])


def test_undefined_value_never_passes(pytester: pytest.Pytester, sim: Simulator) -> None:
    """ok_p95 over zero successes is undefined: inconclusive, and a failure even in point."""
    sim.configure(error_5xx_rate=1.0)
    result = run(pytester, sim, "--qwenperf-sla=ok_p95<=10s")
    assert result.ret == pytest.ExitCode.TESTS_FAILED
    result.stdout.fnmatch_lines(["*ok_p95*"])


# -- gate modes --------------------------------------------------------------------------


def test_point_passes_on_the_estimate_without_proof(
    pytester: pytest.Pytester, sim: Simulator
) -> None:
    result = run(pytester, sim, "--qwenperf-sla=p95<=2s", "--qwenperf-gate=point")
    assert result.ret == pytest.ExitCode.OK
    result.stdout.fnmatch_lines(["*inconclusive->pass*"])


def test_point_fails_on_the_estimate(pytester: pytest.Pytester, sim: Simulator) -> None:
    result = run(pytester, sim, "--qwenperf-sla=p95<=10ms", "--qwenperf-gate=point")
    assert result.ret == pytest.ExitCode.TESTS_FAILED
    result.stdout.fnmatch_lines(["SLA breached: p95 = * > 10 ms (n=8*"])


def test_strict_passes_when_the_bound_proves_it(pytester: pytest.Pytester, sim: Simulator) -> None:
    result = run(
        pytester,
        sim,
        "--qwenperf-sla=p95<=2s",
        "--qwenperf-gate=strict",
        "--qwenperf-requests=60",
        "--qwenperf-workers=20",
    )
    assert result.ret == pytest.ExitCode.OK, result.stdout.str()
    result.stdout.fnmatch_lines(["*  PASS"])


def test_strict_fails_a_breach(pytester: pytest.Pytester, sim: Simulator) -> None:
    result = run(pytester, sim, "--qwenperf-sla=p95<=10ms", "--qwenperf-gate=strict")
    assert result.ret == pytest.ExitCode.TESTS_FAILED
    result.stdout.fnmatch_lines(["SLA breached: p95 = *"])


def test_strict_fails_an_inconclusive_gate_and_says_so(
    pytester: pytest.Pytester, sim: Simulator
) -> None:
    result = run(pytester, sim, "--qwenperf-sla=p95<=2s", "--qwenperf-gate=strict")
    assert result.ret == pytest.ExitCode.TESTS_FAILED
    result.stdout.fnmatch_lines(
        ["*inconclusive, treated as a failure under --qwenperf-gate=strict*would decide*"]
    )


def test_lenient_passes(pytester: pytest.Pytester, sim: Simulator) -> None:
    result = run(pytester, sim, "--qwenperf-sla=p95<=2s", "--qwenperf-gate=lenient")
    assert result.ret == pytest.ExitCode.OK


def test_lenient_fails_a_proven_breach(pytester: pytest.Pytester, sim: Simulator) -> None:
    result = run(
        pytester,
        sim,
        "--qwenperf-sla=p95<=10ms",
        "--qwenperf-gate=lenient",
        "--qwenperf-requests=20",
    )
    assert result.ret == pytest.ExitCode.TESTS_FAILED
    result.stdout.fnmatch_lines(["SLA breached: p95 = *lower bound*"])


def test_lenient_passes_an_unproven_breach_and_says_so(
    pytester: pytest.Pytester, sim: Simulator
) -> None:
    # Seed 5 makes exactly 2 of requests 1..20 draw the 5xx fault: 10% > 5% estimated, but
    # the Wilson lower bound (about 2.8%) does not prove the breach.
    sim.configure(error_5xx_rate=0.12)
    result = run(
        pytester,
        sim,
        "--qwenperf-sla=error_5xx_rate<=5%",
        "--qwenperf-gate=lenient",
        "--qwenperf-requests=20",
        "-v",
    )
    assert result.ret == pytest.ExitCode.OK, result.stdout.str()
    result.stdout.fnmatch_lines(
        ["*error_5xx_rate = 10.0% (2/20)*treated as a pass under --qwenperf-gate=lenient*"]
    )


def test_session_sla_fails_the_session(pytester: pytest.Pytester, sim: Simulator) -> None:
    pytester.makepyfile(
        """
        def test_a(qwenperf):
            qwenperf.run()

        def test_b(qwenperf):
            qwenperf.run()
        """
    )
    result = pytester.runpytest(
        f"--qwenperf-url={sim.url}/api/v1",
        "--qwenperf-requests=4",
        "--qwenperf-session-sla=p95<=10ms",
    )
    result.assert_outcomes(passed=2)
    assert result.ret == pytest.ExitCode.TESTS_FAILED
    result.stdout.fnmatch_lines(["session SLA FAILED (exit 1): SLA breached: p95 = * (n=8*"])


def test_sla_marker_overrides_the_option_key_by_key(
    pytester: pytest.Pytester, sim: Simulator
) -> None:
    pytester.makepyfile(
        """
        import pytest

        @pytest.mark.sla(p95="10ms")
        def test_strict_latency(qwenperf):
            qwenperf.run()
        """
    )
    result = pytester.runpytest(
        f"--qwenperf-url={sim.url}/api/v1",
        "--qwenperf-requests=4",
        "--qwenperf-sla=p95<=5s, error_5xx_rate<=1%",
    )
    result.assert_outcomes(failed=1)
    # the marker's p95 won; the option's error_5xx_rate still applies (and passes)
    result.stdout.fnmatch_lines(["SLA breached: p95 = * > 10 ms*"])
    result.stdout.no_fnmatch_line("SLA breached:*error_5xx_rate*")


def test_breach_and_own_assertion_both_reported(pytester: pytest.Pytester, sim: Simulator) -> None:
    pytester.makepyfile(
        """
        import pytest

        @pytest.mark.sla(p95="10ms")
        def test_both(qwenperf):
            result = qwenperf.run()
            assert result.n == 999
        """
    )
    result = pytester.runpytest(f"--qwenperf-url={sim.url}/api/v1", "--qwenperf-requests=3")
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(["SLA breached: p95 = *", "*assert 3 == 999*"])


def test_several_runs_in_one_test_each_gated(pytester: pytest.Pytester, sim: Simulator) -> None:
    pytester.makepyfile(
        """
        import pytest

        @pytest.mark.sla(p95="1s")
        def test_two_runs(qwenperf):
            qwenperf.run(requests=3)
            qwenperf.run(requests=4, timeout="10ms")
        """
    )
    result = pytester.runpytest(f"--qwenperf-url={sim.url}/api/v1")
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(["*test_two_runs [run 2]*"])


def test_session_sla_over_no_run_fails_the_session(pytester: pytest.Pytester) -> None:
    """A declared session SLA is never skipped silently: zero samples never pass."""
    pytester.makepyfile(
        """
        import pytest

        def test_skipped(qwenperf):
            pytest.skip("the service is not deployed in this environment")
        """
    )
    result = pytester.runpytest("--qwenperf-session-sla=p95<=10s")
    result.assert_outcomes(skipped=1)
    assert result.ret == pytest.ExitCode.TESTS_FAILED
    result.stdout.fnmatch_lines(
        [
            "no qwenperf run was measured in this session",
            "session SLA FAILED (exit 1): SLA not proven: p95 = n/a (no samples)*",
        ]
    )
