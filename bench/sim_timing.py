"""Timing accuracy of the simulator by its own clock.

``fixed`` profile, time_scale 1, a 200 ms generation, 200 requests at once: how far is each
request's server time (response sent - arrival) and generation time from 200 ms?
Target: p99 deviation <= 5 ms.

    /work/venv/bin/python bench/sim_timing.py [--requests 200] [--median 0.2] [--in-process]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import platform
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from sim_common import burst, get_json, percentile, simulator


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--requests", type=int, default=200)
    parser.add_argument("--median", type=float, default=0.2)
    parser.add_argument("--rounds", type=int, default=5, help="bursts (each reported)")
    parser.add_argument(
        "--in-process", action="store_true", help="server on a thread of this process"
    )
    args = parser.parse_args()
    flags = ("--profile", "fixed", "--time-scale", "1", "--median", str(args.median))
    print(
        f"python {platform.python_version()}, {os.cpu_count()} cores, server "
        f"{'in-process thread' if args.in_process else 'separate process'}"
    )
    p99s: list[float] = []
    print(f"load average before: {os.getloadavg()[0]:.2f} (other processes share these cores)")
    with simulator(args.in_process, *flags) as url:
        for round_no in range(1, args.rounds + 1):
            get_json_delete(url)
            ms = args.median * 1000
            results = asyncio.run(burst(url, args.requests, timeout_s=60))
            errors = [status for status, _ in results if status != 200]
            records = [r for r in get_json(url + "/_sim/stats") if r["api"] == "dashscope"]
            server_dev = [abs(r["server_s"] - args.median) * 1000 for r in records]
            gen_dev = [abs(r["generation_s"] - args.median) * 1000 for r in records]
            before = [r["queue_wait_s"] * 1000 for r in records]
            after = [(r["sent"] - r["gen_end"]) * 1000 for r in records]
            client = sorted(seconds for _, seconds in results)
            spread = (
                max(r["arrival"] for r in records) - min(r["arrival"] for r in records)
            ) * 1000
            print(
                f"round {round_no}: {len(records)} requests, {len(errors)} errors, arrivals spread "
                f"over {spread:.1f} ms\n"
                f"  server time - {ms:.0f} ms: p50 {percentile(server_dev, 0.5):.2f} ms, "
                f"p99 {percentile(server_dev, 0.99):.2f} ms, max {max(server_dev):.2f} ms\n"
                f"  generation  - {ms:.0f} ms: p50 {percentile(gen_dev, 0.5):.2f} ms, "
                f"p99 {percentile(gen_dev, 0.99):.2f} ms, max {max(gen_dev):.2f} ms\n"
                f"  arrival -> generation start: p50 {percentile(before, 0.5):.2f} ms, "
                f"p99 {percentile(before, 0.99):.2f} ms; generation end -> response sent: "
                f"p50 {percentile(after, 0.5):.2f} ms, p99 {percentile(after, 0.99):.2f} ms\n"
                f"  client latency: p50 {percentile(client, 0.5) * 1000:.1f} ms, "
                f"p99 {percentile(client, 0.99) * 1000:.1f} ms"
            )
            p99s.append(percentile(server_dev, 0.99))
            if errors:
                print(f"  errors: {sorted(set(map(str, errors)))}")
    typical = sorted(p99s)[len(p99s) // 2]
    verdict = "PASS" if typical <= 5.0 else "FAIL"
    print(
        f"{verdict}: p99 deviation of server time per round: "
        f"{', '.join(f'{v:.2f}' for v in p99s)} ms; median round {typical:.2f} ms, best "
        f"{min(p99s):.2f} ms, worst {max(p99s):.2f} ms (target <= 5 ms)"
    )
    return 0 if verdict == "PASS" else 1


def get_json_delete(url: str) -> None:
    import urllib.request

    request = urllib.request.Request(url + "/_sim/stats", method="DELETE")
    with urllib.request.urlopen(request, timeout=30):
        pass


if __name__ == "__main__":
    sys.exit(main())
