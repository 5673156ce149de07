"""Every fault through the whole plugin: pytest session -> engine -> wire -> outcome -> report.

The engine's own tests (tests/engine/) prove each fault against run_load; here the same faults
go through a pytest session with ``--qwenperf-url`` and are read back from the JSON report, so
the outcome class a user sees is the one the table in docs/faults.md promises. Network faults
the simulator cannot act (refused, DNS, TLS, cross-origin redirect) use small local servers.
"""

from __future__ import annotations

import csv
import json
import socket
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
from hardening_util import RecordingServer, dashscope_ok, redirect_to

from pytest_qwenperf.simulator import FAULTS, Simulator

#: A host name glibc refuses before any DNS query (leading hyphen): a name-resolution failure
#: that sends no packet anywhere (checked with strace: no connect/sendmmsg). A plain
#: ``.invalid`` name would send a query to the configured resolver.
UNRESOLVABLE_HOST = "-qwenperf-hardening.invalid"

#: (fault, api, allowed outcomes). The simulator's reset sends half the body and then aborts:
#: the client sees a short body (protocol_error) or, when the RST overtakes the data, a reset.
SIM_FAULT_CASES: list[tuple[str, str, list[str]]] = [
    ("error_5xx", "dashscope", ["http_5xx"]),
    ("error_5xx", "openai", ["http_5xx"]),
    ("error_5xx", "dashscope-async", ["http_5xx"]),
    ("gateway_502", "dashscope", ["http_5xx"]),
    ("gateway_503", "openai", ["http_5xx"]),
    ("gateway_504", "dashscope", ["http_5xx"]),
    ("hang", "dashscope", ["timeout"]),
    ("hang", "dashscope-async", ["timeout"]),
    ("slow_drip", "dashscope", ["timeout"]),
    ("slow_drip", "openai", ["timeout"]),
    ("reset", "dashscope", ["protocol_error", "connection_error"]),
    ("reset", "openai", ["protocol_error", "connection_error"]),
    ("malformed_json", "dashscope", ["invalid_response"]),
    ("malformed_json", "dashscope-async", ["invalid_response"]),
    ("no_image", "openai", ["invalid_response"]),
    ("no_image", "dashscope-async", ["invalid_response"]),
    ("task_failed", "dashscope-async", ["task_failed"]),
    ("data_inspection", "dashscope", ["http_4xx"]),
    ("data_inspection", "openai", ["http_4xx"]),
]

SIM_SUITE = """
import os

import pytest
import requests

SIM = os.environ["FAULT_SIM_ROOT"]
NO_FAULTS = {no_faults!r}
CASES = {cases!r}


@pytest.mark.qwenperf(requests=2, workers=2)
@pytest.mark.parametrize(
    ("fault", "api", "allowed"), CASES, ids=[f"{{f}}-{{a}}" for f, a, _ in CASES]
)
def test_fault(qwenperf, fault, api, allowed):
    requests.post(SIM + "/_sim/config", json={{**NO_FAULTS, f"{{fault}}_rate": 1.0}}, timeout=5)
    try:
        # async runs poll after 1 s (the SDK's cadence), so they get a longer deadline
        result = qwenperf.run(api=api, timeout=3.0 if api == "dashscope-async" else 0.6)
    finally:
        requests.post(SIM + "/_sim/config", json=NO_FAULTS, timeout=5)
    outcomes = [s.outcome.value for s in result.samples]
    assert len(outcomes) == 2 and set(outcomes) <= set(allowed), outcomes
"""


def _report(path: Path) -> dict[str, Any]:
    data: dict[str, Any] = json.loads(path.read_text("utf-8"))
    return data


def _outcomes(report: dict[str, Any]) -> dict[str, list[str]]:
    return {
        run["label"]: [s["outcome"] for s in run["result"]["samples"]] for run in report["runs"]
    }


def test_every_simulator_fault_through_the_plugin(pytester: pytest.Pytester) -> None:
    assert {f for f, _, _ in SIM_FAULT_CASES} == set(FAULTS), "a simulator fault has no case"
    no_faults = {f"{name}_rate": 0.0 for name in FAULTS}
    # 10 ms generations; a slow drip of one byte per 20 ms outlasts any deadline used here
    with Simulator("fixed", time_scale=0.001, median=10.0, drip_interval_s=20.0, seed=5) as sim:
        pytester.makepyfile(
            test_faults=SIM_SUITE.format(no_faults=no_faults, cases=SIM_FAULT_CASES)
        )
        with pytest.MonkeyPatch.context() as mp:
            mp.setenv("FAULT_SIM_ROOT", sim.url)
            result = pytester.runpytest(
                f"--qwenperf-url={sim.url}",
                "--qwenperf-api=dashscope",
                "--qwenperf-json=perf.json",
                "-p",
                "no:cacheprovider",
            )
    result.assert_outcomes(passed=len(SIM_FAULT_CASES))
    seen = _outcomes(_report(pytester.path / "perf.json"))
    assert len(seen) == len(SIM_FAULT_CASES)
    for (fault, api, allowed), (label, outcomes) in zip(SIM_FAULT_CASES, seen.items(), strict=True):
        assert f"{fault}-{api}" in label
        assert set(outcomes) <= set(allowed), (label, outcomes)


