"""Shared state of one running simulator: live config, GPU pool, tasks and the ground truth.

The ground truth is one dict per request (see :data:`RECORD_KEYS` and docs/simulator.md).
Times in records are epoch seconds (``time.time()`` scale) derived from the monotonic clock,
so differences between them are exact and they can be compared with a client's wall clock.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import threading
import time
import uuid
from dataclasses import dataclass, field
from typing import Any

from pytest_qwenperf.simulator.config import SimConfig
from pytest_qwenperf.simulator.model import Generation, GpuPool
from pytest_qwenperf.simulator.validation import GenRequest

#: every ground-truth record has exactly these keys (None when not applicable)
RECORD_KEYS: tuple[str, ...] = (
    "id",
    "request_id",
    "task_id",
    "api",
    "method",
    "path",
    "model",
    "status",
    "outcome",
    "fault",
    "error_code",
    "arrival",
    "gen_start",
    "gen_end",
    "sent",
    "disconnected",
    "queue_wait_s",
    "drawn_generation_s",
    "generation_s",
    "server_s",
    "width",
    "height",
    "n",
    "images",
    "prompt_chars",
    "task_status",
    "polls",
    "final_poll",
)

TERMINAL_STATUSES = frozenset({"SUCCEEDED", "FAILED", "CANCELED", "UNKNOWN"})


def new_request_id() -> str:
    return str(uuid.uuid4())


@dataclass
class Task:
    """One async image-synthesis task and its lifecycle times (epoch seconds)."""

    task_id: str
    gen: GenRequest
    record: dict[str, Any]
    fault: str | None
    generation_s: float
    submit_time: float
    expires_at: float
    status: str = "PENDING"
    scheduled_time: float | None = None
    end_time: float | None = None
    #: the task's claim on a GPU (withdrawn on cancel while PENDING)
    generation: Generation | None = field(default=None, repr=False)


class SimState:
    """Everything the handlers share. Config changes may come from any thread."""

    def __init__(self, config: SimConfig, profile: str) -> None:
        self.profile = profile
        self._config = config
        self._config_lock = threading.Lock()
        self._records: list[dict[str, Any]] = []
        self._records_lock = threading.Lock()
        self._numbers = itertools.count(1)
        self.pool = GpuPool(config.slots, config.max_queue)
        self.tasks: dict[str, Task] = {}
        #: request handlers in flight (hung ones included); cancelled at shutdown
        self.handlers: set[asyncio.Task[Any]] = set()
        self.loop: asyncio.AbstractEventLoop | None = None
        self._epoch0 = time.time()
        self._mono0 = time.monotonic()

    # clock -------------------------------------------------------------------------------
    def epoch(self, monotonic: float | None = None) -> float:
        """Epoch seconds of a ``time.monotonic()`` reading (default: now)."""
        mono = time.monotonic() if monotonic is None else monotonic
        return self._epoch0 + (mono - self._mono0)

    # config ------------------------------------------------------------------------------
    @property
    def config(self) -> SimConfig:
        return self._config

    def configure(self, **overrides: Any) -> SimConfig:
        """Apply overrides atomically (ValueError on unknown keys or bad values)."""
        with self._config_lock:
            self._config = self._config.replace(**overrides)
            new = self._config
        if self.loop is not None and not self.loop.is_closed():
            # RuntimeError: the loop closed between the check and the call
            with contextlib.suppress(RuntimeError):
                self.loop.call_soon_threadsafe(self.pool.reconfigure, new.slots, new.max_queue)
        else:
            self.pool.reconfigure(new.slots, new.max_queue)
        return new

    # ground truth ------------------------------------------------------------------------
    def new_record(self, api: str, method: str, path: str) -> dict[str, Any]:
        record: dict[str, Any] = dict.fromkeys(RECORD_KEYS)
        record.update(
            id=next(self._numbers),
            request_id=new_request_id(),
            api=api,
            method=method,
            path=path,
            arrival=self.epoch(),
        )
        with self._records_lock:
            self._records.append(record)
        return record

    def stats(self) -> list[dict[str, Any]]:
        with self._records_lock:
            return [dict(record) for record in self._records]

    def reset_stats(self) -> None:
        with self._records_lock:
            self._records.clear()


def finish_timing(record: dict[str, Any]) -> None:
    """Fill the derived durations of a record from its timestamps."""
    arrival = record["arrival"]
    if record["gen_start"] is not None:
        record["queue_wait_s"] = record["gen_start"] - arrival
        if record["gen_end"] is not None:
            record["generation_s"] = record["gen_end"] - record["gen_start"]
    record["server_s"] = None if record["sent"] is None else record["sent"] - arrival
