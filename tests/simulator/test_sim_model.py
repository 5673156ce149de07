"""The service model: exact timing of the fixed profile, megapixel scaling, FIFO slots,
throttling, profiles that differ as documented, live reconfiguration, reproducible draws."""

from __future__ import annotations

import statistics
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
import requests
from simtest_util import t2i_body

from pytest_qwenperf.simulator import PROFILES, SimConfig, Simulator
from pytest_qwenperf.simulator.model import GpuPool, Throttled

SYNC = "/api/v1/services/aigc/multimodal-generation/generation"


def _burst(sim: Simulator, count: int, body: dict[str, Any] | None = None) -> list[int]:
    """``count`` concurrent requests, each on its own connection; their status codes."""

    def one(_: int) -> int:
        with requests.Session() as session:
            return session.post(sim.url + SYNC, json=body or t2i_body(), timeout=60).status_code

    with ThreadPoolExecutor(max_workers=count) as pool:
        return list(pool.map(one, range(count)))


def test_fixed_profile_timing_by_server_clock(make_sim: Any) -> None:
    """50 concurrent 200 ms generations at time_scale 1: the model draws exactly 200 ms each,
    the measured times are never short, and the generations run side by side. No upper
    bound on a measured time is asserted: this simulator shares the GIL with the 50 client
    threads, and on a loaded CI core its timers fire late by up to several hundred ms
    (seen: a median of 0.77 s). Timing precision is bench/sim_timing.py's business."""
    sim: Simulator = make_sim("fixed", time_scale=1.0, median=0.2)
    assert _burst(sim, 50) == [200] * 50
    records = sim.stats()
    assert len(records) == 50
    for record in records:
        assert record["drawn_generation_s"] == pytest.approx(0.2, abs=1e-9), record
        assert record["generation_s"] >= 0.195, record  # a timer never fires early
        assert record["server_s"] >= record["generation_s"], record
    # unlimited slots: the generations overlap (a single GPU would run them one by one)
    assert _max_concurrency(records) > 1


def test_generation_time_grows_with_megapixels(make_sim: Any, http: requests.Session) -> None:
    sim: Simulator = make_sim("fixed", mp_exponent=1.0, median=10.0, time_scale=0.01)
    for size in ("1328*1328", "928*1664"):
        http.post(sim.url + SYNC, json=t2i_body(size=size), timeout=10)
    big, small = (r["generation_s"] for r in sim.stats())
    assert big / small == _approx(1328 * 1328 / (928 * 1664), 0.1)


def _approx(value: float, rel: float) -> Any:
    return pytest.approx(value, rel=rel)


def test_fifo_slots_and_queue_wait(make_sim: Any) -> None:
    sim: Simulator = make_sim("fixed", slots=2, max_queue=-1, median=0.1, time_scale=1.0)
    assert _burst(sim, 6) == [200] * 6
    records = sorted(sim.stats(), key=lambda r: r["gen_start"])
    # a queued request starts the moment an earlier generation ends (slot hand-over)
    ends = [r["gen_end"] for r in records]
    for record in records[2:]:
        if record["queue_wait_s"] > 0.01:
            assert min(abs(record["gen_start"] - end) for end in ends) < 0.01
    assert sum(1 for r in records if r["queue_wait_s"] > 0.05) >= 2
    assert _max_concurrency(records) == 2


def _max_concurrency(records: list[dict[str, Any]]) -> int:
    events = sorted(
        [(r["gen_start"], 1) for r in records] + [(r["gen_end"], -1) for r in records],
        key=lambda e: (e[0], e[1]),  # an end before a start at the same instant
    )
    running = peak = 0
    for _, step in events:
        running += step
        peak = max(peak, running)
    return peak


