"""One sample per planned request, whatever happened to it."""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from typing import Any


class Outcome(str, enum.Enum):
    """The outcome class of a request (or of one attempt of it)."""

    OK = "ok"
    TIMEOUT = "timeout"
    HTTP_5XX = "http_5xx"
    HTTP_4XX = "http_4xx"
    THROTTLED = "throttled"
    CONNECTION_ERROR = "connection_error"
    PROTOCOL_ERROR = "protocol_error"
    INVALID_RESPONSE = "invalid_response"
    TASK_FAILED = "task_failed"

    def __str__(self) -> str:
        return self.value


@dataclass(frozen=True, slots=True)
class Attempt:
    """One HTTP attempt of a request (a request has several only when retries are on).

    Times are seconds relative to the run's start (monotonic clock).
    """

    outcome: Outcome
    start: float
    end: float
    status: int | None = None
    error_code: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "outcome": self.outcome.value,
            "start": self.start,
            "end": self.end,
            "status": self.status,
            "error_code": self.error_code,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Attempt:
        return cls(
            outcome=Outcome(data["outcome"]),
            start=float(data["start"]),
            end=float(data["end"]),
            status=data.get("status"),
            error_code=data.get("error_code"),
        )


@dataclass(frozen=True, slots=True)
class Sample:
    """Exactly one per planned request.

    All times are seconds relative to the run's start on the monotonic clock:
    ``intended_start`` is when the schedule meant the request to start (closed loop: when
    the worker became free), ``start`` when it was actually sent, ``end`` when the image was
    ready or the request gave up. ``latency`` counts from the *intended* start, so time spent
    waiting for a free worker in an open-loop run is included (no coordinated omission).
    """

    index: int
    prompt: str
    intended_start: float
    start: float
    end: float
    outcome: Outcome
    status: int | None = None
    error_code: str | None = None
    error_message: str | None = None
    attempts: tuple[Attempt, ...] = ()
    image_urls: tuple[str, ...] = ()
    bytes_received: int = 0
    #: DashScope's own timestamps (``YYYY-MM-DD HH:MM:SS.mmm``) when the response had them.
    service_submit_time: str | None = None
    service_scheduled_time: str | None = None
    service_end_time: str | None = None
    #: Queue wait and generation time as the service reported them (seconds), when known.
    service_queue_s: float | None = None
    service_generation_s: float | None = None
    warmup: bool = False
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def latency(self) -> float:
        """Seconds from the intended start to the end (image ready or gave up)."""
        return self.end - self.intended_start

    @property
    def client_queue_s(self) -> float:
        """Seconds the request waited on the client for a free worker (open loop)."""
        return max(0.0, self.start - self.intended_start)

    @property
    def ok(self) -> bool:
        return self.outcome is Outcome.OK

    def to_dict(self) -> dict[str, Any]:
        return {
            "index": self.index,
            "prompt": self.prompt,
            "intended_start": self.intended_start,
            "start": self.start,
            "end": self.end,
            "latency": self.latency,
            "outcome": self.outcome.value,
            "status": self.status,
            "error_code": self.error_code,
            "error_message": self.error_message,
            "attempts": [a.to_dict() for a in self.attempts],
            "image_urls": list(self.image_urls),
            "bytes_received": self.bytes_received,
            "service_submit_time": self.service_submit_time,
            "service_scheduled_time": self.service_scheduled_time,
            "service_end_time": self.service_end_time,
            "service_queue_s": self.service_queue_s,
            "service_generation_s": self.service_generation_s,
            "warmup": self.warmup,
            "extra": dict(self.extra),
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Sample:
        return cls(
            index=int(data["index"]),
            prompt=str(data["prompt"]),
            intended_start=float(data["intended_start"]),
            start=float(data["start"]),
            end=float(data["end"]),
            outcome=Outcome(data["outcome"]),
            status=data.get("status"),
            error_code=data.get("error_code"),
            error_message=data.get("error_message"),
            attempts=tuple(Attempt.from_dict(a) for a in data.get("attempts", ())),
            image_urls=tuple(data.get("image_urls", ())),
            bytes_received=int(data.get("bytes_received", 0)),
            service_submit_time=data.get("service_submit_time"),
            service_scheduled_time=data.get("service_scheduled_time"),
            service_end_time=data.get("service_end_time"),
            service_queue_s=data.get("service_queue_s"),
            service_generation_s=data.get("service_generation_s"),
            warmup=bool(data.get("warmup", False)),
            extra=dict(data.get("extra", {})),
        )