def _one_run_suite(pytester: pytest.Pytester, requests: int = 2) -> None:
    pytester.makepyfile(
        test_target=f"""
        import pytest

        @pytest.mark.qwenperf(requests={requests}, workers=2)
        def test_run(qwenperf):
            qwenperf.run()
        """
    )


def _run_against(pytester: pytest.Pytester, url: str, *extra: str) -> dict[str, Any]:
    result = pytester.runpytest(
        f"--qwenperf-url={url}",
        "--qwenperf-api=dashscope",
        "--qwenperf-timeout=3s",
        "--qwenperf-json=perf.json",
        "-p",
        "no:cacheprovider",
        *extra,
    )
    result.assert_outcomes(passed=1)
    result.stdout.no_fnmatch_line("*INTERNALERROR*")
    return _report(pytester.path / "perf.json")


def test_connection_refused_through_the_plugin(pytester: pytest.Pytester) -> None:
    with socket.socket() as sock:  # a port nothing listens on
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    _one_run_suite(pytester)
    report = _run_against(pytester, f"http://127.0.0.1:{port}/api/v1")
    samples = report["runs"][0]["result"]["samples"]
    assert [s["outcome"] for s in samples] == ["connection_error"] * 2
    assert all("refused" in (s["error_message"] or "").lower() for s in samples), samples


def test_dns_failure_through_the_plugin(pytester: pytest.Pytester) -> None:
    _one_run_suite(pytester)
    report = _run_against(pytester, f"http://{UNRESOLVABLE_HOST}/api/v1")
    samples = report["runs"][0]["result"]["samples"]
    assert [s["outcome"] for s in samples] == ["connection_error"] * 2
    assert all("resolve" in (s["error_message"] or "") for s in samples), samples


@pytest.mark.parametrize("status", [301, 302, 303, 307, 308])
def test_redirect_to_another_origin_is_not_followed_and_carries_no_key(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch, status: int
) -> None:
    key = "sk-redirect-canary-0123456789"
    monkeypatch.setenv("QWENPERF_API_KEY", key)
    with RecordingServer(dashscope_ok) as target:
        # another origin: same loopback address, another port
        with RecordingServer(redirect_to(target.url, status)) as origin:
            _one_run_suite(pytester)
            report = _run_against(pytester, origin.url + "/api/v1")
        assert [s.headers.get("Authorization") for s in origin.seen] == [f"Bearer {key}"] * 2
        # the redirect was never followed: the other origin saw nothing, so no key either
        assert target.seen == []
    samples = report["runs"][0]["result"]["samples"]
    assert [(s["outcome"], s["status"], s["error_code"]) for s in samples] == [
        ("invalid_response", status, "Redirect")
    ] * 2


def test_sample_counts_add_up_under_mixed_faults(pytester: pytest.Pytester) -> None:
    """A flaky service: every planned request is exactly one sample, whatever happened."""
    rates = {"error_5xx_rate": 0.15, "gateway_502_rate": 0.1, "hang_rate": 0.1, "reset_rate": 0.1}
    rates |= {"malformed_json_rate": 0.1, "no_image_rate": 0.1, "data_inspection_rate": 0.05}
    with Simulator("fixed", time_scale=0.001, median=10.0, seed=11, **rates) as sim:
        _one_run_suite(pytester, requests=120)
        result = pytester.runpytest(
            f"--qwenperf-url={sim.url}",
            "--qwenperf-api=dashscope",
            "--qwenperf-timeout=0.5s",
            "--qwenperf-workers=12",
            "--qwenperf-json=perf.json",
            "--qwenperf-csv=samples.csv",
            "-p",
            "no:cacheprovider",
        )
        truth = sim.stats()
    result.assert_outcomes(passed=1)
    run = _report(pytester.path / "perf.json")["runs"][0]["result"]
    counts = Counter(s["outcome"] for s in run["samples"])
    assert run["n"] == run["planned"] == 120 == sum(counts.values()) == len(truth)
    assert [s["index"] for s in run["samples"]] == list(range(120))
    assert len(counts) >= 5, counts
    by_fault = Counter(r["fault"] for r in truth)
    assert counts["timeout"] == by_fault["hang"]
    assert counts["http_5xx"] == by_fault["error_5xx"] + by_fault["gateway_502"]
    assert counts["http_4xx"] == by_fault["data_inspection"]
    assert counts["ok"] == by_fault[None]
    with open(pytester.path / "samples.csv", encoding="utf-8", newline="") as handle:
        rows = list(csv.DictReader(handle))
    assert sorted(int(r["index"]) for r in rows) == list(range(120))
