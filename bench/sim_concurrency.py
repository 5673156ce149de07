"""The simulator holds 1,000 concurrent slow requests without errors.

``fixed`` profile (unlimited slots), every generation takes ``--hold`` seconds at time_scale 1;
1,000 requests at once, each on its own connection. Reports errors, how many generations the
server had running at the peak, the server-side time of each request and the server's RSS.

    /work/venv/bin/python bench/sim_concurrency.py [--requests 1000] [--hold 5]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import platform
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from sim_common import burst, get_json, percentile, simulator


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--requests", type=int, default=1000)
    parser.add_argument("--hold", type=float, default=5.0, help="generation seconds")
    parser.add_argument("--in-process", action="store_true")
    args = parser.parse_args()
    flags = ("--profile", "fixed", "--time-scale", "1", "--median", str(args.hold))
    print(
        f"python {platform.python_version()}, {os.cpu_count()} cores, load average "
        f"{os.getloadavg()[0]:.2f}; {args.requests} requests held {args.hold:g} s each"
    )
    with simulator(args.in_process, *flags) as url:
        peak = {"running": 0}
        stop = threading.Event()

        def watch() -> None:  # polls the admin endpoint while the burst is in flight
            deadline = time.monotonic() + args.hold * 4 + 60
            while not stop.is_set() and time.monotonic() < deadline:
                health = get_json(url + "/_sim/health")
                peak["running"] = max(peak["running"], health["running"])
                stop.wait(0.25)

        watcher = threading.Thread(target=watch, daemon=True)
        watcher.start()
        began = time.perf_counter()
        results = asyncio.run(burst(url, args.requests, timeout_s=args.hold * 4 + 60))
        wall = time.perf_counter() - began
        stop.set()
        watcher.join(10)
        records = [r for r in get_json(url + "/_sim/stats") if r["api"] == "dashscope"]
        rss_kb = _rss_kb(url)
    errors = [status for status, _ in results if status != 200]
    server = [r["server_s"] for r in records if r["server_s"] is not None]
    client = [seconds for _, seconds in results]
    print(
        f"{len(results)} requests, {len(errors)} errors {sorted(set(map(str, errors)))}, "
        f"peak running generations {peak['running']}, wall {wall:.2f} s\n"
        f"  server time: min {min(server):.3f} s, p50 {percentile(server, 0.5):.3f} s, "
        f"p99 {percentile(server, 0.99):.3f} s, max {max(server):.3f} s\n"
        f"  client latency: p50 {percentile(client, 0.5):.3f} s, "
        f"p99 {percentile(client, 0.99):.3f} s, max {max(client):.3f} s"
    )
    if rss_kb:
        print(f"  server RSS after the burst: {rss_kb / 1024:.1f} MiB")
    ok = not errors and len(records) == args.requests and peak["running"] >= args.requests * 0.95
    print("PASS" if ok else "FAIL")
    return 0 if ok else 1


def _rss_kb(url: str) -> int:
    """RSS of the process listening on ``url``'s port (Linux /proc), 0 if unknown."""
    port = int(url.rsplit(":", 1)[1])
    try:
        inode = _listening_inode(port)
        for pid in filter(str.isdigit, os.listdir("/proc")):
            try:
                fds = os.listdir(f"/proc/{pid}/fd")
            except OSError:
                continue
            for fd in fds:
                try:
                    if os.readlink(f"/proc/{pid}/fd/{fd}") == f"socket:[{inode}]":
                        with open(f"/proc/{pid}/status") as status:
                            for line in status:
                                if line.startswith("VmRSS:"):
                                    return int(line.split()[1])
                except OSError:
                    continue
    except (OSError, LookupError, ValueError):
        return 0
    return 0


def _listening_inode(port: int) -> str:
    with open("/proc/net/tcp") as table:
        for line in table.readlines()[1:]:
            fields = line.split()
            if int(fields[1].split(":")[1], 16) == port and fields[3] == "0A":
                return fields[9]
    raise LookupError(port)


if __name__ == "__main__":
    sys.exit(main())
