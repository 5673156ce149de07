"""The pytest layer: options, ini keys, markers, the ``qwenperf`` fixture and hooks.

Only this module imports pytest; everything it calls is plain library code.
"""

from __future__ import annotations

import pytest

QWENPERF_MARKER = (
    "qwenperf(requests=, workers=, rate=, warmup=, timeout=, retries=, prompts=, size=, api=, "
    "model=, images=): the load one test sends through the qwenperf fixture."
)
SLA_MARKER = (
    "sla(p95='12s', timeout_rate='5%', ...): thresholds that gate every qwenperf run of the "
    "test; metrics p50 p90 p95 p99 max ok_p50..ok_max mean success_rate timeout_rate "
    "error_5xx_rate error_4xx_rate throttled_rate error_rate throughput."
)


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("qwenperf", "Qwen-Image performance gates (pytest-qwenperf)")
    group.addoption(
        "--qwenperf-url",
        dest="qwenperf_url",
        default=None,
        help="Base URL of the service under test (env QWENPERF_URL). Default: the embedded "
        "simulator.",
    )


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", QWENPERF_MARKER)
    config.addinivalue_line("markers", SLA_MARKER)
