"""Retries: off by default; backoff with Retry-After honoured up to a cap; every attempt kept;
latency includes the backoff; never past the deadline; never on a non-retryable outcome."""

from __future__ import annotations

import random
import socket
import threading

import pytest
import qp_servers as srv

from pytest_qwenperf import LoadConfig, Outcome, run_load
from pytest_qwenperf.engine.executor import backoff_delay, parse_retry_after


def fail_first(n: int, status: int, headers: dict[str, str] | None = None) -> srv.Behaviour:
    lock = threading.Lock()
    seen = [0]

    def fn(server: srv.RawServer, req: srv.RawRequest, conn: socket.socket) -> bool:
        with lock:
            seen[0] += 1
            failing = seen[0] <= n
        if failing:
            body = srv.dashscope_error_body("Throttling" if status == 429 else "Busy", "later")
            conn.sendall(srv.http_response(status, body, headers))
            return True
        return srv.ok()(server, req, conn)

    return fn


def test_retries_are_off_by_default() -> None:
    with srv.RawServer(fail_first(1, 429, {"Retry-After": "0"})) as server:
        result = run_load(LoadConfig(url=server.url, requests=1, workers=1))
        assert len(server.requests) == 1
    assert result.samples[0].outcome is Outcome.THROTTLED


def test_retry_after_is_honoured_and_every_attempt_kept() -> None:
    with srv.RawServer(fail_first(2, 429, {"Retry-After": "0.3"})) as server:
        result = run_load(LoadConfig(url=server.url, requests=1, workers=1, retries=3))
        assert len(server.requests) == 3
    (sample,) = result.samples
    assert sample.outcome is Outcome.OK
    assert [a.outcome for a in sample.attempts] == [
        Outcome.THROTTLED,
        Outcome.THROTTLED,
        Outcome.OK,
    ]
    assert [a.status for a in sample.attempts] == [429, 429, 200]
    # Latency is what the user waited, backoff included.
    assert sample.latency >= 0.6
    assert sample.attempts[1].start - sample.attempts[0].end >= 0.29
    assert sample.attempts[0].start == pytest.approx(sample.start)
    assert sample.attempts[-1].end == pytest.approx(sample.end)


def test_retry_after_is_capped() -> None:
    with srv.RawServer(fail_first(1, 503, {"Retry-After": "3600"})) as server:
        result = run_load(
            LoadConfig(url=server.url, requests=1, workers=1, retries=1, retry_after_cap=0.2)
        )
    (sample,) = result.samples
    assert sample.outcome is Outcome.OK
    assert 0.2 <= sample.latency < 2.0


def test_no_retry_past_the_deadline() -> None:
    with srv.RawServer(fail_first(5, 429, {"Retry-After": "5"})) as server:
        result = run_load(LoadConfig(url=server.url, requests=1, workers=1, retries=3, timeout=1))
        assert len(server.requests) == 1
    (sample,) = result.samples
    assert sample.outcome is Outcome.THROTTLED
    assert len(sample.attempts) == 1
    assert sample.latency < 0.5


@pytest.mark.parametrize(
    ("status", "retried"), [(502, True), (504, True), (500, False), (400, False)]
)
def test_only_throttling_gateway_and_connection_errors_are_retried(
    status: int, retried: bool
) -> None:
    with srv.RawServer(fail_first(1, status, {"Retry-After": "0"})) as server:
        result = run_load(LoadConfig(url=server.url, requests=1, workers=1, retries=2))
    (sample,) = result.samples
    assert (sample.outcome is Outcome.OK) is retried
    assert len(sample.attempts) == (2 if retried else 1)


def test_connection_errors_are_retried_with_backoff() -> None:
    lock = threading.Lock()
    seen = [0]

    def reset_once(server: srv.RawServer, req: srv.RawRequest, conn: socket.socket) -> bool:
        with lock:
            seen[0] += 1
            first = seen[0] == 1
        if first:
            return srv.reset(server, req, conn)
        return srv.ok()(server, req, conn)

    with srv.RawServer(reset_once) as server:
        result = run_load(
            LoadConfig(
                url=server.url, requests=1, workers=1, retries=2, retry_backoff_base=0.05, seed=3
            )
        )
    (sample,) = result.samples
    assert [a.outcome for a in sample.attempts] == [Outcome.CONNECTION_ERROR, Outcome.OK]


def test_backoff_is_exponential_with_full_jitter() -> None:
    config = LoadConfig(url="http://127.0.0.1:1", retry_backoff_base=0.5, retry_backoff_cap=3.0)
    rng = random.Random(1)
    for n, ceiling in [(0, 0.5), (1, 1.0), (2, 2.0), (3, 3.0), (8, 3.0)]:
        delays = [backoff_delay(config, n, None, rng) for _ in range(200)]
        assert all(0.0 <= d <= ceiling for d in delays)
        assert max(delays) > 0.8 * ceiling
    assert backoff_delay(config, 0, 7.0, rng) == 7.0
    assert backoff_delay(config, 0, 99.0, rng) == config.retry_after_cap


def test_parse_retry_after() -> None:
    assert parse_retry_after("2") == 2.0
    assert parse_retry_after(" 0.5 ") == 0.5
    assert parse_retry_after("-3") == 0.0
    assert parse_retry_after("nonsense") is None
    assert parse_retry_after(None) is None
    assert parse_retry_after("Wed, 21 Oct 2015 07:28:00 GMT", now_wall=1445412470.0) == 10.0
