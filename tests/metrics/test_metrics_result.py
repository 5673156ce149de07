"""LoadResult: every metric by the design's definitions, merge, and the lossless round trip."""

from __future__ import annotations

import dataclasses
import json
import math
import time

import numpy as np
import pytest
from qp_factory import make_result, make_sample

from pytest_qwenperf.metrics.merge import merge
from pytest_qwenperf.metrics.result import (
    METRIC_NAMES,
    RATE_OUTCOMES,
    LoadResult,
    SelfCheck,
)
from pytest_qwenperf.metrics.sample import Outcome

MIXED = [Outcome.OK] * 30 + [
    Outcome.TIMEOUT,
    Outcome.TIMEOUT,
    Outcome.HTTP_5XX,
    Outcome.HTTP_4XX,
    Outcome.THROTTLED,
    Outcome.THROTTLED,
    Outcome.CONNECTION_ERROR,
    Outcome.PROTOCOL_ERROR,
    Outcome.INVALID_RESPONSE,
    Outcome.TASK_FAILED,
]


def _mixed() -> LoadResult:
    rng = np.random.default_rng(11)
    latencies = rng.lognormal(2.3, 0.3, size=len(MIXED)).tolist()
    return make_result(latencies, MIXED, wall_time_s=20.0)


def test_counts_and_rates() -> None:
    r = _mixed()
    assert r.n == 40
    assert r.ok_count == 30
    assert r.count(Outcome.TIMEOUT) == 2
    assert r.count("throttled") == 2
    assert r.counts()["task_failed"] == 1
    assert sum(r.counts().values()) == 40
    assert r.success_rate == 30 / 40
    assert r.timeout_rate == 2 / 40
    assert r.error_5xx_rate == 1 / 40
    assert r.error_4xx_rate == 1 / 40
    assert r.throttled_rate == 2 / 40
    assert r.error_rate == 10 / 40
    assert r.throughput == 30 / 20.0
    for name in RATE_OUTCOMES:
        count = r.metric_count(name)
        assert count is not None
        assert r.metric(name) == count / r.n
    assert r.metric_count("p95") is None
    with pytest.raises(KeyError, match="unknown metric"):
        r.metric_count("p96")


def test_percentiles_count_failures_as_infinite() -> None:
    r = _mixed()
    all_lat = np.array([s.latency if s.ok else np.inf for s in r.samples])
    ok_lat = np.array([s.latency for s in r.samples if s.ok])
    assert list(r.latencies()) == sorted(all_lat.tolist())
    assert list(r.ok_latencies()) == sorted(ok_lat.tolist())
    for name, p in [("p50", 0.5), ("p90", 0.9), ("p95", 0.95), ("p99", 0.99), ("max", 1.0)]:
        assert getattr(r, name) == np.quantile(all_lat, p, method="inverted_cdf")
        assert getattr(r, "ok_" + name) == np.quantile(ok_lat, p, method="inverted_cdf")
    assert r.p95 == math.inf  # 25% failed
    assert r.p50 is not None
    assert math.isfinite(r.p50)
    assert r.mean == pytest.approx(float(np.mean(ok_lat)))


def test_metrics_has_exactly_the_gate_metric_names() -> None:
    r = _mixed()
    metrics = r.metrics()
    assert tuple(metrics) == METRIC_NAMES
    for name in METRIC_NAMES:
        assert metrics[name] == r.metric(name)
    with pytest.raises(KeyError):
        r.metric("latency")


def test_undefined_values_are_none() -> None:
    empty = make_result([])
    assert all(value is None for value in empty.metrics().values())
    assert empty.achieved_concurrency is None
    assert empty.first_attempt_rates() is None
    assert empty.warmup_summary() is None
    no_success = make_result([1.0, 2.0], [Outcome.TIMEOUT, Outcome.HTTP_5XX])
    assert no_success.ok_p95 is None
    assert no_success.mean is None
    assert no_success.p50 == math.inf
    assert no_success.success_rate == 0.0
    assert no_success.throughput == 0.0
    no_time = make_result([1.0], wall_time_s=0.0)
    assert no_time.throughput is None


def test_first_attempt_rates_when_retries_happened() -> None:
    samples = [
        make_sample(0, 1.0, attempts=[Outcome.THROTTLED, Outcome.OK]),
        make_sample(1, 1.0, attempts=[Outcome.HTTP_5XX, Outcome.HTTP_5XX, Outcome.OK]),
        make_sample(2, 1.0, attempts=[Outcome.OK]),
        make_sample(3, 1.0, Outcome.TIMEOUT, attempts=[Outcome.TIMEOUT]),
    ]
    r = LoadResult(samples, "closed", 2, None, 4, 5.0, 0.0)
    first = r.first_attempt_rates()
    assert first is not None
    assert first["n"] == 4
    assert first["attempts"] == 7
    assert first["retried"] == 2
    assert first["success_rate"] == 0.25
    assert first["throttled_rate"] == 0.25
    assert first["error_5xx_rate"] == 0.25
    assert first["timeout_rate"] == 0.25
    assert first["error_rate"] == 0.75
    assert r.success_rate == 0.75
    assert r.retried == 2
    plain = make_result([1.0, 2.0])
    assert plain.first_attempt_rates() is None


