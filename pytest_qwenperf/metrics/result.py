"""LoadResult: the measured outcome of one load run, and every metric derived from it.

The fields below are the contract between the engine (which fills them) and everything that
reads them (gates, reports, plugin). Metrics are computed here and nowhere else.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from pytest_qwenperf.metrics.sample import Sample


@dataclass(frozen=True)
class SelfCheck:
    """How busy the load generator itself was; when it was the bottleneck the run is suspect."""

    #: CPU seconds used by this process during the run / wall seconds (1.0 = one core busy).
    cpu_utilisation: float
    #: How late the scheduler woke up compared with when it meant to (seconds).
    lag_p99_s: float
    lag_max_s: float
    #: True when the client, not the service, probably limited the measurement.
    client_bound: bool
    note: str | None = None


@dataclass
class LoadResult:
    """All samples of one run plus what is needed to interpret them."""

    #: Measured samples, one per planned request (warm-up excluded), in index order.
    samples: list[Sample]
    #: ``"closed"`` (N workers back to back: a concurrency measurement) or ``"open"``
    #: (a request rate, latency from the intended start).
    mode: str
    #: Worker threads (closed loop) or the cap on requests in flight (open loop).
    workers: int
    #: Requests per second in open loop, None in closed loop.
    rate: float | None
    #: Requests planned for the measured phase (== len(samples), unless interrupted).
    planned: int
    #: Wall seconds of the measured phase (first intended start to last end).
    wall_time_s: float
    #: Unix time when the run started.
    started_at: float
    warmup_samples: list[Sample] = field(default_factory=list)
    interrupted: bool = False
    #: The run deadline stopped the run before every request was sent.
    deadline_hit: bool = False
    #: Name of the run (the test id and, for a second run in a test, a suffix).
    label: str = ""
    #: Effective configuration as plain data (never the API key).
    config: dict[str, Any] = field(default_factory=dict)
    selfcheck: SelfCheck | None = None
    #: Highest number of requests in flight at once.
    max_in_flight: int = 0
    #: Open loop: requests that started later than intended because every worker was busy.
    late_starts: int = 0
