"""Build LoadResults from plain lists of latencies and outcomes (test helper)."""

from __future__ import annotations

from collections.abc import Sequence

from pytest_qwenperf.metrics.result import LoadResult
from pytest_qwenperf.metrics.sample import Attempt, Outcome, Sample


def make_sample(
    index: int,
    latency: float,
    outcome: Outcome = Outcome.OK,
    *,
    intended_start: float | None = None,
    queue: float = 0.0,
    attempts: Sequence[Outcome] = (),
    service_queue_s: float | None = None,
    service_generation_s: float | None = None,
    warmup: bool = False,
) -> Sample:
    start_at = float(index) if intended_start is None else intended_start
    end = start_at + latency
    attempt_objs = tuple(
        Attempt(outcome=o, start=start_at + queue, end=end, status=None) for o in attempts
    )
    return Sample(
        index=index,
        prompt=f"prompt {index}",
        intended_start=start_at,
        start=start_at + queue,
        end=end,
        outcome=outcome,
        status=200 if outcome is Outcome.OK else None,
        attempts=attempt_objs,
        image_urls=("http://127.0.0.1/img.png",) if outcome is Outcome.OK else (),
        service_queue_s=service_queue_s,
        service_generation_s=service_generation_s,
        warmup=warmup,
    )


def make_result(
    latencies: Sequence[float],
    outcomes: Sequence[Outcome] | None = None,
    *,
    wall_time_s: float | None = None,
    mode: str = "closed",
    label: str = "test_run",
    started_at: float = 1_700_000_000.0,
    **kwargs: object,
) -> LoadResult:
    outcomes = list(outcomes) if outcomes is not None else [Outcome.OK] * len(latencies)
    samples = [
        make_sample(i, lat, o) for i, (lat, o) in enumerate(zip(latencies, outcomes, strict=True))
    ]
    if wall_time_s is None:
        wall_time_s = max((s.end for s in samples), default=0.0)
    return LoadResult(
        samples=samples,
        mode=mode,
        workers=4,
        rate=2.0 if mode == "open" else None,
        planned=len(samples),
        wall_time_s=wall_time_s,
        started_at=started_at,
        label=label,
        **kwargs,  # type: ignore[arg-type]
    )