def test_client_queue_service_times_warmup_and_concurrency() -> None:
    samples = [
        make_sample(i, 2.0, queue=0.5 * (i % 2), service_queue_s=0.1 * i, service_generation_s=1.0)
        for i in range(10)
    ]
    warmup = [
        make_sample(0, 9.0, warmup=True, intended_start=-20.0),
        make_sample(1, 3.0, warmup=True, intended_start=-10.0),
        make_sample(2, 30.0, Outcome.TIMEOUT, warmup=True, intended_start=-5.0),
    ]
    r = LoadResult(samples, "open", 4, 1.0, 10, 11.0, 0.0, warmup_samples=warmup, late_starts=5)
    queue = r.client_queue()
    assert queue is not None
    assert queue["n"] == 10
    assert queue["max"] == 0.5
    assert queue["late_starts"] == 5
    assert queue["mean"] == pytest.approx(0.25)
    service_queue = r.service_queue()
    assert service_queue is not None
    assert service_queue["max"] == pytest.approx(0.9)
    assert service_queue["p50"] == pytest.approx(0.4)
    generation = r.service_generation()
    assert generation is not None
    assert generation["mean"] == 1.0
    wu = r.warmup_summary()
    assert wu is not None
    assert wu["n"] == 3
    assert wu["ok_count"] == 2
    assert wu["first_latency"] == 9.0
    assert wu["latency"]["max"] == 9.0
    assert wu["counts"] == {"ok": 2, "timeout": 1}
    # in flight: 2 s minus 0.5 s queue for half of them, over 11 s
    assert r.achieved_concurrency == pytest.approx((5 * 2.0 + 5 * 1.5) / 11.0)
    closed = make_result([1.0])
    assert closed.client_queue() is None
    assert closed.service_queue() is None
    assert closed.service_generation() is None


def test_derived_values_are_cached() -> None:
    r = _mixed()
    assert r.latencies() is r.latencies()
    assert r.ok_latencies() is r.ok_latencies()


def test_hundred_thousand_samples_are_cheap() -> None:
    rng = np.random.default_rng(5)
    latencies = rng.lognormal(2.0, 0.5, size=100_000).tolist()
    outcomes = [Outcome.OK if x > 0.01 else Outcome.TIMEOUT for x in rng.random(100_000)]
    r = make_result(latencies, outcomes, wall_time_s=1000.0)
    began = time.perf_counter()
    metrics = r.metrics()
    for _ in range(20):
        r.metrics()
    elapsed = time.perf_counter() - began
    assert metrics["p95"] is not None
    assert elapsed < 3.0


# ------------------------------------------------------------------------------------------
# to_dict / from_dict
# ------------------------------------------------------------------------------------------


def _rich() -> LoadResult:
    samples = [
        make_sample(0, 1.5, attempts=[Outcome.THROTTLED, Outcome.OK], service_queue_s=0.2),
        make_sample(1, 30.0, Outcome.TIMEOUT, attempts=[Outcome.TIMEOUT]),
        make_sample(2, 2.25, queue=0.125, service_generation_s=1.75),
        dataclasses.replace(
            make_sample(3, 0.5, Outcome.HTTP_5XX),
            status=503,
            error_code="InternalError",
            error_message="boom",
            extra={"task_id": "t-1"},
        ),
    ]
    return LoadResult(
        samples=samples,
        mode="open",
        workers=8,
        rate=1.5,
        planned=5,
        wall_time_s=33.0,
        started_at=1_700_000_123.25,
        warmup_samples=[make_sample(0, 8.0, warmup=True, intended_start=-9.0)],
        interrupted=True,
        deadline_hit=False,
        label="test_square[run 2]",
        config={"url": "http://127.0.0.1:1", "timeout": 30.0, "api_key_set": False},
        selfcheck=SelfCheck(0.4, 0.002, 0.01, False, note="ok"),
        max_in_flight=3,
        late_starts=1,
    )


def _same_metrics(a: LoadResult, b: LoadResult) -> None:
    assert a.metrics() == b.metrics()
    for name in RATE_OUTCOMES:
        assert a.metric_count(name) == b.metric_count(name)
    assert a.first_attempt_rates() == b.first_attempt_rates()
    assert a.client_queue() == b.client_queue()
    assert a.warmup_summary() == b.warmup_summary()
    assert a.achieved_concurrency == b.achieved_concurrency


