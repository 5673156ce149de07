"""Worker pool and the two schedulers.

* Closed loop: ``workers`` threads take the next request as soon as they are free; the
  intended start is the moment the worker became free. A concurrency measurement.
* Open loop: a dispatcher releases requests at ``rate`` per second (constant or Poisson
  arrivals, seeded by ``LoadConfig.seed``); ``workers`` caps requests in flight. Latency counts
  from the scheduled (intended) start, so waiting for a free worker is part of it; a request
  dispatched while every worker was busy is a *late start*.

Both run a phase of ``count`` requests on the same pool of worker threads (one
``requests.Session`` each), so warm-up connections are reused by the measured phase.
"""

from __future__ import annotations

import queue
import random
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from pytest_qwenperf.engine.executor import ExecContext, execute
from pytest_qwenperf.engine.transport import Transport
from pytest_qwenperf.metrics.sample import Sample

#: Closed-loop self-check ticker period (seconds).
TICK_S = 0.01
#: Longest a blocking wait in the coordinator lasts before it checks stop flags again.
POLL_S = 0.05


@dataclass
class _Job:
    index: int
    warmup: bool
    #: Absolute monotonic intended start; None in closed loop (= when a worker takes it).
    intended: float | None
    late: bool = False


@dataclass
class PhaseStats:
    samples: list[Sample] = field(default_factory=list)
    #: Requests planned but never started (stop or run deadline).
    not_started: int = 0
    deadline_hit: bool = False
    late_starts: int = 0
    max_in_flight: int = 0
    #: Scheduler wake-up lag samples (seconds) for the self-check.
    lags: list[float] = field(default_factory=list)


class WorkerPool:
    """``workers`` threads, each with its own Transport, executing jobs from one queue."""

    def __init__(
        self,
        ctx: ExecContext,
        workers: int,
        on_sample: Callable[[Sample], None] | None,
    ) -> None:
        self._ctx = ctx
        self._on_sample = on_sample
        self._queue: queue.SimpleQueue[_Job | None] = queue.SimpleQueue()
        self._lock = threading.Lock()
        self._phase: PhaseStats = PhaseStats()
        self._remaining = 0
        self._phase_done = threading.Event()
        self._in_flight = 0
        #: Open loop: one permit per worker; the dispatcher takes one per request.
        self.slots = threading.Semaphore(workers)
        self.callback_error: BaseException | None = None
        seed = ctx.config.seed
        self._threads = [
            threading.Thread(
                target=self._work,
                args=(random.Random(None if seed is None else seed * 1_000_003 + i),),
                name=f"qwenperf-worker-{i}",
                daemon=True,
            )
            for i in range(workers)
        ]

    def start(self) -> None:
        for thread in self._threads:
            thread.start()

    def close(self, timeout: float = 10.0) -> None:
        for _ in self._threads:
            self._queue.put(None)
        limit = time.monotonic() + timeout
        for thread in self._threads:
            if thread.ident is not None:  # started
                thread.join(max(0.0, limit - time.monotonic()))

    def alive(self) -> int:
        return sum(t.is_alive() for t in self._threads)

    # -- phases -------------------------------------------------------------------------

    def begin_phase(self, count: int) -> PhaseStats:
        with self._lock:
            self._phase = PhaseStats()
            self._remaining = count
            if count == 0:
                self._phase_done.set()
            else:
                self._phase_done.clear()
            return self._phase

    def submit(self, job: _Job) -> None:
        self._queue.put(job)

    def skip(self, count: int, deadline_hit: bool) -> None:
        """Account for ``count`` planned requests that will never be sent."""
        if count <= 0:
            return
        with self._lock:
            self._phase.not_started += count
            self._phase.deadline_hit = self._phase.deadline_hit or deadline_hit
            self._remaining -= count
            if self._remaining <= 0:
                self._phase_done.set()

    @property
    def phase_done(self) -> threading.Event:
        return self._phase_done

    def wait_phase(self, timeout: float) -> bool:
        return self._phase_done.wait(timeout)

    # -- worker -------------------------------------------------------------------------

    def _work(self, rng: random.Random) -> None:
        ctx = self._ctx
        transport = Transport(
            verify_tls=ctx.config.verify_tls, secrets=ctx.secrets, url=ctx.adapter.endpoint
        )
        try:
            while True:
                job = self._queue.get()
                if job is None:
                    return
                self._run_job(job, transport, rng)
        finally:
            transport.close()

    def _run_job(self, job: _Job, transport: Transport, rng: random.Random) -> None:
        ctx = self._ctx
        sample: Sample | None = None
        deadline_hit = False
        try:
            now = time.monotonic()
            deadline_hit = ctx.run_deadline is not None and now >= ctx.run_deadline
            if not ctx.stop.is_set() and not deadline_hit:
                with self._lock:
                    self._in_flight += 1
                    if self._in_flight > self._phase.max_in_flight:
                        self._phase.max_in_flight = self._in_flight
                try:
                    sample = execute(
                        ctx,
                        transport,
                        rng,
                        index=job.index,
                        intended_start=now if job.intended is None else job.intended,
                        warmup=job.warmup,
                    )
                finally:
                    with self._lock:
                        self._in_flight -= 1
                if sample is not None and job.late:
                    sample.extra["late_start"] = True
        finally:
            if job.intended is not None:
                self.slots.release()
            with self._lock:
                if sample is None:
                    self._phase.not_started += 1
                    self._phase.deadline_hit = self._phase.deadline_hit or deadline_hit
                else:
                    self._phase.samples.append(sample)
                    if job.late:
                        self._phase.late_starts += 1
                self._remaining -= 1
                if self._remaining <= 0:
                    self._phase_done.set()
        if sample is not None and self._on_sample is not None:
            try:
                self._on_sample(sample)
            except BaseException as exc:  # re-raised by the runner, never lost
                with self._lock:
                    if self.callback_error is None:
                        self.callback_error = exc
                ctx.stop.set()


