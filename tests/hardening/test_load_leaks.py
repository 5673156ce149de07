"""Volume without leaks, test-suite sized (the 20,000-request version is bench/hardening_load.py):
2,000 requests at 100 workers, twice, against the in-process simulator: exactly 2,000 samples
each time, threads and open file descriptors back to where they started."""

from __future__ import annotations

import gc
import threading
import time

from hardening_util import open_fds

from pytest_qwenperf import LoadConfig, run_load
from pytest_qwenperf.simulator import Simulator

REQUESTS = 2_000
WORKERS = 100


def _settled_threads(target: int, limit_s: float = 5.0) -> int:
    deadline = time.monotonic() + limit_s
    while threading.active_count() > target and time.monotonic() < deadline:
        time.sleep(0.02)
    return threading.active_count()


def _settled_fds(target: int, limit_s: float = 5.0) -> int:
    # The in-process simulator closes its side of each connection when it reads the
    # client's FIN, asynchronously on its own loop: give it a moment on a loaded machine.
    deadline = time.monotonic() + limit_s
    while open_fds() > target and time.monotonic() < deadline:
        time.sleep(0.02)
    return open_fds()


def test_volume_leaves_no_thread_and_no_file_descriptor() -> None:
    # fixed profile, 1 ms generations, unlimited slots: the client is the bottleneck
    with Simulator("fixed", time_scale=0.001, median=1.0, seed=2) as sim:
        for round_no in range(2):
            gc.collect()
            threads, fds = threading.active_count(), open_fds()
            result = run_load(
                LoadConfig(url=sim.url, requests=REQUESTS, workers=WORKERS, timeout=30.0)
            )
            assert [s.index for s in result.samples] == list(range(REQUESTS))
            assert all(s.ok for s in result.samples), round_no
            assert result.max_in_flight == WORKERS
            del result
            gc.collect()
            assert _settled_threads(threads) == threads, round_no
            assert _settled_fds(fds) == fds, round_no
        assert len(sim.stats()) == 2 * REQUESTS
