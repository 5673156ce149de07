"""Live progress of a run on an interactive terminal, without garbling pytest's output.

Only on a TTY and only for runs longer than ~2 s: one status line rewritten in place with a
carriage return, erased when the run ends. On a non-interactive terminal (CI logs) nothing is
written mid-test; the summary table says it all afterwards.
"""

from __future__ import annotations

import contextlib
import math
import threading
import time
from collections.abc import Callable, Iterator
from typing import Any

from pytest_qwenperf.metrics.sample import Sample
from pytest_qwenperf.metrics.stats import percentile
from pytest_qwenperf.units import format_duration

#: Seconds a run must last before the progress line appears, and between updates.
SHOW_AFTER_S = 2.0
UPDATE_EVERY_S = 0.5


class _Progress:
    def __init__(self, label: str, total: int, time_scale: float) -> None:
        self.label = label
        self.total = total
        self.time_scale = time_scale
        self._lock = threading.Lock()
        self._latencies: list[float] = []
        self._failures = 0

    def on_sample(self, sample: Sample) -> None:
        if sample.warmup:
            return
        with self._lock:
            self._latencies.append(sample.latency if sample.ok else math.inf)
            self._failures += 0 if sample.ok else 1

    def line(self) -> str:
        with self._lock:
            done, failures = len(self._latencies), self._failures
            values = sorted(self._latencies)
        p95 = percentile(values, 0.95) if values else None
        shown = None if p95 is None else p95 / self.time_scale
        return (
            f"qwenperf {self.label}: {done}/{self.total} done, {failures} failed, "
            f"p95 so far {format_duration(shown)}"
        )


@contextlib.contextmanager
def live_progress(
    reporter: Any, label: str, total: int, time_scale: float
) -> Iterator[Callable[[Sample], None] | None]:
    """Yield an ``on_sample`` callback for the engine, or None where nothing is shown."""
    if reporter is None or not getattr(reporter, "isatty", False):
        yield None
        return
    progress = _Progress(label, total, time_scale)
    stop = threading.Event()
    width = [0]

    def tick() -> None:
        if stop.wait(SHOW_AFTER_S):
            return
        while True:
            text = progress.line()
            pad = max(0, width[0] - len(text))
            reporter.write("\r" + text + " " * pad, flush=True)
            width[0] = len(text)
            if stop.wait(UPDATE_EVERY_S):
                return

    thread = threading.Thread(target=tick, name="qwenperf-progress", daemon=True)
    started = time.monotonic()
    thread.start()
    try:
        yield progress.on_sample
    finally:
        stop.set()
        thread.join(timeout=2.0)
        if width[0] and time.monotonic() - started >= SHOW_AFTER_S:
            reporter.write("\r" + " " * width[0] + "\r", flush=True)