def test_gpu_pool_is_fifo_and_reconfigurable() -> None:
    pool = GpuPool(slots=1, max_queue=-1)
    order: list[int] = []
    first = pool.enter(lambda: order.append(-1))
    tickets = [pool.enter(lambda n=n: order.append(n)) for n in range(5)]  # type: ignore[misc]
    assert first.granted
    assert (order, pool.queued) == ([-1], 5)
    assert pool.withdraw(tickets[2])  # a cancelled task leaves the queue
    pool.release()  # the slot goes to the head of the queue, synchronously
    assert order == [-1, 0]
    pool.reconfigure(slots=4, max_queue=-1)  # three more slots: 1, 3, 4
    assert order == [-1, 0, 1, 3, 4]
    assert (pool.running, pool.queued) == (4, 0)
    assert not pool.withdraw(tickets[0])  # already running: cannot be withdrawn
    pool.reconfigure(slots=1, max_queue=0)
    with pytest.raises(Throttled):
        pool.enter(lambda: None)


def test_full_queue_throttles(make_sim: Any) -> None:
    sim: Simulator = make_sim("overloaded", slots=2, max_queue=2, time_scale=0.02)
    codes = _burst(sim, 8)
    assert sorted(codes) == [200] * 4 + [429] * 4
    throttled = [r for r in sim.stats() if r["outcome"] == "throttled"]
    assert all(r["gen_start"] is None for r in throttled)


def test_degraded_is_clearly_slower_than_healthy(make_sim: Any) -> None:
    def median_s(profile: str) -> float:
        sim: Simulator = make_sim(profile, time_scale=0.002, slots=0)
        _burst(sim, 12)
        # the drawn times: measured ones of ~40 ms would carry timer noise of the same size
        return statistics.median(r["drawn_generation_s"] for r in sim.stats())

    assert median_s("degraded") / median_s("healthy") > 1.8


def test_profiles_are_what_they_say() -> None:
    healthy, fixed = PROFILES["healthy"], PROFILES["fixed"]
    # ~20 s for a 1.3 MP image at time_scale 1
    assert 17.0 < healthy.median * 1.3**healthy.mp_exponent < 23.0
    assert (fixed.sigma, fixed.slots, fixed.mp_exponent) == (0.0, 0, 0.0)
    assert PROFILES["degraded"].median >= 2.5 * healthy.median
    flaky = PROFILES["flaky"]
    assert flaky.error_5xx_rate > 0
    assert flaky.hang_rate > 0
    assert PROFILES["overloaded"].slots < healthy.slots
    assert PROFILES["overloaded"].max_queue < healthy.max_queue
    assert SimConfig().to_dict()["api_key"] is None


def test_live_reconfigure_mid_run(make_sim: Any, http: requests.Session) -> None:
    sim: Simulator = make_sim()
    codes = [http.post(sim.url + SYNC, json=t2i_body(), timeout=10).status_code for _ in range(3)]
    sim.configure(error_5xx_rate=1.0)
    codes += [http.post(sim.url + SYNC, json=t2i_body(), timeout=10).status_code for _ in range(3)]
    http.post(sim.url + "/_sim/config", json={"error_5xx_rate": 0.0}, timeout=10)
    codes += [http.post(sim.url + SYNC, json=t2i_body(), timeout=10).status_code]
    assert codes == [200, 200, 200, 500, 500, 500, 200]


def test_seeded_generation_times_reproduce(make_sim: Any) -> None:
    def times(seed: int) -> list[float]:
        sim: Simulator = make_sim(time_scale=0.005, seed=seed, sigma=0.8)
        with requests.Session() as session:
            for _ in range(6):
                session.post(sim.url + SYNC, json=t2i_body(), timeout=10)
        records = sim.stats()
        for record in records:  # what was measured is what was drawn, never less
            assert record["generation_s"] >= record["drawn_generation_s"] - 0.005, record
        return [r["drawn_generation_s"] for r in records]

    first, again, other = times(3), times(3), times(4)
    # the draws are identical for one seed and far apart for another (sigma 0.8); the
    # measured times would add timer noise (a few ms, more on a loaded core)
    assert len(first) == 6
    assert first == again
    assert any(abs(a - b) > 0.025 for a, b in zip(first, other, strict=True))
