"""pytest-qwenperf: performance gates for a Qwen-Image text-to-image service in CI.

The library works without pytest::

    from pytest_qwenperf import LoadConfig, run_load

    result = run_load(LoadConfig(url="http://127.0.0.1:8000", requests=20, workers=4))
    print(result.p95, result.success_rate)
"""

from __future__ import annotations

from pytest_qwenperf._version import __version__
from pytest_qwenperf.engine.config import LoadConfig
from pytest_qwenperf.engine.runner import run_load
from pytest_qwenperf.metrics.result import LoadResult, SelfCheck
from pytest_qwenperf.metrics.sample import Attempt, Outcome, Sample

__all__ = [
    "Attempt",
    "LoadConfig",
    "LoadResult",
    "Outcome",
    "Sample",
    "SelfCheck",
    "__version__",
    "run_load",
]
