"""Schedulers: closed vs open loop, arrivals, warm-up, run deadline, late starts, self-check."""

from __future__ import annotations

import json
import socket
import threading

import pytest
import qp_servers as srv

from pytest_qwenperf import LoadConfig, Outcome, run_load
from pytest_qwenperf.engine.scheduler import arrival_offsets
from pytest_qwenperf.engine.selfcheck import evaluate


def test_closed_loop_keeps_workers_busy_back_to_back() -> None:
    with srv.RawServer(srv.ok(0.05)) as server:
        result = run_load(LoadConfig(url=server.url, requests=12, workers=3))
    assert [s.index for s in result.samples] == list(range(12))
    assert result.max_in_flight == 3
    assert result.planned == 12
    assert not result.interrupted
    assert not result.deadline_hit
    # Closed loop: the intended start is when the worker became free; no client queueing.
    # A queue would delay most samples by 50 ms+; a thread wake-up on a loaded core takes a
    # few ms, and once in a while one stalls longer, so one late sample is tolerated.
    assert sum(s.client_queue_s >= 0.04 for s in result.samples) <= 1
    assert 0.15 <= result.wall_time_s < 1.5
    assert result.config["adapter"] == "dashscope"
    assert result.config["endpoint"].endswith(
        "/api/v1/services/aigc/multimodal-generation/generation"
    )


def test_prompts_cycle_by_index() -> None:
    with srv.RawServer(srv.ok()) as server:
        result = run_load(
            LoadConfig(url=server.url, requests=5, workers=2, prompts=("a", "b", "c"))
        )
        sent = sorted(
            json.loads(r.body)["input"]["messages"][0]["content"][-1]["text"]
            for r in server.requests
        )
    assert [s.prompt for s in result.samples] == ["a", "b", "c", "a", "b"]
    assert sent == ["a", "a", "b", "b", "c"]


def test_warmup_runs_first_and_is_kept_apart() -> None:
    with srv.RawServer(srv.ok(0.01)) as server:
        result = run_load(LoadConfig(url=server.url, requests=4, workers=2, warmup=3))
    assert len(result.warmup_samples) == 3
    assert all(s.warmup for s in result.warmup_samples)
    assert not any(s.warmup for s in result.samples)
    assert len(result.samples) == 4
    assert max(s.end for s in result.warmup_samples) <= min(
        s.intended_start for s in result.samples
    )


def test_open_loop_times_from_the_intended_start_and_counts_late_starts() -> None:
    # 1 worker, 20 req/s, 0.2 s per request: most requests must wait for the worker.
    with srv.RawServer(srv.ok(0.2)) as server:
        result = run_load(LoadConfig(url=server.url, requests=5, rate=20, workers=1))
    samples = result.samples
    assert result.mode == "open"
    assert [round(s.intended_start - samples[0].intended_start, 2) for s in samples] == [
        0.0,
        0.05,
        0.1,
        0.15,
        0.2,
    ]
    assert result.late_starts == 4
    assert result.max_in_flight == 1
    assert samples[-1].client_queue_s > 0.5
    for sample in samples:
        assert sample.latency == pytest.approx(
            sample.client_queue_s + (sample.end - sample.start), abs=1e-9
        )
    # Queue time counted: the last request waited ~0.6 s for the worker (no coordinated
    # omission), then took 0.2 s.
    assert samples[-1].latency > 0.7


def test_poisson_arrivals_are_seeded() -> None:
    a = arrival_offsets(1000, 50.0, "poisson", seed=7)
    b = arrival_offsets(1000, 50.0, "poisson", seed=7)
    c = arrival_offsets(1000, 50.0, "poisson", seed=8)
    assert a == b
    assert a != c
    assert a[0] == 0.0
    assert a == sorted(a)
    assert a[-1] / 999 == pytest.approx(1 / 50.0, rel=0.15)  # mean gap ~ 1/rate
    assert arrival_offsets(3, 4.0, "constant", None) == [0.0, 0.25, 0.5]


def test_run_deadline_caps_in_flight_and_skips_the_rest() -> None:
    # 0.4 s responses: the first wave ends at 0.4 s, the second is cut at 0.5 s instead of
    # ending at 0.8 s; an ok(1.5) wave checks the cut with a margin a loaded core cannot eat.
    with srv.RawServer(srv.ok(0.4)) as server:
        result = run_load(
            LoadConfig(url=server.url, requests=20, workers=2, run_deadline=0.5, timeout=10)
        )
    assert result.deadline_hit
    assert 2 <= len(result.samples) <= 6
    assert result.planned == 20
    cut = [s for s in result.samples if s.outcome is Outcome.TIMEOUT]
    assert cut
    assert all(s.extra.get("cut_by_run_deadline") for s in cut)
    with srv.RawServer(srv.ok(1.5)) as server:
        slow = run_load(
            LoadConfig(url=server.url, requests=20, workers=2, run_deadline=0.5, timeout=10)
        )
    assert [s.outcome for s in slow.samples] == [Outcome.TIMEOUT, Outcome.TIMEOUT]
    assert all(s.extra.get("cut_by_run_deadline") for s in slow.samples)
    assert max(s.end for s in slow.samples) < 1.2  # cut at 0.5 s, not ended at 1.5 s


