"""The session's record of what ran: plain data every report renders.

A run travels from the process that ran it (an xdist worker, or this one) to the process that
reports as ``RunRecord.to_dict()``; nothing here imports pytest.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field
from typing import Any

from pytest_qwenperf.gates import Verdict
from pytest_qwenperf.metrics.result import LoadResult


@dataclass
class RunRecord:
    """One ``qwenperf.run()``: its result and, when it had thresholds, its verdict."""

    test_id: str
    label: str
    result: LoadResult
    verdict: Verdict | None = None
    #: Where each setting of the run came from (option, marker, default...).
    sources: dict[str, str] = field(default_factory=dict)

    def to_dict(self, include_samples: bool = True) -> dict[str, Any]:
        return {
            "test_id": self.test_id,
            "label": self.label,
            "result": self.result.to_dict(include_samples=include_samples),
            "verdict": None if self.verdict is None else self.verdict.to_dict(),
            "sources": dict(self.sources),
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> RunRecord:
        verdict = data.get("verdict")
        return cls(
            test_id=str(data["test_id"]),
            label=str(data["label"]),
            result=LoadResult.from_dict(data["result"]),
            verdict=None if verdict is None else Verdict.from_dict(verdict),
            sources=dict(data.get("sources", {})),
        )


@dataclass
class TargetInfo:
    """The service under test, without credentials."""

    kind: str  # "simulator" | "url"
    url: str
    api: str
    model: str
    profile: str | None = None
    time_scale: float = 1.0
    insecure: bool = False

    def describe(self) -> str:
        if self.kind == "simulator":
            return f"simulator ({self.profile}, time scale {self.time_scale:g})"
        return self.url

    def to_dict(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "url": self.url,
            "api": self.api,
            "model": self.model,
            "simulator_profile": self.profile,
            "time_scale": self.time_scale,
            "tls_verify": not self.insecure,
        }


@dataclass
class SessionSummary:
    """Everything a report shows about a session."""

    target: TargetInfo
    runs: list[RunRecord]
    gate_mode: str
    aggregate: LoadResult | None = None
    session_verdict: Verdict | None = None
    interrupted: bool = False
    #: Tests whose results never arrived (e.g. an xdist worker crashed).
    missing_tests: list[str] = field(default_factory=list)
    started_at: float = 0.0
    finished_at: float = 0.0
    #: Effective session settings as plain data (no API key), with their sources.
    settings: dict[str, Any] = field(default_factory=dict)
    #: Peak concurrency across processes and whether runs overlapped (xdist).
    concurrency: dict[str, Any] = field(default_factory=dict)
    exit_status: int | None = None

    @property
    def failed_runs(self) -> list[RunRecord]:
        return [r for r in self.runs if r.verdict is not None and r.verdict.failed]

    @property
    def session_failed(self) -> bool:
        return self.session_verdict is not None and self.session_verdict.failed


def _wall_interval(result: LoadResult) -> tuple[float, float]:
    """A run's measured phase in Unix time (sample times may be simulated seconds)."""
    scale = float(result.config.get("time_scale", 1.0))
    return result.started_at, result.started_at + result.wall_time_s * scale


def session_concurrency(
    runs: list[RunRecord], aggregate: LoadResult | None, xdist_workers: int
) -> dict[str, Any]:
    """How much load the service saw at once: per run, and across parallel runs (xdist)."""
    spans = sorted((_wall_interval(r.result), r.result.workers) for r in runs)
    # Sorted by start, a run overlapping any later run overlaps the next one.
    overlapped = any(b[0][0] < a[0][1] for a, b in itertools.pairwise(spans))
    # The most requests that could be in flight at once: workers of the runs alive together.
    configured_peak = max(
        (sum(w for (b, e), w in spans if b <= begin < e) for (begin, _), _ in spans), default=0
    )
    return {
        "xdist_workers": xdist_workers,
        "runs_overlapped": overlapped,
        "configured_peak": configured_peak,
        "measured_peak_in_flight": None if aggregate is None else aggregate.max_in_flight,
    }
