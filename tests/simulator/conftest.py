"""Simulator tests: real HTTP on 127.0.0.1; every simulator a test starts is stopped by it."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest
import requests

from pytest_qwenperf.simulator import Simulator

#: small enough that a healthy 1328*1328 generation takes ~25 ms
FAST = 0.001

MakeSim = Callable[..., Simulator]


@pytest.fixture
def make_sim() -> Iterator[MakeSim]:
    """Start simulators with ``make_sim(profile, **overrides)``; all are stopped at teardown,
    and no simulator thread may outlive the test."""
    before = set(threading.enumerate())
    started: list[Simulator] = []

    def make(profile: str = "healthy", **overrides: Any) -> Simulator:
        overrides.setdefault("time_scale", FAST)
        overrides.setdefault("seed", 1)
        sim = Simulator(profile, **overrides).start()
        started.append(sim)
        return sim

    yield make
    for sim in started:
        sim.stop()
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline:
        left = [
            t
            for t in threading.enumerate()
            if t not in before and t.name.startswith("qwenperf-sim")
        ]
        if not left:
            break
        time.sleep(0.02)
    assert not left, f"simulator threads left running: {[t.name for t in left]}"


@pytest.fixture
def sim(make_sim: MakeSim) -> Simulator:
    return make_sim()


@pytest.fixture
def http() -> Iterator[requests.Session]:
    with requests.Session() as session:
        yield session


@pytest.fixture
def dashscope_base(sim: Simulator) -> Iterator[str]:
    """Point the dashscope SDK at ``sim`` by its documented setting, restore afterwards."""
    yield from _point_dashscope(sim)


def _point_dashscope(sim: Simulator) -> Iterator[str]:
    import dashscope

    previous = dashscope.base_http_api_url
    dashscope.base_http_api_url = sim.url + "/api/v1"
    try:
        yield dashscope.base_http_api_url
    finally:
        dashscope.base_http_api_url = previous
