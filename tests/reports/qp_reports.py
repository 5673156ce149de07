"""Helpers for the report tests: a small perf suite, the JSON Schema and the JUnit XSD."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest

from pytest_qwenperf.reports.json_report import load_schema

#: pytest's own JUnit schema (shared reference; a copy sits beside these tests).
JUNIT_XSD = Path(__file__).with_name("junit-10.xsd")

#: Fast, deterministic load: the "fixed" simulator profile answers in 20 simulated seconds.
FAST = ("--qwenperf-sim-profile=fixed", "-p", "no:cacheprovider")

#: The gated test's breach as every report spells it. The fixed profile answers in 20 simulated
#: seconds, but on a loaded machine wall-clock jitter is stretched by 1/time-scale (10 ms of
#: scheduling delay is 1 simulated second), so the figure itself is matched, not pinned.
P95_BREACH = re.compile(r"SLA breached: p95 = \d+\.\d s > 10 s \(n=5, ")

SUITE = """
import pytest

@pytest.mark.qwenperf(requests=5, workers=5)
@pytest.mark.sla({sla})
def test_gated(qwenperf):
    qwenperf.run()

@pytest.mark.qwenperf(requests=3, workers=3)
def test_ungated(qwenperf):
    qwenperf.run()
"""


def make_suite(pytester: pytest.Pytester, sla: str = "max='60s', throughput='0.01/s'") -> None:
    pytester.makepyfile(test_perf=SUITE.format(sla=sla))


def json_validator() -> Any:
    import jsonschema

    cls = jsonschema.Draft202012Validator
    cls.check_schema(load_schema())
    return cls(load_schema(), format_checker=cls.FORMAT_CHECKER)


def validate_report(path: Path) -> dict[str, Any]:
    """Read a JSON report, check it parses strictly (no NaN) and matches the shipped schema."""

    def no_constants(name: str) -> None:
        raise AssertionError(f"non-standard JSON constant {name} in the report")

    data: dict[str, Any] = json.loads(path.read_text("utf-8"), parse_constant=no_constants)
    errors = sorted(json_validator().iter_errors(data), key=lambda e: list(e.path))
    assert not errors, "\n".join(f"{e.json_path}: {e.message[:300]}" for e in errors[:5])
    return data


def validate_junit(path: Path) -> None:
    import xmlschema

    xmlschema.XMLSchema(str(JUNIT_XSD)).validate(str(path))


def leftovers(folder: Path) -> list[str]:
    """Temporary files the writer might have left behind."""
    return sorted(p.name for p in folder.iterdir() if p.name.endswith(".tmp"))


def make_sample(index: int, latency: float, outcome: str = "ok", **kwargs: Any) -> Any:
    from pytest_qwenperf.metrics.sample import Outcome, Sample

    return Sample(
        index=index,
        prompt=f"prompt {index}",
        intended_start=float(index),
        start=float(index),
        end=float(index) + latency,
        outcome=Outcome(outcome),
        status=200 if outcome == "ok" else None,
        **kwargs,
    )


def make_summary(
    runs: int = 1,
    latencies: tuple[float, ...] = (1.0, 2.0, 3.0),
    sla: str | None = "p95<=12s",
    label: str = "test_x.py::test_{i}",
    **sample_kwargs: Any,
) -> Any:
    """A SessionSummary built without the plugin (for unit tests of the renderers)."""
    from pytest_qwenperf.gates import evaluate
    from pytest_qwenperf.metrics.merge import merge
    from pytest_qwenperf.metrics.result import LoadResult
    from pytest_qwenperf.session import RunRecord, SessionSummary, TargetInfo
    from pytest_qwenperf.thresholds import parse_sla_spec

    records = []
    for i in range(runs):
        result = LoadResult(
            samples=[make_sample(j, lat, **sample_kwargs) for j, lat in enumerate(latencies)],
            mode="closed",
            workers=2,
            rate=None,
            planned=len(latencies),
            wall_time_s=float(len(latencies) + max(latencies)),
            started_at=1_700_000_000.0 + i,
            label=label.format(i=i),
            config={"url": "https://gpu.example.com:8443", "requests": len(latencies)},
        )
        verdict = None if sla is None else evaluate(result, parse_sla_spec(sla, "--qwenperf-sla"))
        records.append(
            RunRecord(
                test_id=label.format(i=i), label=label.format(i=i), result=result, verdict=verdict
            )
        )
    return SessionSummary(
        target=TargetInfo(
            kind="url", url="https://gpu.example.com:8443", api="openai", model="qwen-image"
        ),
        runs=records,
        gate_mode="point",
        aggregate=merge(*(r.result for r in records), label="session") if records else None,
        started_at=1_700_000_000.0,
        finished_at=1_700_000_100.0,
        exit_status=0,
    )
