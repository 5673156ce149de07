"""The service model: GPU slots, a FIFO queue in front of them, and generation times.

Generation time of a request = ``median * megapixels ** mp_exponent * exp(sigma * z)`` with z
standard normal (lognormal with that median), times ``time_scale``. Every random draw of a
request comes from ``random.Random(f"{seed}:{request_number}")``, so request k of a run gets
the same fault and the same time for the same seed, whatever the interleaving.

All methods of :class:`GpuPool` run on the simulator's event loop thread.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import math
import random

from pytest_qwenperf.simulator.config import FAULTS, SimConfig


class Throttled(Exception):
    """The queue is full: the request is refused with 429."""


def request_rng(seed: int, request_number: int) -> random.Random:
    return random.Random(f"{seed}:{request_number}")


def generation_seconds(config: SimConfig, width: int, height: int, rng: random.Random) -> float:
    """Scaled generation time of one image of ``width`` x ``height`` (always drawn, even when
    sigma is 0, so the fault draw that follows stays aligned)."""
    z = rng.gauss(0.0, 1.0)
    megapixels = (width * height) / 1_000_000
    base = config.median * (megapixels**config.mp_exponent if config.mp_exponent else 1.0)
    return max(0.0, base * math.exp(config.sigma * z) * config.time_scale)


def draw_fault(config: SimConfig, rng: random.Random, applicable: frozenset[str]) -> str | None:
    """At most one fault: walk the cumulative rates with one uniform draw."""
    u = rng.random()
    cumulative = 0.0
    for name in FAULTS:
        if name not in applicable:
            continue
        cumulative += float(getattr(config, f"{name}_rate"))
        if u < cumulative:
            return name
    return None


class GpuPool:
    """``slots`` concurrent generations and a FIFO queue of at most ``max_queue`` waiters.

    ``slots == 0`` means unlimited; ``max_queue < 0`` means an unbounded queue. Both can change
    while running (:meth:`reconfigure`); a shrink takes effect as running generations end.
    """

    def __init__(self, slots: int, max_queue: int) -> None:
        self.slots = slots
        self.max_queue = max_queue
        self.running = 0
        self._waiters: collections.deque[asyncio.Future[None]] = collections.deque()

    @property
    def queued(self) -> int:
        return len(self._waiters)

    def _has_free_slot(self) -> bool:
        return self.slots == 0 or self.running < self.slots

    def enter(self) -> asyncio.Future[None] | None:
        """Take a free slot (None) or a place in the queue (a future to :meth:`wait` on).

        Synchronous, so admission is decided in arrival order; raises :class:`Throttled` when
        the queue already holds ``max_queue`` requests.
        """
        if self._has_free_slot() and not self._waiters:
            self.running += 1
            return None
        if 0 <= self.max_queue <= len(self._waiters):
            raise Throttled()
        waiter: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._waiters.append(waiter)
        return waiter

    async def wait(self, waiter: asyncio.Future[None] | None) -> None:
        """Wait until the queued ``waiter`` is handed a slot (no-op for None)."""
        if waiter is None:
            return
        try:
            await waiter
        except asyncio.CancelledError:
            if waiter.done() and not waiter.cancelled():
                # the slot was handed over just as we were cancelled: give it back
                self.release()
            else:
                self._remove(waiter)
            raise

    async def acquire(self) -> None:
        """Wait for a slot in FIFO order; raise :class:`Throttled` if the queue is full."""
        await self.wait(self.enter())

    def withdraw(self, waiter: asyncio.Future[None]) -> None:
        """Take a still-queued waiter out of the queue (a cancel before it got a slot)."""
        if not waiter.done():
            waiter.cancel()
        self._remove(waiter)

    def _remove(self, waiter: asyncio.Future[None]) -> None:
        with contextlib.suppress(ValueError):
            self._waiters.remove(waiter)

    def release(self) -> None:
        self.running -= 1
        self._wake()

    def _wake(self) -> None:
        while self._waiters and self._has_free_slot():
            waiter = self._waiters.popleft()
            if waiter.done():
                continue
            self.running += 1
            waiter.set_result(None)

    def reconfigure(self, slots: int, max_queue: int) -> None:
        self.slots = slots
        self.max_queue = max_queue
        self._wake()
