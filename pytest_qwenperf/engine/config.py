"""LoadConfig: what one load run does. Plain data, validated on construction."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

#: The SDK's default poll cadence: at once, then 1 s, 1 s, 2 s x3, 4 s x3, then 5 s for ever.
DEFAULT_POLL_INTERVALS: tuple[float, ...] = (0.0, 1.0, 1.0, 2.0, 2.0, 2.0, 4.0, 4.0, 4.0, 5.0)

APIS = ("dashscope", "dashscope-async", "openai")


@dataclass(frozen=True)
class LoadConfig:
    """One load run.

    ``rate`` set -> open loop (requests per second, ``workers`` caps requests in flight);
    ``rate`` None -> closed loop (``workers`` threads sending back to back).
    """

    url: str
    api: str = "dashscope"
    model: str = "qwen-image"
    requests: int = 20
    workers: int = 4
    rate: float | None = None
    #: ``"constant"`` or ``"poisson"`` inter-arrival times in open loop.
    arrival: str = "constant"
    #: Per-request deadline in seconds: connect, every poll and the whole body.
    timeout: float = 120.0
    retries: int = 0
    warmup: int = 0
    #: ``"W*H"``; None means the API's default.
    size: str | None = None
    prompts: tuple[str, ...] = ("a photo of an orange cat sitting on a windowsill",)
    #: Input images (URLs or data: URIs) for an image-edit run; empty for text-to-image.
    images: tuple[str, ...] = ()
    api_key: str | None = field(default=None, repr=False)
    #: Deadline for the whole run in seconds (None: no limit beyond per-request deadlines).
    run_deadline: float | None = None
    #: Seconds to sleep before each poll of an async task; the last value repeats.
    poll_intervals: tuple[float, ...] = DEFAULT_POLL_INTERVALS
    verify_tls: bool = True
    seed: int | None = None
    #: Retry backoff: base * 2**attempt with full jitter, capped; Retry-After honoured up to
    #: ``retry_after_cap``.
    retry_backoff_base: float = 0.5
    retry_backoff_cap: float = 8.0
    retry_after_cap: float = 30.0
    #: Extra request parameters passed through to the API (e.g. prompt_extend, watermark).
    parameters: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        problems: list[str] = []
        if self.api not in APIS:
            problems.append(f"api must be one of {', '.join(APIS)}, got {self.api!r}")
        if self.requests < 0:
            problems.append(f"requests must be >= 0, got {self.requests!r}")
        if self.workers < 1:
            problems.append(f"workers must be >= 1, got {self.workers!r}")
        if self.rate is not None and not self.rate > 0:
            problems.append(f"rate must be > 0 requests per second, got {self.rate!r}")
        if self.arrival not in ("constant", "poisson"):
            problems.append(f"arrival must be 'constant' or 'poisson', got {self.arrival!r}")
        if not self.timeout > 0:
            problems.append(f"timeout must be > 0 seconds, got {self.timeout!r}")
        if self.retries < 0:
            problems.append(f"retries must be >= 0, got {self.retries!r}")
        if self.warmup < 0:
            problems.append(f"warmup must be >= 0, got {self.warmup!r}")
        if not self.prompts:
            problems.append("prompts must not be empty")
        if self.run_deadline is not None and not self.run_deadline > 0:
            problems.append(f"run_deadline must be > 0 seconds, got {self.run_deadline!r}")
        if not self.poll_intervals or any(p < 0 for p in self.poll_intervals):
            problems.append("poll_intervals must be a non-empty list of non-negative seconds")
        if problems:
            raise ValueError("; ".join(problems))

    @property
    def mode(self) -> str:
        return "closed" if self.rate is None else "open"

    def describe(self) -> dict[str, Any]:
        """The configuration as plain data for reports: never the API key."""
        return {
            "url": self.url,
            "api": self.api,
            "model": self.model,
            "mode": self.mode,
            "requests": self.requests,
            "workers": self.workers,
            "rate": self.rate,
            "arrival": self.arrival,
            "timeout": self.timeout,
            "retries": self.retries,
            "warmup": self.warmup,
            "size": self.size,
            "prompts": len(self.prompts),
            "images": len(self.images),
            "run_deadline": self.run_deadline,
            "verify_tls": self.verify_tls,
            "api_key_set": self.api_key is not None,
        }