def closed_loop_phase(pool: WorkerPool, count: int, warmup: bool) -> PhaseStats:
    """Queue ``count`` jobs; each free worker takes the next one back to back."""
    stats = pool.begin_phase(count)
    for i in range(count):
        pool.submit(_Job(i, warmup, None))
    return stats


def arrival_offsets(count: int, rate: float, arrival: str, seed: int | None) -> list[float]:
    """Seconds from the phase start at which each request is meant to start."""
    if arrival == "poisson":
        rng = random.Random(seed)
        offsets: list[float] = []
        t = 0.0
        for _ in range(count):
            offsets.append(t)
            t += rng.expovariate(rate)
        return offsets
    return [i / rate for i in range(count)]


class _Background:
    """A helper thread of a run: started and joined by the runner, never left behind."""

    def __init__(self, name: str) -> None:
        self._thread = threading.Thread(target=self._run, name=name, daemon=True)

    def start(self) -> None:
        self._thread.start()

    def join(self, timeout: float) -> None:
        if self._thread.ident is not None:
            self._thread.join(timeout)

    def _run(self) -> None:
        raise NotImplementedError


class Dispatcher(_Background):
    """Open loop: releases jobs at their scheduled times into the pool, in its own thread."""

    def __init__(
        self,
        pool: WorkerPool,
        ctx: ExecContext,
        count: int,
        warmup: bool,
        offsets: list[float],
    ) -> None:
        self._pool = pool
        self._ctx = ctx
        self._count = count
        self._warmup = warmup
        self._offsets = offsets
        self.stats = pool.begin_phase(count)
        super().__init__("qwenperf-dispatcher")

    def _run(self) -> None:
        ctx, pool = self._ctx, self._pool
        phase_start = time.monotonic()
        for i in range(self._count):
            intended = phase_start + self._offsets[i]
            if ctx.run_deadline is not None and intended >= ctx.run_deadline:
                pool.skip(self._count - i, deadline_hit=True)
                return
            wait = intended - time.monotonic()
            if wait > 0 and ctx.stop.wait(wait):
                pool.skip(self._count - i, deadline_hit=False)
                return
            if ctx.stop.is_set():
                pool.skip(self._count - i, deadline_hit=False)
                return
            self.stats.lags.append(max(0.0, time.monotonic() - intended))
            late = not pool.slots.acquire(blocking=False)
            if late:
                # Every worker is busy: wait for one, the wait counts in the latency.
                while not pool.slots.acquire(timeout=POLL_S):
                    if ctx.stop.is_set():
                        pool.skip(self._count - i, deadline_hit=False)
                        return
            pool.submit(_Job(i, self._warmup, intended, late))


class Ticker(_Background):
    """Closed loop self-check: how late a thread sleeping ``TICK_S`` wakes up."""

    def __init__(self, done: threading.Event, stop: threading.Event, stats: PhaseStats) -> None:
        self._done = done
        self._stop = stop
        self._stats = stats
        super().__init__("qwenperf-ticker")

    def _run(self) -> None:
        # Bounded: one tick per TICK_S, ends when the phase ends (at most ~1 day of ticks).
        for _ in range(10_000_000):
            before = time.monotonic()
            if self._done.wait(TICK_S) or self._stop.is_set():
                return
            self._stats.lags.append(max(0.0, time.monotonic() - before - TICK_S))
