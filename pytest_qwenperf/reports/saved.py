"""A saved JSON report read back for people (``qwenperf report``): a small read model.

A report written with ``--qwenperf-no-samples`` cannot become a ``LoadResult`` again
(``LoadResult.from_dict`` needs the samples), but everything the summary shows is already in
it: each result's ``metrics`` as ``LoadResult`` computed them, and the verdicts. So this
module reads those values back as they are; it never recomputes a metric, with or without
samples, and the table it feeds is the one the plugin prints.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pytest_qwenperf.gates import Verdict
from pytest_qwenperf.metrics.result import METRIC_NAMES, SelfCheck, decode_float
from pytest_qwenperf.reports.json_report import REPORT_FORMAT, SCHEMA_VERSION
from pytest_qwenperf.session import TargetInfo


class ReportReadError(ValueError):
    """The file is not a JSON perf report this version can read (one line, no traceback)."""


@dataclass(frozen=True)
class SavedResult:
    """The figures of one saved result (a run or the session aggregate)."""

    n: int
    planned: int
    mode: str
    workers: int
    rate: float | None
    interrupted: bool
    deadline_hit: bool
    late_starts: int
    max_in_flight: int
    selfcheck: SelfCheck | None
    wall_time_s: float | None
    ok_count: int
    #: Every gate metric as ``LoadResult.metrics()`` gave it (None = undefined, inf allowed).
    values: Mapping[str, float | None] = field(default_factory=dict)

    def metric(self, name: str) -> float | None:
        return self.values.get(name)

    @property
    def success_rate(self) -> float | None:
        return self.metric("success_rate")

    @property
    def timeout_rate(self) -> float | None:
        return self.metric("timeout_rate")

    @property
    def error_5xx_rate(self) -> float | None:
        return self.metric("error_5xx_rate")

    @property
    def p50(self) -> float | None:
        return self.metric("p50")

    @property
    def p95(self) -> float | None:
        return self.metric("p95")

    @property
    def p99(self) -> float | None:
        return self.metric("p99")

    @property
    def max(self) -> float | None:
        return self.metric("max")

    @property
    def throughput(self) -> float | None:
        return self.metric("throughput")

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> SavedResult:
        """From ``LoadResult.to_dict()`` output, with or without samples."""
        metrics = data["metrics"]
        selfcheck = data.get("selfcheck")
        return cls(
            n=int(data["n"]),
            planned=int(data["planned"]),
            mode=str(data["mode"]),
            workers=int(data["workers"]),
            rate=decode_float(data.get("rate")),
            interrupted=bool(data.get("interrupted", False)),
            deadline_hit=bool(data.get("deadline_hit", False)),
            late_starts=int(data.get("late_starts", 0)),
            max_in_flight=int(data.get("max_in_flight", 0)),
            selfcheck=None if selfcheck is None else SelfCheck.from_dict(selfcheck),
            wall_time_s=decode_float(data.get("wall_time_s")),
            ok_count=int(data.get("ok_count", 0)),
            values={name: decode_float(metrics.get(name)) for name in METRIC_NAMES},
        )


@dataclass(frozen=True)
class SavedRun:
    test_id: str
    label: str
    result: SavedResult
    verdict: Verdict | None


@dataclass(frozen=True)
class SavedReport:
    """A whole saved report, shaped like a ``SessionSummary`` for the renderers."""

    target: TargetInfo
    runs: list[SavedRun]
    gate_mode: str
    aggregate: SavedResult | None
    session_verdict: Verdict | None
    interrupted: bool
    missing_tests: list[str]
    concurrency: Mapping[str, Any]
    tool_version: str
    created_at: str
    samples_included: bool
    data: Mapping[str, Any]

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> SavedReport:
        if not isinstance(data, Mapping) or data.get("format") != REPORT_FORMAT:
            raise ReportReadError(
                f"not a pytest-qwenperf JSON report (no format {REPORT_FORMAT!r})"
            )
        version = data.get("schema_version")
        if version != SCHEMA_VERSION:
            raise ReportReadError(
                f"schema_version {version!r} is not supported: this qwenperf reads "
                f"schema_version {SCHEMA_VERSION}"
            )
        try:
            return cls._build(data)
        except (KeyError, TypeError, ValueError, AttributeError) as exc:
            what = f"missing field {exc}" if isinstance(exc, KeyError) else str(exc)
            raise ReportReadError(f"malformed report ({what})") from None

    @classmethod
    def _build(cls, data: Mapping[str, Any]) -> SavedReport:
        target = data["target"]
        session = data["session"]
        runs = [
            SavedRun(
                test_id=str(run["test_id"]),
                label=str(run["label"]),
                result=SavedResult.from_dict(run["result"]),
                verdict=None if run.get("verdict") is None else Verdict.from_dict(run["verdict"]),
            )
            for run in data["runs"]
        ]
        aggregate = data.get("aggregate")
        agg_result = None if aggregate is None else SavedResult.from_dict(aggregate["result"])
        agg_verdict = None
        if aggregate is not None and aggregate.get("verdict") is not None:
            agg_verdict = Verdict.from_dict(aggregate["verdict"])
        return cls(
            target=TargetInfo(
                kind=str(target["kind"]),
                url=str(target.get("url") or ""),
                api=str(target["api"]),
                model=str(target["model"]),
                profile=target.get("simulator_profile"),
                time_scale=float(target.get("time_scale", 1.0)),
                insecure=not bool(target.get("tls_verify", True)),
            ),
            runs=runs,
            gate_mode=str(session["gate_mode"]),
            aggregate=agg_result,
            session_verdict=agg_verdict,
            interrupted=bool(data["interrupted"]),
            missing_tests=[str(t) for t in data.get("missing_tests", [])],
            concurrency=dict(session.get("concurrency") or {}),
            tool_version=str(data["tool"]["version"]),
            created_at=str(data.get("created_at", "")),
            samples_included=bool(data.get("samples_included", False)),
            data=data,
        )


def load_report(path: Path) -> SavedReport:
    """Read and check a saved report; every problem is one :class:`ReportReadError` line."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ReportReadError(f"{str(path)!r}: no such file") from None
    except IsADirectoryError:
        raise ReportReadError(f"{str(path)!r} is a folder, not a JSON report") from None
    except UnicodeDecodeError:
        raise ReportReadError(f"{str(path)!r} is not UTF-8 text") from None
    except OSError as exc:
        raise ReportReadError(f"cannot read {str(path)!r}: {exc.strerror or exc}") from None
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ReportReadError(
            f"{str(path)!r} is not valid JSON (line {exc.lineno} column {exc.colno}: {exc.msg})"
        ) from None
    except RecursionError:
        raise ReportReadError(f"{str(path)!r} is nested too deeply to be a report") from None
    try:
        return SavedReport.from_dict(data)
    except ReportReadError as exc:
        raise ReportReadError(f"{str(path)!r}: {exc}") from None