def test_open_loop_run_deadline_stops_dispatching() -> None:
    with srv.RawServer(srv.ok()) as server:
        result = run_load(
            LoadConfig(url=server.url, requests=100, rate=20, workers=2, run_deadline=0.5)
        )
    assert result.deadline_hit
    assert 8 <= len(result.samples) <= 12
    assert all(s.ok for s in result.samples)


def test_async_api_polls_until_done_under_one_deadline() -> None:
    lock = threading.Lock()
    polls: dict[str, int] = {}

    def tasks(server: srv.RawServer, req: srv.RawRequest, conn: socket.socket) -> bool:
        if req.method == "POST":
            assert req.headers["x-dashscope-async"] == "enable"
            body = {"output": {"task_status": "PENDING", "task_id": req.request_id}}
        else:
            task_id = req.path.rsplit("/", 1)[-1]
            with lock:
                polls[task_id] = polls.get(task_id, 0) + 1
                n = polls[task_id]
            never = task_id.startswith("0")  # roughly 1 task in 16 never ends
            if n < 3 or never:
                body = {"output": {"task_id": task_id, "task_status": "RUNNING"}}
            else:
                body = {
                    "output": {
                        "task_id": task_id,
                        "task_status": "SUCCEEDED",
                        "submit_time": "2026-01-01 00:00:00.000",
                        "scheduled_time": "2026-01-01 00:00:00.100",
                        "end_time": "2026-01-01 00:00:01.350",
                        "results": [{"url": "https://oss/r.png?Expires=1"}],
                    },
                    "request_id": req.request_id,
                }
        conn.sendall(srv.http_response(200, json.dumps(body).encode()))
        return True

    with srv.RawServer(tasks) as server:
        result = run_load(
            LoadConfig(
                url=server.url,
                api="dashscope-async",
                requests=8,
                workers=4,
                timeout=0.5,
                poll_intervals=(0.0, 0.02),
            )
        )
    for sample in result.samples:
        if sample.extra["task_id"].startswith("0"):
            assert sample.outcome is Outcome.TIMEOUT
            assert sample.latency == pytest.approx(0.5, abs=0.1)
            continue
        assert sample.outcome is Outcome.OK
        assert sample.extra["polls"] == 3
        assert sample.service_queue_s == pytest.approx(0.1)
        assert sample.service_generation_s == pytest.approx(1.25)
        assert sample.image_urls == ("https://oss/r.png",)


def test_api_key_never_leaves_the_engine() -> None:
    canary = "sk-CANARY-4f8a1d2c9e"

    def echo_headers(server: srv.RawServer, req: srv.RawRequest, conn: socket.socket) -> bool:
        assert req.headers["authorization"] == f"Bearer {canary}"
        message = f"bad key {req.headers['authorization']} for {canary} at http://u:{canary}@x/?k={canary}"
        conn.sendall(srv.http_response(401, srv.dashscope_error_body(canary, message)))
        return True

    with srv.RawServer(echo_headers) as server:
        config = LoadConfig(url=server.url, requests=2, workers=1, api_key=canary)
        result = run_load(config)
    assert result.samples[0].outcome is Outcome.HTTP_4XX
    dumped = repr(result) + repr(config) + json.dumps([s.to_dict() for s in result.samples])
    dumped += json.dumps(result.config)
    assert canary not in dumped
    assert result.config["api_key_set"] is True


def test_bad_configuration_fails_before_sending() -> None:
    with pytest.raises(ValueError, match="query string") as info:
        run_load(LoadConfig(url="http://127.0.0.1:1/x?key=secret"))
    assert "secret" not in str(info.value)
    with pytest.raises(ValueError, match="text-to-image only"):
        run_load(LoadConfig(url="http://127.0.0.1:1", api="dashscope-async", images=("x",)))


def test_selfcheck_is_reported_and_flags_a_lagging_client() -> None:
    with srv.RawServer(srv.ok(0.02)) as server:
        result = run_load(LoadConfig(url=server.url, requests=10, workers=2))
    check = result.selfcheck
    assert check is not None
    assert 0.0 <= check.cpu_utilisation < 4.0
    assert check.lag_max_s >= check.lag_p99_s >= 0.0
    busy = evaluate(cpu_seconds=9.5, wall_seconds=10.0, lags=[0.001] * 100, median_latency_s=1.0)
    assert busy.client_bound
    assert busy.note is not None
    assert "suspect" in busy.note
    lagging = evaluate(0.1, 10.0, [0.001] * 98 + [0.2, 0.3], median_latency_s=10.0)
    assert lagging.client_bound
    assert lagging.lag_max_s == 0.3
    relative = evaluate(0.1, 10.0, [0.01] * 100, median_latency_s=0.1)
    assert relative.client_bound  # 10 ms lag on 100 ms latencies: > 5%
    healthy = evaluate(0.2, 10.0, [0.002] * 100, median_latency_s=5.0)
    assert not healthy.client_bound
    assert healthy.note is None
    # over a run too short to judge, thread start-up alone looks like a busy CPU
    short = evaluate(cpu_seconds=0.1, wall_seconds=0.1, lags=[0.001] * 10, median_latency_s=0.05)
    assert not short.client_bound
    assert short.cpu_utilisation == 1.0
