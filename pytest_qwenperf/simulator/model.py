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
from collections.abc import Callable

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


class Ticket:
    """A request's claim on a GPU slot: granted at once or queued until a slot frees."""

    __slots__ = ("granted", "on_grant")

    def __init__(self, on_grant: Callable[[], None]) -> None:
        self.on_grant = on_grant
        self.granted = False


class GpuPool:
    """``slots`` concurrent generations and a FIFO queue of at most ``max_queue`` requests.

    ``slots == 0`` means unlimited; ``max_queue < 0`` means an unbounded queue. Both can change
    while running (:meth:`reconfigure`); a shrink takes effect as running generations end.

    Grants are callbacks, called synchronously at the instant the slot is free (in
    :meth:`enter` or in the :meth:`release` of the generation before), so a generation starts
    with no event-loop hop in between: this is what keeps timing exact under load.
    """

    def __init__(self, slots: int, max_queue: int) -> None:
        self.slots = slots
        self.max_queue = max_queue
        self.running = 0
        self._queue: collections.deque[Ticket] = collections.deque()

    @property
    def queued(self) -> int:
        return len(self._queue)

    def _has_free_slot(self) -> bool:
        return self.slots == 0 or self.running < self.slots

    def enter(self, on_grant: Callable[[], None]) -> Ticket:
        """Claim a slot: ``on_grant()`` runs now if one is free, else when it is this
        request's turn. Raises :class:`Throttled` when the queue already holds ``max_queue``."""
        ticket = Ticket(on_grant)
        if self._has_free_slot() and not self._queue:
            self._grant(ticket)
        elif 0 <= self.max_queue <= len(self._queue):
            raise Throttled()
        else:
            self._queue.append(ticket)
        return ticket

    def withdraw(self, ticket: Ticket) -> bool:
        """Leave the queue before being granted (True), or False if already granted."""
        if ticket.granted:
            return False
        with contextlib.suppress(ValueError):
            self._queue.remove(ticket)
        return True

    def release(self) -> None:
        """A generation ended: its slot goes to the head of the queue."""
        self.running -= 1
        self._wake()

    def _grant(self, ticket: Ticket) -> None:
        self.running += 1
        ticket.granted = True
        ticket.on_grant()

    def _wake(self) -> None:
        while self._queue and self._has_free_slot():
            self._grant(self._queue.popleft())

    def reconfigure(self, slots: int, max_queue: int) -> None:
        self.slots = slots
        self.max_queue = max_queue
        self._wake()


class Generation:
    """One request's time on a GPU: starts when its ticket is granted, ends ``seconds`` later
    on a loop timer (``loop.call_at``), then frees the slot. It goes on when the client has
    gone away, as real GPU work would; ``done`` resolves at the end (unless cancelled)."""

    def __init__(
        self,
        pool: GpuPool,
        seconds: float,
        on_start: Callable[[float], None],
        on_end: Callable[[float], None],
    ) -> None:
        self.loop = asyncio.get_running_loop()
        self.pool = pool
        self.seconds = seconds
        self.on_start = on_start
        self.on_end = on_end
        self.done: asyncio.Future[None] = self.loop.create_future()
        self.ticket: Ticket | None = None
        self.timer: asyncio.TimerHandle | None = None

    def enter(self) -> Generation:
        """Join the pool (raises :class:`Throttled`)."""
        self.ticket = self.pool.enter(self._start)
        return self

    def _start(self) -> None:
        start = self.loop.time()
        self.on_start(start)
        self.timer = self.loop.call_at(start + self.seconds, self._end)

    def _end(self) -> None:
        # recorded before the slot is handed over, so the next start is never earlier
        self.on_end(self.loop.time())
        self.pool.release()
        if not self.done.done():
            self.done.set_result(None)

    def withdraw(self) -> bool:
        """Leave the queue if not started yet (an async task cancelled while PENDING)."""
        if self.ticket is None or not self.pool.withdraw(self.ticket):
            return False
        if not self.done.done():
            self.done.cancel()
        return True
