"""A server that accepts and never answers, or answers one byte per second, cannot hold a
session longer than the per-request deadline allows: total < timeout * waves + slack."""

from __future__ import annotations

import json
import math
import time

import pytest
from hardening_util import HangingServer

TIMEOUT_S = 1.0
REQUESTS = 6
WORKERS = 3
#: pytest start-up, the report, and a noisy shared machine
SLACK_S = 10.0

SUITE = f"""
import pytest

@pytest.mark.qwenperf(requests={REQUESTS}, workers={WORKERS})
@pytest.mark.sla(timeout_rate="0%")
def test_against_a_hanging_server(qwenperf):
    qwenperf.run()
"""


@pytest.mark.parametrize(
    "drip_s", [pytest.param(None, id="never-answers"), pytest.param(1.0, id="one-byte-per-s")]
)
def test_hanging_server_cannot_hold_the_session(
    pytester: pytest.Pytester, drip_s: float | None
) -> None:
    pytester.makepyfile(test_hang=SUITE)
    with HangingServer(drip_s) as server:
        began = time.monotonic()
        result = pytester.runpytest_subprocess(
            f"--qwenperf-url={server.url}/api/v1",
            f"--qwenperf-timeout={TIMEOUT_S:g}s",
            "--qwenperf-json=perf.json",
            "-p",
            "no:cacheprovider",
            timeout=60,
        )
        took = time.monotonic() - began
        accepted = server.accepted
    waves = math.ceil(REQUESTS / WORKERS)
    print(f"{server.url} drip={drip_s}: session {took:.2f} s for {waves} waves of {TIMEOUT_S} s")
    assert took < TIMEOUT_S * waves + SLACK_S, took
    result.assert_outcomes(failed=1)  # the timeout_rate gate fails it
    result.stdout.fnmatch_lines(["*SLA breached: timeout_rate = 100.0%*"])
    run = json.loads((pytester.path / "perf.json").read_text("utf-8"))["runs"][0]["result"]
    samples = run["samples"]
    assert len(samples) == REQUESTS
    assert {s["outcome"] for s in samples} == {"timeout"}
    for sample in samples:  # each ended at its own deadline, not later
        assert TIMEOUT_S * 0.95 <= sample["latency"] <= TIMEOUT_S + 0.5, sample
    assert accepted >= WORKERS
