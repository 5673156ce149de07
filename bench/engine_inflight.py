"""The thread engine holds N requests in flight (default 500).

    python bench/engine_inflight.py [--workers 500] [--generation 2.0]

Closed loop, ``workers`` threads, against the simulator (``fixed`` profile, every generation
``--generation`` seconds, unlimited slots) in its own process. Reports the client's measured
maximum in flight, the server-side maximum of overlapping requests (from ``/_sim/stats``),
the client overhead, and that every thread ended.
"""

from __future__ import annotations

import argparse
import sys
import threading
import time
import tracemalloc

from engine_common import ground_truth, machine, nearest_rank, simulator_process

from pytest_qwenperf import LoadConfig, run_load


def server_concurrency(records: list[dict[str, float]]) -> int:
    events = sorted(
        [(r["arrival"], 1) for r in records] + [(r["sent"], -1) for r in records],
        key=lambda e: (e[0], e[1]),
    )
    level = peak = 0
    for _, step in events:
        level += step
        peak = max(peak, level)
    return peak


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--workers", type=int, default=500)
    parser.add_argument("--rounds", type=int, default=3, help="requests per worker")
    parser.add_argument("--generation", type=float, default=2.0)
    parser.add_argument(
        "--mode",
        choices=("closed", "open"),
        default="closed",
        help="closed (default): workers back to back, in waves that all end at once; open: "
        "rate = workers/generation with a cap of 2*workers, a steady state of ~workers in flight",
    )
    args = parser.parse_args(argv)
    time_scale = 0.01
    requests_total = args.workers * args.rounds
    threads_before = set(threading.enumerate())
    with simulator_process(
        "--profile",
        "fixed",
        "--time-scale",
        str(time_scale),
        "--median",
        str(args.generation / time_scale),
    ) as url:
        tracemalloc.start()
        began = time.monotonic()
        closed = args.mode == "closed"
        result = run_load(
            LoadConfig(
                url=url,
                requests=requests_total,
                workers=args.workers if closed else 2 * args.workers,
                rate=None if closed else args.workers / args.generation,
                warmup=args.workers,  # thread start-up and connects are not measured
                timeout=120,
            )
        )
        took = time.monotonic() - began
        _current, peak_mem = tracemalloc.get_traced_memory()
        tracemalloc.stop()
        truth = ground_truth(url)
    left = [t.name for t in threading.enumerate() if t not in threads_before]
    records = [truth[s.extra["request_id"]] for s in result.samples if s.ok]
    overheads = [
        s.latency - (truth[s.extra["request_id"]]["sent"] - truth[s.extra["request_id"]]["arrival"])
        for s in result.samples
        if s.ok
    ]
    ok = sum(s.ok for s in result.samples)
    print(f"machine: {machine()}")
    print(
        f"{args.mode} loop, {args.workers} workers, {requests_total} requests ({ok} ok) "
        f"of {args.generation} s each in {took:.1f} s (ideal {args.rounds * args.generation:.1f} s)"
    )
    print(
        f"max in flight: client {result.max_in_flight}, server {server_concurrency(records)} "
        "(measured phase); "
        f"threads left: {len(left)}; peak traced memory {peak_mem / 2**20:.1f} MiB"
    )
    print(
        f"client overhead: p50 {nearest_rank(overheads, 0.5) * 1000:.1f} ms, "
        f"p99 {nearest_rank(overheads, 0.99) * 1000:.1f} ms"
    )
    print(f"self-check: {result.selfcheck}")
    target = args.workers if closed else int(0.9 * args.workers)
    passed = result.max_in_flight >= target and ok == requests_total and not left
    print("PASS" if passed else "FAIL", f"(target: {args.workers} in flight, every request ok)")
    return 0 if passed else 1


if __name__ == "__main__":
    sys.exit(main())
