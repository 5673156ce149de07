"""Simulated time: running the embedded simulator faster than real time.

The simulator multiplies every time it models by ``time_scale`` (0.01: a 20 s image takes
0.2 s), so a suite whose SLAs are written for the real service (``p95 <= 15s``) can be
rehearsed in seconds. To keep those SLAs meaningful, durations the user configures (timeout,
poll intervals, backoff, run deadline) are shrunk by the same factor before the engine sees
them, a rate is sped up by it, and every measured time is stretched back afterwards: reports
show *simulated seconds*, and say so. With a real URL the scale is 1 and nothing changes.
"""

from __future__ import annotations

import dataclasses

from pytest_qwenperf.engine.config import LoadConfig
from pytest_qwenperf.metrics.result import LoadResult
from pytest_qwenperf.metrics.sample import Attempt, Sample


def config_to_wall(config: LoadConfig, time_scale: float) -> LoadConfig:
    """The engine's (wall-clock) configuration for a run described in simulated time."""
    if time_scale == 1.0:
        return config
    return dataclasses.replace(
        config,
        timeout=config.timeout * time_scale,
        rate=None if config.rate is None else config.rate / time_scale,
        run_deadline=None if config.run_deadline is None else config.run_deadline * time_scale,
        poll_intervals=tuple(p * time_scale for p in config.poll_intervals),
        retry_backoff_base=config.retry_backoff_base * time_scale,
        retry_backoff_cap=config.retry_backoff_cap * time_scale,
        retry_after_cap=config.retry_after_cap * time_scale,
    )


def _scale(value: float | None, factor: float) -> float | None:
    return None if value is None else value * factor


def _sample_to_simulated(sample: Sample, factor: float) -> Sample:
    return dataclasses.replace(
        sample,
        intended_start=sample.intended_start * factor,
        start=sample.start * factor,
        end=sample.end * factor,
        attempts=tuple(
            Attempt(
                outcome=a.outcome,
                start=a.start * factor,
                end=a.end * factor,
                status=a.status,
                error_code=a.error_code,
            )
            for a in sample.attempts
        ),
        service_queue_s=_scale(sample.service_queue_s, factor),
        service_generation_s=_scale(sample.service_generation_s, factor),
    )


def result_to_simulated(
    result: LoadResult, time_scale: float, simulated_config: LoadConfig
) -> LoadResult:
    """Stretch a result measured at ``time_scale`` back into simulated seconds.

    The client self-check stays in wall-clock seconds: it describes the load generator.
    """
    config = dict(result.config)
    config.update(simulated_config.describe())
    config["time_scale"] = time_scale
    if time_scale == 1.0:
        return dataclasses.replace(result, config=config)
    factor = 1.0 / time_scale
    return dataclasses.replace(
        result,
        samples=[_sample_to_simulated(s, factor) for s in result.samples],
        warmup_samples=[_sample_to_simulated(s, factor) for s in result.warmup_samples],
        wall_time_s=result.wall_time_s * factor,
        rate=simulated_config.rate,
        config=config,
    )
