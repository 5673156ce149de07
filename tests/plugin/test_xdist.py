"""pytest-xdist: ``-n 2`` runs add up to one report, one summary and one session verdict.

Real pytest-xdist in subprocesses; the target is the embedded simulator, started once by the
controller and shared by the workers.
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import jsonschema
import pytest

from pytest_qwenperf.metrics.stats import percentile

SUITE = """
import pytest

@pytest.mark.sla(p95="60s", error_5xx_rate="5%")
def test_a(qwenperf):
    qwenperf.run(requests=3)

@pytest.mark.sla(p95="1s")
def test_b_breaches(qwenperf):
    qwenperf.run(requests=4)

@pytest.mark.xdist_group("pair")
def test_c(qwenperf):
    qwenperf.run(requests=5)

@pytest.mark.xdist_group("pair")
def test_d_two_runs(qwenperf):
    qwenperf.run(requests=2)
    qwenperf.run(requests=6)
"""

#: Written by the suite's conftest on the controller: what the one simulator saw.
CONFTEST = """
import json, urllib.request
from pytest_qwenperf.plugin import PLUGIN_KEY

def pytest_sessionfinish(session):
    if hasattr(session.config, "workerinput"):
        return
    plugin = session.config.stash[PLUGIN_KEY]
    url = plugin.target.url
    stats = json.load(urllib.request.urlopen(url + "/_sim/stats", timeout=10)) if url else []
    with open("sim_stats.json", "w") as f:
        json.dump({"url": url, "records": stats}, f)
"""

EXPECTED_LABELS = {
    "test_suite.py::test_a",
    "test_suite.py::test_b_breaches",
    "test_suite.py::test_c",
    "test_suite.py::test_d_two_runs",
    "test_suite.py::test_d_two_runs [run 2]",
}


def run_suite(pytester: pytest.Pytester, *args: str) -> tuple[pytest.RunResult, dict[str, Any]]:
    pytester.makepyfile(test_suite=SUITE)
    pytester.makeconftest(CONFTEST)
    result = pytester.runpytest_subprocess(
        "-p",
        "no:cacheprovider",
        "--qwenperf-sim-profile=fixed",
        "--qwenperf-json=out/perf.json",
        "--qwenperf-csv=out/samples.csv",
        *args,
    )
    report = json.loads((pytester.path / "out" / "perf.json").read_text("utf-8"))
    return result, report


def latencies(report: dict[str, Any]) -> list[float]:
    values = []
    for run in report["runs"]:
        for sample in run["result"]["samples"]:
            ok = sample["outcome"] == "ok"
            values.append(sample["end"] - sample["intended_start"] if ok else math.inf)
    return sorted(values)


@pytest.mark.parametrize("dist", ["load", "loadgroup"])
def test_runs_aggregate_once_across_workers(pytester: pytest.Pytester, dist: str) -> None:
    result, report = run_suite(pytester, "-n", "2", f"--dist={dist}")
    result.assert_outcomes(passed=3, failed=1)
    assert result.ret == pytest.ExitCode.TESTS_FAILED
    # under --dist loadgroup, xdist (with pytest 8.0) suffixes grouped test ids: "@pair"
    labels = [run["label"].replace("@pair", "") for run in report["runs"]]
    assert sorted(labels) == sorted(EXPECTED_LABELS)  # every run exactly once
    total = sum(run["result"]["n"] for run in report["runs"])
    assert total == 3 + 4 + 5 + 2 + 6
    aggregate = report["aggregate"]["result"]
    assert aggregate["n"] == total
    # the session percentiles are those of the union of every run's samples
    union = latencies(report)
    for name, p in (("p50", 0.5), ("p95", 0.95), ("max", 1.0)):
        assert aggregate["metrics"][name] == pytest.approx(percentile(union, p), rel=1e-9)
    # written once, by the controller
    assert result.stdout.str().count("qwenperf report written:") == 2
    rows = (pytester.path / "out" / "samples.csv").read_text("utf-8").strip().splitlines()
    assert len(rows) == 1 + total
    # one simulator for the whole session: it saw exactly the requests that were sampled
    sim = json.loads((pytester.path / "sim_stats.json").read_text("utf-8"))
    assert sim["url"] == report["target"]["url"]
    generations = [r for r in sim["records"] if r["api"] == "dashscope"]
    assert len(generations) == total
    concurrency = report["session"]["concurrency"]
    assert concurrency["xdist_workers"] == 2


def test_same_runs_and_verdicts_with_and_without_xdist(pytester: pytest.Pytester) -> None:
    def verdicts(report: dict[str, Any]) -> dict[str, str]:
        return {run["label"]: run["status"] for run in report["runs"]}

    _, plain = run_suite(pytester)
    (pytester.path / "out" / "perf.json").unlink()
    _, spread = run_suite(pytester, "-n", "2")
    assert verdicts(plain) == verdicts(spread)
    assert set(verdicts(plain)) == EXPECTED_LABELS
    assert plain["verdict"]["failed"] == spread["verdict"]["failed"] is True


def test_crashed_worker_is_named_in_a_valid_report(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        test_crash="""
        import os

        def test_before(qwenperf):
            qwenperf.run(requests=3)

        def test_dies(qwenperf):
            qwenperf.run(requests=2)
            os._exit(3)

        def test_after(qwenperf):
            qwenperf.run(requests=3)
        """
    )
    result = pytester.runpytest_subprocess(
        "-p",
        "no:cacheprovider",
        "-n",
        "2",
        "--qwenperf-sim-profile=fixed",
        "--qwenperf-json=perf.json",
    )
    assert result.ret == pytest.ExitCode.TESTS_FAILED
    report = json.loads((pytester.path / "perf.json").read_text("utf-8"))
    schema_dir = Path(__import__("pytest_qwenperf").__file__).parent / "schemas"
    schema = json.loads(next(schema_dir.glob("*.json")).read_text("utf-8"))
    jsonschema.validate(report, schema)
    assert report["missing_tests"] == ["test_crash.py::test_dies"]
    labels = {run["label"] for run in report["runs"]}
    assert labels == {"test_crash.py::test_before", "test_crash.py::test_after"}
    result.stdout.fnmatch_lines(["*results missing for: test_crash.py::test_dies*"])
