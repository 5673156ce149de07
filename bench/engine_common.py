"""Shared helpers of the engine benchmarks: the simulator in its own process, ground truth.

The simulator runs as ``qwenperf sim`` in a subprocess so it does not share the client's GIL
(an in-process simulator would inflate the client overhead being measured).
"""

from __future__ import annotations

import math
import platform
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any

import requests

from pytest_qwenperf.metrics import stats
from pytest_qwenperf.simproc import SimulatorProcess


@contextmanager
def simulator_process(*args: str) -> Iterator[str]:
    """Start ``qwenperf sim --port 0 <args>`` on 127.0.0.1, yield its URL, stop it."""
    simulator = SimulatorProcess(profile="healthy", time_scale=1.0, extra_args=args)
    try:
        yield simulator.start()
    finally:
        simulator.stop()


def ground_truth(url: str) -> dict[str, dict[str, Any]]:
    response = requests.get(url + "/_sim/stats", timeout=60)
    response.raise_for_status()
    return {record["request_id"]: record for record in response.json()}


def reset_ground_truth(url: str) -> None:
    requests.post(url + "/_sim/reset", timeout=30).raise_for_status()


def nearest_rank(values: Sequence[float], p: float) -> float:
    """Nearest rank: the project's one definition (pytest_qwenperf.metrics.stats)."""
    value = stats.percentile(sorted(values), p)
    return math.nan if value is None else value


def machine() -> str:
    import os

    return (
        f"{platform.python_implementation()} {platform.python_version()}, "
        f"{os.cpu_count()} CPUs, {platform.system()} {platform.release()}"
    )
