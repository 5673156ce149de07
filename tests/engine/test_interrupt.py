"""KeyboardInterrupt and the stop event end a run within ~2 s with a partial result."""

from __future__ import annotations

import _thread
import threading
import time

import pytest
import qp_servers as srv

from pytest_qwenperf import LoadConfig, run_load

STOP_WITHIN_S = 2.0


def test_keyboard_interrupt_returns_partial_result_quickly() -> None:
    # One fast request per worker completes, then every worker hangs on a stalled response.
    calls = [0]
    lock = threading.Lock()

    def fast_then_stall(server: srv.RawServer, req: srv.RawRequest, conn: object) -> bool:
        with lock:
            calls[0] += 1
            fast = calls[0] <= 4
        if fast:
            return srv.ok()(server, req, conn)  # type: ignore[arg-type]
        return srv.stall_body(server, req, conn)  # type: ignore[arg-type]

    with srv.RawServer(fast_then_stall) as server:
        timer = threading.Timer(0.8, _thread.interrupt_main)
        began = time.monotonic()
        timer.start()
        try:
            result = run_load(LoadConfig(url=server.url, requests=50, workers=4, timeout=60))
        finally:
            timer.cancel()
            timer.join()
        took = time.monotonic() - began
    assert result.interrupted
    assert took < 0.8 + STOP_WITHIN_S, took
    assert 1 <= len(result.samples) < 50
    assert all(s.ok for s in result.samples)
    assert result.planned == 50


def test_stop_event_stops_an_open_loop_run() -> None:
    stop = threading.Event()
    seen: list[int] = []
    with srv.RawServer(srv.stall_headers) as server:
        timer = threading.Timer(0.5, stop.set)
        began = time.monotonic()
        timer.start()
        result = run_load(
            LoadConfig(url=server.url, requests=100, rate=20, workers=4, timeout=60),
            stop=stop,
            on_sample=lambda s: seen.append(s.index),
        )
        timer.join()
        took = time.monotonic() - began
    assert result.interrupted
    assert took < 0.5 + STOP_WITHIN_S
    assert result.samples == []  # all in flight at the stop: no outcome, not samples
    assert seen == []


def test_on_sample_is_called_once_per_sample_and_its_errors_surface() -> None:
    seen: list[int] = []
    with srv.RawServer(srv.ok()) as server:
        result = run_load(
            LoadConfig(url=server.url, requests=10, workers=3, warmup=2),
            on_sample=lambda s: seen.append(s.index if not s.warmup else -1 - s.index),
        )
        assert sorted(seen) == [-2, -1, *range(10)]
        assert len(result.samples) == 10

        def boom(sample: object) -> None:
            raise RuntimeError("callback failed")

        with pytest.raises(RuntimeError, match="callback failed"):
            run_load(LoadConfig(url=server.url, requests=10, workers=2), on_sample=boom)
