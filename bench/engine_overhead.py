"""Client overhead at N requests in flight: measured latency minus the server's own time.

    python bench/engine_overhead.py [--workers 100] [--requests 3000] [--generation 0.5]

The simulator (``fixed`` profile: every generation takes exactly ``--generation`` seconds, no
queueing) runs in its own process. For each request, overhead = client latency (intended
start -> body read) minus the server's arrival -> response-sent time from ``/_sim/stats``,
joined by request id. Targets (issue 4): p50 <= 2 ms, p99 <= 10 ms at 100 in flight.
"""

from __future__ import annotations

import argparse
import sys
import time

from engine_common import ground_truth, machine, nearest_rank, simulator_process

from pytest_qwenperf import LoadConfig, run_load


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--workers", type=int, default=100)
    parser.add_argument("--requests", type=int, default=3000)
    parser.add_argument("--generation", type=float, default=0.5, help="seconds per image")
    parser.add_argument("--api", default="dashscope")
    parser.add_argument(
        "--mode",
        choices=("open", "closed"),
        default="open",
        help="open (default): rate = workers/generation, so ~workers are in flight in a steady "
        "state; closed: workers back to back (with the fixed profile every response of a wave "
        "arrives at the same instant, the worst case for the client)",
    )
    args = parser.parse_args(argv)
    time_scale = 0.01
    median = args.generation / time_scale
    with simulator_process(
        "--profile", "fixed", "--time-scale", str(time_scale), "--median", str(median)
    ) as url:
        # Warm the connections first so connect time is not counted as overhead.
        warm = min(args.workers, args.requests)
        began = time.monotonic()
        result = run_load(
            LoadConfig(
                url=url,
                api=args.api,
                requests=args.requests,
                workers=args.workers if args.mode == "closed" else 2 * args.workers,
                rate=None if args.mode == "closed" else args.workers / args.generation,
                warmup=warm,
                timeout=60,
            )
        )
        took = time.monotonic() - began
        truth = ground_truth(url)
    overheads = []
    for sample in result.samples:
        if not sample.ok:
            continue
        record = truth[sample.extra["request_id"]]
        overheads.append(sample.latency - (record["sent"] - record["arrival"]))
    ok = len(overheads)
    p50, p99 = nearest_rank(overheads, 0.50), nearest_rank(overheads, 0.99)
    print(f"machine: {machine()}")
    print(
        f"api {args.api}, {args.mode} loop, {args.workers} in flight "
        f"(max measured {result.max_in_flight}), "
        f"{args.requests} requests ({ok} ok), generation {args.generation} s, run {took:.1f} s"
    )
    print(
        f"client overhead: p50 {p50 * 1000:.2f} ms, p90 {nearest_rank(overheads, 0.9) * 1000:.2f} "
        f"ms, p99 {p99 * 1000:.2f} ms, max {max(overheads) * 1000:.2f} ms, "
        f"min {min(overheads) * 1000:.2f} ms"
    )
    print(f"self-check: {result.selfcheck}")
    passed = p50 <= 0.002 and p99 <= 0.010 and ok == args.requests
    print("PASS" if passed else "FAIL", "(targets: p50 <= 2 ms, p99 <= 10 ms, every request ok)")
    return 0 if passed else 1


if __name__ == "__main__":
    sys.exit(main())
