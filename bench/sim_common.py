"""Shared parts of the simulator benchmarks: start the server, fire a burst, summarise.

By default the server runs as ``qwenperf sim`` in its own process, so the benchmark's client
does not compete with it for the GIL (``--in-process`` runs it on a thread instead). All
traffic is on 127.0.0.1 and every burst is bounded in count and time.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import math
import time
import urllib.request
from collections.abc import Iterator
from typing import Any

import aiohttp

from pytest_qwenperf.metrics import stats
from pytest_qwenperf.simproc import SimulatorProcess

SYNC = "/api/v1/services/aigc/multimodal-generation/generation"
BODY = {
    "model": "qwen-image-plus",
    "input": {"messages": [{"role": "user", "content": [{"text": "a benchmark cat"}]}]},
    "parameters": {"size": "1328*1328"},
}


@contextlib.contextmanager
def simulator(in_process: bool, *args: str) -> Iterator[str]:
    """Yield the base URL of a simulator started with ``qwenperf sim`` flags ``args``."""
    if in_process:
        from pytest_qwenperf.simulator.server import Simulator

        overrides = _flags_to_overrides(args)
        profile = overrides.pop("profile", "healthy")
        with Simulator(profile, **overrides) as sim:
            yield sim.url
        return
    process = SimulatorProcess(profile="healthy", time_scale=1.0, extra_args=args)
    try:
        yield process.start()
    finally:
        process.stop()


def _flags_to_overrides(args: tuple[str, ...]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for flag, value in zip(args[::2], args[1::2], strict=False):
        key = flag.lstrip("-").replace("-", "_")
        out[key] = value if key == "profile" else float(value)
    if "slots" in out:
        out["slots"] = int(out["slots"])
    if "max_queue" in out:
        out["max_queue"] = int(out["max_queue"])
    return out


def get_json(url: str) -> Any:
    with urllib.request.urlopen(url, timeout=60) as response:
        return json.loads(response.read())


async def burst(url: str, count: int, timeout_s: float) -> list[tuple[int | str, float]]:
    """``count`` requests at once, each on its own connection: (status or error, seconds)."""
    connector = aiohttp.TCPConnector(limit=0)
    timeout = aiohttp.ClientTimeout(total=timeout_s)
    async with aiohttp.ClientSession(connector=connector, timeout=timeout) as session:
        start = asyncio.Event()

        async def one() -> tuple[int | str, float]:
            await start.wait()
            began = time.perf_counter()
            try:
                async with session.post(url + SYNC, json=BODY) as response:
                    await response.read()
                    return response.status, time.perf_counter() - began
            except Exception as exc:
                return type(exc).__name__, time.perf_counter() - began

        tasks = [asyncio.ensure_future(one()) for _ in range(count)]
        await asyncio.sleep(0.05)
        start.set()
        return await asyncio.gather(*tasks)


def percentile(values: list[float], p: float) -> float:
    """Nearest rank: the project's one definition (pytest_qwenperf.metrics.stats)."""
    value = stats.percentile(sorted(values), p)
    return math.nan if value is None else value
