"""Coordinated omission: a server that stalls for L = 2 s in the middle of a D = 6 s run.

Every request arriving in [2 s, 4 s) is held until t = 4 s; others answer in ~10 ms. An honest
open-loop client (rate R, latency from the *intended* start) reports P95 = L - 0.05*D = 1.70 s
and sends about R*D requests (reference/measurement.md §1). A closed-loop run is labelled a
concurrency measurement and claims no rate.
"""

from __future__ import annotations

import socket
import time

import qp_servers as srv

from pytest_qwenperf import LoadConfig, run_load

STALL_FROM, STALL_TO, RUN_S, RATE = 2.0, 4.0, 6.0, 50.0
ANALYTIC_P95 = (STALL_TO - STALL_FROM) - 0.05 * RUN_S  # 1.70 s


def stall_window(server: srv.RawServer, req: srv.RawRequest, conn: socket.socket) -> bool:
    arrived = req.arrival - server.t0
    if STALL_FROM <= arrived < STALL_TO and server.stopping.wait(
        server.t0 + STALL_TO - req.arrival
    ):
        return False
    if server.stopping.wait(0.010):
        return False
    conn.sendall(srv.http_response(200, srv.dashscope_ok_body(req.request_id)))
    return True


def test_open_loop_reports_the_stall_without_coordinated_omission() -> None:
    with srv.RawServer(stall_window) as server:
        config = LoadConfig(
            url=server.url, requests=int(RATE * RUN_S), rate=RATE, workers=8, timeout=10.0
        )
        server.t0 = time.monotonic()
        result = run_load(config)
        sent = len(server.requests)
    assert result.mode == "open"
    assert result.rate == RATE
    assert len(result.samples) == 300
    assert abs(sent - RATE * RUN_S) <= 0.05 * RATE * RUN_S
    assert all(s.ok for s in result.samples)
    p95 = result.p95
    assert p95 is not None
    print(f"open loop P95 {p95:.3f} s (analytic {ANALYTIC_P95:.2f} s), {sent} requests sent")
    assert abs(p95 - ANALYTIC_P95) <= 0.10 * ANALYTIC_P95, (p95, ANALYTIC_P95)
    # The requests that queued behind the 8 stalled ones waited on the client: recorded.
    assert result.late_starts > 50
    assert result.max_in_flight == 8
    assert max(s.client_queue_s for s in result.samples) > 1.0
    assert "request rate" in result.config["measures"]


def test_closed_loop_is_labelled_a_concurrency_measurement() -> None:
    with srv.RawServer(srv.ok(0.01)) as server:
        result = run_load(LoadConfig(url=server.url, requests=20, workers=4))
    assert result.mode == "closed"
    assert result.rate is None
    assert result.config["mode"] == "closed"
    assert "concurrency" in result.config["measures"]
    assert "not a request rate" in result.config["measures"]
    assert result.late_starts == 0
    assert result.max_in_flight == 4
