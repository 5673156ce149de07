"""TLS: verification is on by default; --qwenperf-insecure is explicit, warned and recorded.

A fresh self-signed certificate for 127.0.0.1 is made with the openssl CLI for each module
run, and a local HTTPS server answers DashScope calls with it.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from hardening_util import RecordingServer, dashscope_ok, self_signed_tls

from pytest_qwenperf.reports.terminal import header_line

SUITE = """
import pytest

@pytest.mark.qwenperf(requests=2, workers=2)
def test_run(qwenperf):
    qwenperf.run()
"""
INSECURE_WARNING = "WARNING: TLS verification is OFF (--qwenperf-insecure)"


@pytest.fixture(scope="module")
def https_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RecordingServer]:
    context = self_signed_tls(tmp_path_factory.mktemp("tls"))
    with RecordingServer(dashscope_ok, tls=context) as server:
        yield server


def _run(pytester: pytest.Pytester, url: str, *extra: str) -> tuple[Any, dict[str, Any]]:
    pytester.makepyfile(test_tls_suite=SUITE)
    result = pytester.runpytest(
        f"--qwenperf-url={url}/api/v1",
        "--qwenperf-timeout=5s",
        "--qwenperf-json=perf.json",
        "--qwenperf-markdown=summary.md",
        "-p",
        "no:cacheprovider",
        *extra,
    )
    result.assert_outcomes(passed=1)
    report: dict[str, Any] = json.loads(Path(pytester.path / "perf.json").read_text("utf-8"))
    return result, report


def test_self_signed_certificate_fails_by_default(
    pytester: pytest.Pytester, https_server: RecordingServer
) -> None:
    result, report = _run(pytester, https_server.url)
    samples = report["runs"][0]["result"]["samples"]
    assert [s["outcome"] for s in samples] == ["connection_error"] * 2
    assert all("CERTIFICATE_VERIFY_FAILED" in s["error_message"] for s in samples), samples
    assert report["target"]["tls_verify"] is True
    assert report["runs"][0]["result"]["config"]["verify_tls"] is True
    assert INSECURE_WARNING not in result.stdout.str()


def test_insecure_is_explicit_warned_and_recorded(
    pytester: pytest.Pytester, https_server: RecordingServer
) -> None:
    # Many projects (this one too) run with warnings as errors: urllib3's per-request
    # InsecureRequestWarning must not turn an explicitly insecure run into connection errors.
    pytester.makeini("[pytest]\nfilterwarnings = error\n")
    result, report = _run(pytester, https_server.url, "--qwenperf-insecure")
    samples = report["runs"][0]["result"]["samples"]
    assert [s["outcome"] for s in samples] == ["ok"] * 2
    # the header line (the first thing in the log) warns ...
    header = [line for line in result.stdout.lines if line.startswith("target:")]
    assert header, result.stdout.lines[:10]
    assert INSECURE_WARNING in header[0]
    # ... and every report records it
    assert report["target"]["tls_verify"] is False
    assert report["runs"][0]["result"]["config"]["verify_tls"] is False
    assert "TLS" in (pytester.path / "summary.md").read_text("utf-8")


def test_insecure_from_ini_is_warned_too(
    pytester: pytest.Pytester, https_server: RecordingServer
) -> None:
    pytester.makeini("[pytest]\nqwenperf_insecure = true\nfilterwarnings = error\n")
    result, report = _run(pytester, https_server.url)
    samples = report["runs"][0]["result"]["samples"]
    assert [s["outcome"] for s in samples] == ["ok"] * 2, samples
    assert report["target"]["tls_verify"] is False
    assert any(INSECURE_WARNING in line for line in result.stdout.lines)


def test_header_warning_constant_is_the_one_rendered() -> None:
    from pytest_qwenperf.session import TargetInfo

    target = TargetInfo(kind="url", url="https://x", api="dashscope", model="m", insecure=True)
    values = {"rate": None, "workers": 4, "timeout": 60.0, "gate": "point"}
    assert INSECURE_WARNING in header_line(target, values)


def test_insecure_run_passes_without_warnings_as_errors(
    pytester: pytest.Pytester, https_server: RecordingServer
) -> None:
    """With default warning filters the insecure run works (the warning is a nuisance only)."""
    pytester.makeini("[pytest]\nfilterwarnings = default\n")
    _result, report = _run(pytester, https_server.url, "--qwenperf-insecure")
    samples = report["runs"][0]["result"]["samples"]
    assert [s["outcome"] for s in samples] == ["ok"] * 2, samples