def test_round_trip_is_lossless_through_strict_json() -> None:
    r = _rich()
    text = json.dumps(r.to_dict(), allow_nan=False)
    back = LoadResult.from_dict(json.loads(text))
    assert back == r  # every field, every sample
    assert back.samples == r.samples
    _same_metrics(back, r)


def test_to_dict_layout_and_infinity() -> None:
    data = _rich().to_dict()
    assert data["format"] == "pytest-qwenperf/load-result"
    assert data["format_version"] == 1
    assert tuple(data["metrics"]) == METRIC_NAMES
    assert data["metrics"]["p95"] == "inf"  # 2 of 4 produced no image
    assert data["metrics"]["ok_p95"] == pytest.approx(2.25)
    assert data["counts"]["timeout"] == 1
    assert data["metric_counts"]["timeout_rate"] == 1
    assert data["selfcheck"]["client_bound"] is False
    empty = make_result([]).to_dict()
    assert empty["metrics"]["p95"] is None  # undefined is null, infinite is "inf"
    json.dumps(empty, allow_nan=False)


def test_summary_only_dict_cannot_be_read_back() -> None:
    data = _rich().to_dict(include_samples=False)
    assert "samples" not in data
    json.dumps(data, allow_nan=False)
    with pytest.raises(ValueError, match="include_samples=True"):
        LoadResult.from_dict(data)
    with pytest.raises(ValueError, match="format_version"):
        LoadResult.from_dict({**_rich().to_dict(), "format_version": 99})


def test_round_trip_of_random_results() -> None:
    rng = np.random.default_rng(99)
    outcomes = list(Outcome)
    for n in [0, 1, 10, 59, 300]:
        latencies = rng.lognormal(1.0, 1.0, size=n).tolist()
        picks = [outcomes[int(i)] for i in rng.integers(0, len(outcomes), size=n)]
        r = make_result(latencies, picks, mode="open" if n % 2 else "closed")
        back = LoadResult.from_dict(json.loads(json.dumps(r.to_dict(), allow_nan=False)))
        assert back == r
        _same_metrics(back, r)


# ------------------------------------------------------------------------------------------
# merge
# ------------------------------------------------------------------------------------------


def test_merge_concatenates_reindexes_and_shifts_onto_one_clock() -> None:
    a = make_result([1.0, 2.0], label="a", started_at=1000.0, wall_time_s=3.0)
    b = make_result(
        [4.0, 1.0, 1.0],
        [Outcome.OK, Outcome.TIMEOUT, Outcome.OK],
        label="b",
        started_at=1001.0,
        wall_time_s=4.0,
        interrupted=True,
    )
    m = merge(a, b)
    assert m.n == 5
    assert [s.index for s in m.samples] == [0, 1, 2, 3, 4]
    assert m.samples[2].extra["origin"] == {"label": "b", "run": 1, "index": 0}
    assert m.samples[2].intended_start == 1.0  # b's 0.0, one second later than a
    assert m.samples[2].latency == 4.0
    assert m.started_at == 1000.0
    assert m.workers == a.workers + b.workers
    assert m.planned == 5
    assert m.interrupted
    assert m.label == "aggregate"
    # a covers [0, 3], b covers [1, 5]: the union is 5 s
    assert m.wall_time_s == pytest.approx(5.0)
    assert m.ok_count == 4
    assert sorted(m.latencies()) == sorted([*a.latencies(), *b.latencies()])
    assert m.max_in_flight >= 2


def test_merge_excludes_idle_gaps_and_keeps_selfcheck_worst() -> None:
    check_a = SelfCheck(0.2, 0.001, 0.002, False)
    check_b = SelfCheck(0.9, 0.004, 0.050, True, note="client bound")
    a = make_result([1.0], started_at=0.0, wall_time_s=1.0, selfcheck=check_a)
    b = make_result([1.0], started_at=100.0, wall_time_s=1.0, selfcheck=check_b)
    m = merge(a, b, label="session")
    assert m.wall_time_s == pytest.approx(2.0)
    assert m.throughput == pytest.approx(1.0)
    assert m.selfcheck == SelfCheck(0.9, 0.004, 0.050, True, note="client bound")
    assert m.label == "session"
    assert merge(a).n == 1
    with pytest.raises(ValueError, match="at least one"):
        merge()


def test_merge_of_open_and_closed_is_mixed() -> None:
    a = make_result([1.0], mode="open")
    b = make_result([1.0], mode="closed")
    m = merge(a, b)
    assert m.mode == "mixed"
    assert m.rate is None
    both_open = merge(a, make_result([1.0], mode="open"))
    assert both_open.rate == 4.0
    json.dumps(m.to_dict(), allow_nan=False)
