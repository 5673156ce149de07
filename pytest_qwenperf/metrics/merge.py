"""Merging load results: the pytest-xdist controller and the session aggregate.

One definition of how runs add up: samples are concatenated (never averaged), moved onto one
clock, and every metric of the merged result is then computed by ``LoadResult`` as usual.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Mapping, Sequence
from typing import Any

from pytest_qwenperf.metrics.result import LoadResult, SelfCheck
from pytest_qwenperf.metrics.sample import Attempt, Sample

# --------------------------------------------------------------------------------------------
# Merging (pytest-xdist workers, session aggregate)
# --------------------------------------------------------------------------------------------


def _shift(sample: Sample, offset: float, index: int, origin: Mapping[str, Any]) -> Sample:
    extra = dict(sample.extra)
    extra["origin"] = dict(origin)
    if offset == 0.0:
        return dataclasses.replace(sample, index=index, extra=extra)
    return dataclasses.replace(
        sample,
        index=index,
        intended_start=sample.intended_start + offset,
        start=sample.start + offset,
        end=sample.end + offset,
        attempts=tuple(
            Attempt(
                outcome=a.outcome,
                start=a.start + offset,
                end=a.end + offset,
                status=a.status,
                error_code=a.error_code,
            )
            for a in sample.attempts
        ),
        extra=extra,
    )


def _span(result: LoadResult, offset: float) -> tuple[float, float]:
    """The measured interval of one run on the merged clock."""
    begin = min(s.intended_start for s in result.samples) if result.samples else 0.0
    end = max([begin + result.wall_time_s, *(s.end for s in result.samples)])
    return begin + offset, end + offset


def _union_length(intervals: Sequence[tuple[float, float]]) -> float:
    total = 0.0
    current: tuple[float, float] | None = None
    for begin, end in sorted(intervals):
        if current is None or begin > current[1]:
            if current is not None:
                total += current[1] - current[0]
            current = (begin, end)
        else:
            current = (current[0], max(current[1], end))
    if current is not None:
        total += current[1] - current[0]
    return total


def _max_in_flight(samples: Sequence[Sample]) -> int:
    events: list[tuple[float, int]] = []
    for s in samples:
        events.append((s.start, 1))
        events.append((s.end, -1))
    events.sort(key=lambda e: (e[0], e[1]))  # an end at t frees the slot before a start at t
    best = current = 0
    for _, delta in events:
        current += delta
        best = max(best, current)
    return best


def merge(*results: LoadResult, label: str = "aggregate") -> LoadResult:
    """One result holding every sample of ``results`` (xdist workers, the session aggregate).

    * Samples are concatenated in argument order and **re-indexed** 0..n-1; where each came
      from is kept in ``sample.extra["origin"] = {"label": ..., "index": ...}``.
    * Times move onto one clock: each run's sample times are relative to its own start, so
      they are shifted by ``started_at - min(started_at)`` (divided by the run's
      ``config["time_scale"]`` when its times are simulated seconds); ``started_at`` is the
      earliest.
    * ``wall_time_s`` is the length of the union of the runs' measured intervals: overlapping
      runs (parallel xdist workers) count once, idle gaps between runs do not count, so
      ``throughput`` is images per busy second.
    * ``workers``, ``planned``, ``late_starts`` are summed; ``rate`` is the sum when every run
      was open loop, else None; ``mode`` is the common mode or ``"mixed"``; ``interrupted``
      and ``deadline_hit`` if any run was; ``max_in_flight`` is recomputed from the merged
      samples when they overlap in time (else the largest of the runs); the self-check keeps
      the worst of each figure; ``config`` lists the merged labels.
    """
    if not results:
        raise ValueError("merge needs at least one LoadResult")
    t0 = min(r.started_at for r in results)
    samples: list[Sample] = []
    warmup: list[Sample] = []
    spans: list[tuple[float, float]] = []
    for run_no, r in enumerate(results):
        # Sample times of a run against the scaled simulator are in simulated seconds
        # (config["time_scale"] < 1, see timescale.py): move the run's start into that unit.
        offset = (r.started_at - t0) / float(r.config.get("time_scale", 1.0))
        for s in r.samples:
            origin = {"label": r.label, "run": run_no, "index": s.index}
            samples.append(_shift(s, offset, len(samples), origin))
        for s in r.warmup_samples:
            origin = {"label": r.label, "run": run_no, "index": s.index}
            warmup.append(_shift(s, offset, len(warmup), origin))
        spans.append(_span(r, offset))
    modes = {r.mode for r in results}
    checks = [r.selfcheck for r in results if r.selfcheck is not None]
    selfcheck = None
    if checks:
        notes = [c.note for c in checks if c.note]
        selfcheck = SelfCheck(
            cpu_utilisation=max(c.cpu_utilisation for c in checks),
            lag_p99_s=max(c.lag_p99_s for c in checks),
            lag_max_s=max(c.lag_max_s for c in checks),
            client_bound=any(c.client_bound for c in checks),
            note="; ".join(notes) if notes else None,
        )
    open_rates = [r.rate for r in results if r.mode == "open" and r.rate is not None]
    return LoadResult(
        samples=samples,
        mode=modes.pop() if len(modes) == 1 else "mixed",
        workers=sum(r.workers for r in results),
        rate=math.fsum(open_rates) if len(open_rates) == len(results) else None,
        planned=sum(r.planned for r in results),
        wall_time_s=_union_length(spans),
        started_at=t0,
        warmup_samples=warmup,
        interrupted=any(r.interrupted for r in results),
        deadline_hit=any(r.deadline_hit for r in results),
        label=label,
        config={"merged_from": [r.label for r in results]},
        selfcheck=selfcheck,
        max_in_flight=max(
            max(r.max_in_flight for r in results),
            _max_in_flight(samples) if len(results) > 1 else 0,
        ),
        late_starts=sum(r.late_starts for r in results),
    )
