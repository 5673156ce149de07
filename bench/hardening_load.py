"""Load and leaks: 20,000 requests at 500 workers, then threads, file descriptors and memory.

    python bench/hardening_load.py [--requests 20000] [--workers 500] [--rounds 2] [--in-process]

The simulator (``fixed`` profile, unlimited slots, 1 ms generations) runs as ``qwenperf sim`` in
its own process unless ``--in-process``. Each round runs ``run_load`` once and checks: exactly
``requests`` samples with indexes 0..n-1, the thread count back to its value before the round,
``/proc/self/fd`` back to its value before the round; RSS before/after and the peak (VmHWM)
are printed. Exit status 1 when a check fails. Results go to docs/hardening.md.
"""

from __future__ import annotations

import argparse
import collections
import gc
import os
import sys
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from engine_common import machine, simulator_process

from pytest_qwenperf import LoadConfig, run_load
from pytest_qwenperf.simulator import Simulator


def status_kib(field: str) -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    return -1


def fds() -> int:
    return len(os.listdir("/proc/self/fd"))


def settle(threads: int, limit_s: float = 5.0) -> int:
    """Thread count after giving finished threads up to ``limit_s`` to disappear."""
    deadline = time.monotonic() + limit_s
    while threading.active_count() > threads and time.monotonic() < deadline:
        time.sleep(0.02)
    return threading.active_count()


def one_round(url: str, requests: int, workers: int) -> bool:
    gc.collect()
    threads0, fds0, rss0 = threading.active_count(), fds(), status_kib("VmRSS")
    began = time.monotonic()
    result = run_load(LoadConfig(url=url, requests=requests, workers=workers, timeout=60.0))
    took = time.monotonic() - began
    indexes_ok = [s.index for s in result.samples] == list(range(requests))
    outcomes = collections.Counter(s.outcome.value for s in result.samples)
    del result
    gc.collect()
    threads1, fds1, rss1 = settle(threads0), fds(), status_kib("VmRSS")
    ok = indexes_ok and threads1 == threads0 and fds1 == fds0 and sum(outcomes.values()) == requests
    print(
        f"  {requests} requests, {workers} workers: {took:.1f} s, samples {sum(outcomes.values())}"
        f" {dict(outcomes)}, indexes 0..n-1 {indexes_ok}; threads {threads0} -> {threads1};"
        f" fds {fds0} -> {fds1}; RSS {rss0 / 1024:.1f} -> {rss1 / 1024:.1f} MiB"
        f" (peak {status_kib('VmHWM') / 1024:.1f} MiB) {'OK' if ok else 'FAIL'}"
    )
    return ok


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--requests", type=int, default=20_000)
    parser.add_argument("--workers", type=int, default=500)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--in-process", action="store_true")
    args = parser.parse_args(argv)
    print(machine())
    rss_start = status_kib("VmRSS")
    results: list[bool] = []
    if args.in_process:
        with Simulator("fixed", time_scale=0.001, median=1.0, seed=1) as sim:
            for _ in range(args.rounds):
                results.append(one_round(sim.url, args.requests, args.workers))
    else:
        with simulator_process(
            "--profile", "fixed", "--time-scale", "0.001", "--median", "1"
        ) as url:
            for _ in range(args.rounds):
                results.append(one_round(url, args.requests, args.workers))
    print(f"RSS at start {rss_start / 1024:.1f} MiB; all rounds OK: {all(results)}")
    return 0 if all(results) else 1


if __name__ == "__main__":
    sys.exit(main())
