"""The shipped schema: valid draft 2020-12, in step with the code, documented, in the wheel."""

from __future__ import annotations

import json
import re
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from qp_reports import FAST, json_validator, make_suite, make_summary, validate_report

from pytest_qwenperf.metrics.result import METRIC_NAMES
from pytest_qwenperf.metrics.sample import Outcome
from pytest_qwenperf.reports.json_report import (
    CI_VARIABLES,
    SCHEMA_FILE,
    build_report,
    load_schema,
)

ROOT = Path(__file__).resolve().parents[2]
DOC = ROOT / "docs" / "report-format.md"


def property_names(node: Any) -> Iterator[str]:
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "properties" and isinstance(value, dict):
                yield from value
            yield from property_names(value)
    elif isinstance(node, list):
        for item in node:
            yield from property_names(item)


def test_schema_follows_the_code() -> None:
    schema = load_schema()
    defs = schema["$defs"]
    assert list(defs["metrics"]["properties"]) == list(METRIC_NAMES)
    assert defs["sample"]["properties"]["outcome"]["enum"] == [o.value for o in Outcome]
    assert schema["properties"]["environment"]["properties"]["ci"]["propertyNames"]["enum"] == list(
        CI_VARIABLES
    )
    metric_docs = schema["properties"]["definitions"]["properties"]["metrics"]["required"]
    assert metric_docs == list(METRIC_NAMES)


def test_every_field_is_documented() -> None:
    doc = DOC.read_text("utf-8")
    documented = set(re.findall(r"`([a-z_0-9]+)`", doc))
    missing = sorted(set(property_names(load_schema())) - documented)
    assert not missing, f"fields missing from {DOC.name}: {missing}"


def test_schema_rejects_what_it_must() -> None:
    report = build_report(make_summary(), include_samples=True)
    validator = json_validator()
    assert not list(validator.iter_errors(report))
    bad_metric = json.loads(json.dumps(report))
    bad_metric["runs"][0]["result"]["metrics"]["p95"] = "NaN-ish"
    leaked_query = json.loads(json.dumps(report))
    leaked_query["target"]["url"] = "https://x.example/?api_key=1"
    missing_samples = json.loads(json.dumps(report))
    del missing_samples["runs"][0]["result"]["samples"]
    unknown_top = json.loads(json.dumps(report))
    unknown_top["api_key"] = "sk-..."
    for bad in (bad_metric, leaked_query, missing_samples, unknown_top):
        assert list(validator.iter_errors(bad))


def test_xdist_session_report_is_valid(pytester: pytest.Pytester) -> None:
    make_suite(pytester)
    result = pytester.runpytest_subprocess("-n", "2", "--qwenperf-json=perf.json", *FAST)
    result.assert_outcomes(passed=2)
    data = validate_report(pytester.path / "perf.json")
    assert sorted(r["test_id"] for r in data["runs"]) == [
        "test_perf.py::test_gated",
        "test_perf.py::test_ungated",
    ]


def test_schema_ships_in_the_wheel(tmp_path: Path) -> None:
    from hatchling.builders.wheel import WheelBuilder  # the build backend, a test dependency

    wheel = next(iter(WheelBuilder(str(ROOT)).build(directory=str(tmp_path))))
    with zipfile.ZipFile(wheel) as archive:
        assert f"pytest_qwenperf/schemas/{SCHEMA_FILE}" in archive.namelist()
