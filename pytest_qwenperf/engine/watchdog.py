"""The watchdog thread: enforces per-request deadlines and stops in-flight requests.

Each request registers an :class:`~pytest_qwenperf.engine.transport.InFlight` handle. Every
:data:`TICK_S` the watchdog kills (shuts down the socket of) handles whose deadline has passed,
and on stop it kills all of them at once, so no read can outlive an interrupt.
"""

from __future__ import annotations

import threading
import time

from pytest_qwenperf.engine.transport import KILL_DEADLINE, KILL_STOP, InFlight

TICK_S = 0.02


class Watchdog:
    def __init__(self, stop: threading.Event) -> None:
        self._stop = stop
        self._handles: set[InFlight] = set()
        self._lock = threading.Lock()
        self._done = threading.Event()
        self._thread = threading.Thread(target=self._run, name="qwenperf-watchdog", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def close(self) -> None:
        self._done.set()
        if self._thread.ident is not None:
            self._thread.join(timeout=5.0)

    def register(self, handle: InFlight) -> None:
        with self._lock:
            self._handles.add(handle)
        if self._stop.is_set():
            handle.kill(KILL_STOP)

    def unregister(self, handle: InFlight) -> None:
        with self._lock:
            self._handles.discard(handle)

    def _run(self) -> None:
        while not self._done.is_set():
            stopping = self._stop.wait(TICK_S)
            now = time.monotonic()
            with self._lock:
                handles = list(self._handles)
            for handle in handles:
                if stopping:
                    handle.kill(KILL_STOP)
                elif now >= handle.deadline:
                    handle.kill(KILL_DEADLINE)
            if stopping:
                # Keep killing late registrations, but without spinning.
                self._done.wait(TICK_S)
