"""``run_load``: one load run from a :class:`LoadConfig` to a :class:`LoadResult`.

Stopping. ``KeyboardInterrupt`` in the calling thread, or ``stop.set()`` from anywhere, stops
the run: nothing new is sent, sleeps (poll waits, backoff) end at once, and the watchdog shuts
down the socket of every request in flight, which unblocks its read. Requests in flight at that
moment are not samples (they have no outcome); the partial result is returned with
``interrupted=True`` and every thread the run started has ended. This takes well under 2 s,
except while a TCP connect to an unresponsive host is under way (bounded by
``transport.CONNECT_TIMEOUT_CAP``).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

from pytest_qwenperf.engine import selfcheck
from pytest_qwenperf.engine.config import LoadConfig
from pytest_qwenperf.engine.executor import ExecContext
from pytest_qwenperf.engine.scheduler import (
    POLL_S,
    Dispatcher,
    PhaseStats,
    Ticker,
    WorkerPool,
    arrival_offsets,
    closed_loop_phase,
)
from pytest_qwenperf.engine.watchdog import Watchdog
from pytest_qwenperf.metrics.result import LoadResult
from pytest_qwenperf.metrics.sample import Sample
from pytest_qwenperf.metrics.stats import percentile
from pytest_qwenperf.protocols import make_adapter
from pytest_qwenperf.protocols.base import Adapter
from pytest_qwenperf.redact import sanitize_url

#: Longest the runner waits for threads to end after a stop (seconds).
SHUTDOWN_GRACE_S = 15.0


def build_adapter(config: LoadConfig) -> Adapter:
    return make_adapter(
        config.api,
        config.url,
        model=config.model,
        api_key=config.api_key,
        size=config.size,
        images=config.images,
        parameters=config.parameters,
        poll_intervals=config.poll_intervals,
    )


def run_load(
    config: LoadConfig,
    *,
    on_sample: Callable[[Sample], None] | None = None,
    stop: threading.Event | None = None,
) -> LoadResult:
    """Run ``config`` and return every sample with what is needed to interpret it.

    ``on_sample`` is called once per finished sample (warm-up included, see
    ``Sample.warmup``) from worker threads; an exception from it stops the run and is
    re-raised here. ``stop`` ends the run early like ``KeyboardInterrupt`` does.
    """
    adapter = build_adapter(config)
    internal_stop = threading.Event()
    started_at = time.time()
    t0 = time.monotonic()
    run_deadline = None if config.run_deadline is None else t0 + config.run_deadline
    watchdog = Watchdog(internal_stop)
    ctx = ExecContext(
        adapter=adapter,
        config=config,
        t0=t0,
        stop=internal_stop,
        watchdog=watchdog,
        run_deadline=run_deadline,
        secrets=(config.api_key,),
    )
    # More threads than requests could never all be busy: don't start them.
    pool = WorkerPool(ctx, max(1, min(config.workers, config.requests + config.warmup)), on_sample)
    interrupted = False
    #: "warmup"/"measured" -> stats, registered before waiting so an interrupt keeps them.
    phases: dict[str, PhaseStats] = {}
    cpu_before = wall_before = cpu_after = wall_after = 0.0
    helpers: list[Dispatcher | Ticker] = []

    def wait_phase() -> None:
        # Short waits so KeyboardInterrupt and the external stop are noticed promptly.
        while not pool.wait_phase(POLL_S):
            if stop is not None and stop.is_set():
                internal_stop.set()

    def run_phase(count: int, warmup: bool) -> PhaseStats:
        if config.rate is None:
            stats = closed_loop_phase(pool, count, warmup)
            if not warmup:
                ticker = Ticker(pool.phase_done, internal_stop, stats)
                helpers.append(ticker)
                ticker.start()
        else:
            offsets = arrival_offsets(count, config.rate, config.arrival, config.seed)
            dispatcher = Dispatcher(pool, ctx, count, warmup, offsets)
            stats = dispatcher.stats
            helpers.append(dispatcher)
            dispatcher.start()
        phases["warmup" if warmup else "measured"] = stats
        wait_phase()
        return stats

    try:
        try:
            watchdog.start()
            pool.start()
            if config.warmup:
                run_phase(config.warmup, True)
            if not internal_stop.is_set():
                cpu_before, wall_before = time.process_time(), time.monotonic()
                run_phase(config.requests, False)
                cpu_after, wall_after = time.process_time(), time.monotonic()
        except KeyboardInterrupt:
            interrupted = True
            internal_stop.set()
    finally:
        internal_stop.set()  # also ends tickers and dispatchers
        _shutdown(pool, helpers, watchdog)

    if pool.callback_error is not None:
        raise pool.callback_error
    if stop is not None and stop.is_set():
        interrupted = True
    if not cpu_after:
        cpu_after, wall_after = time.process_time(), time.monotonic()

    warm = phases.get("warmup", PhaseStats())
    measured = phases.get("measured", PhaseStats())
    samples = sorted(measured.samples, key=lambda s: s.index)
    warmup_samples = sorted(warm.samples, key=lambda s: s.index)
    wall = (
        (max(s.end for s in samples) - min(s.intended_start for s in samples)) if samples else 0.0
    )
    ok_latencies = [s.latency for s in samples if s.ok]
    check = selfcheck.evaluate(
        cpu_after - cpu_before,
        wall_after - wall_before,
        measured.lags,
        percentile(sorted(ok_latencies), 0.5),
    )
    described = config.describe()
    described.update(
        url=sanitize_url(config.url),
        adapter=adapter.name,
        endpoint=sanitize_url(adapter.endpoint),
        mode=config.mode,
        late_starts=measured.late_starts,
        not_started=measured.not_started,
    )
    if config.mode == "closed":
        described["measures"] = (
            f"concurrency: {config.workers} requests in flight back to back (not a request rate)"
        )
    else:
        described["measures"] = (
            f"request rate: {config.rate}/s {config.arrival} arrivals, at most "
            f"{config.workers} in flight, latency from the intended start"
        )
    return LoadResult(
        samples=samples,
        mode=config.mode,
        workers=config.workers,
        rate=config.rate,
        planned=config.requests,
        wall_time_s=wall,
        started_at=started_at,
        warmup_samples=warmup_samples,
        interrupted=interrupted,
        deadline_hit=measured.deadline_hit or warm.deadline_hit,
        config=described,
        selfcheck=check,
        max_in_flight=measured.max_in_flight,
        late_starts=measured.late_starts,
    )


def _shutdown(pool: WorkerPool, helpers: list[Dispatcher | Ticker], watchdog: Watchdog) -> None:
    """Join every thread the run started, even if interrupted again meanwhile."""
    limit = time.monotonic() + SHUTDOWN_GRACE_S
    for _ in range(3):
        try:
            for helper in helpers:
                helper.join(max(0.0, limit - time.monotonic()))
            pool.close(max(0.0, limit - time.monotonic()))
            watchdog.close()
            return
        except KeyboardInterrupt:
            continue
