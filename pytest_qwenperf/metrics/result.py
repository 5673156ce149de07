"""LoadResult: the measured outcome of one load run, and every metric derived from it.

The fields below are the contract between the engine (which fills them) and everything that
reads them (gates, reports, plugin). Metrics are computed here and nowhere else (the
statistics themselves live in :mod:`pytest_qwenperf.metrics.stats`).

Definitions (binding, from the design): a *sample* is one planned request; *latency* counts
from the request's intended start. ``p50 ... max`` are nearest-rank percentiles over **all**
samples, a sample without an image counting as infinitely slow (so ``p95 <= 12 s`` means at
least 95% of requests produced an image within 12 s); ``ok_p50 ... ok_max`` and ``mean`` are
over successful samples only. Rates are counts over n. ``throughput`` is successful images
per second of ``wall_time_s``.

Undefined values are ``None`` (never NaN): a rate or percentile of zero samples, the mean of
no successes, throughput without wall time. An infinite percentile (``p95`` when more than 5%
of requests produced no image) is ``math.inf`` in Python and the string ``"inf"`` in
:meth:`LoadResult.to_dict`.

A result is immutable once built: derived values (sorted latencies, counts) are computed
lazily on first use and cached, so ~100,000 samples cost one sort.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

from pytest_qwenperf.metrics import stats
from pytest_qwenperf.metrics.sample import Outcome, Sample

#: Every metric a gate can name, in the order reports show them.
METRIC_NAMES: tuple[str, ...] = (
    "p50",
    "p90",
    "p95",
    "p99",
    "max",
    "ok_p50",
    "ok_p90",
    "ok_p95",
    "ok_p99",
    "ok_max",
    "mean",
    "success_rate",
    "timeout_rate",
    "error_5xx_rate",
    "error_4xx_rate",
    "throttled_rate",
    "error_rate",
    "throughput",
)

#: Percentile metrics -> p (``max`` is p = 1). ``ok_`` variants use the same p.
PERCENTILES: dict[str, float] = {"p50": 0.50, "p90": 0.90, "p95": 0.95, "p99": 0.99, "max": 1.0}

#: Rate metrics -> the outcome they count (``error_rate`` counts everything but ``ok``).
RATE_OUTCOMES: dict[str, Outcome | None] = {
    "success_rate": Outcome.OK,
    "timeout_rate": Outcome.TIMEOUT,
    "error_5xx_rate": Outcome.HTTP_5XX,
    "error_4xx_rate": Outcome.HTTP_4XX,
    "throttled_rate": Outcome.THROTTLED,
    "error_rate": None,
}

#: ``format`` and ``format_version`` of :meth:`LoadResult.to_dict`.
RESULT_FORMAT = "pytest-qwenperf/load-result"
RESULT_FORMAT_VERSION = 1

_SUMMARY_PERCENTILES: tuple[tuple[str, float], ...] = (
    ("p50", 0.50),
    ("p90", 0.90),
    ("p95", 0.95),
    ("p99", 0.99),
)


def encode_float(value: float | None) -> float | str | None:
    """JSON-safe number: finite floats as is, ``inf``/``-inf``/``nan`` as those strings."""
    if value is None:
        return None
    if math.isfinite(value):
        return value
    if math.isnan(value):
        return "nan"
    return "inf" if value > 0 else "-inf"


def decode_float(value: object) -> float | None:
    """Inverse of :func:`encode_float`."""
    if value is None:
        return None
    if isinstance(value, bool):
        raise ValueError(f"expected a number, got {value!r}")
    if isinstance(value, (int, float, str)):
        return float(value)
    raise ValueError(f"expected a number, got {value!r}")


def _encode_tree(value: Any) -> Any:
    """Plain data with non-finite floats encoded as strings (for free-form dicts)."""
    if isinstance(value, float):
        return encode_float(value)
    if isinstance(value, Mapping):
        return {str(k): _encode_tree(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_encode_tree(v) for v in value]
    return value


def summarize(values: Iterable[float]) -> dict[str, float | int | None]:
    """n, mean, nearest-rank p50/p90/p95/p99 and max of some seconds (None values skipped)."""
    ordered = sorted(values)
    n = len(ordered)
    out: dict[str, float | int | None] = {"n": n}
    out["mean"] = math.fsum(ordered) / n if n else None
    for name, p in _SUMMARY_PERCENTILES:
        out[name] = stats.percentile(ordered, p)
    out["max"] = ordered[-1] if n else None
    return out


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

    def to_dict(self) -> dict[str, Any]:
        return {
            "cpu_utilisation": encode_float(self.cpu_utilisation),
            "lag_p99_s": encode_float(self.lag_p99_s),
            "lag_max_s": encode_float(self.lag_max_s),
            "client_bound": self.client_bound,
            "note": self.note,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> SelfCheck:
        return cls(
            cpu_utilisation=float(decode_float(data["cpu_utilisation"]) or 0.0),
            lag_p99_s=float(decode_float(data["lag_p99_s"]) or 0.0),
            lag_max_s=float(decode_float(data["lag_max_s"]) or 0.0),
            client_bound=bool(data["client_bound"]),
            note=data.get("note"),
        )


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

    # ----------------------------------------------------------------------------------------
    # Counts
    # ----------------------------------------------------------------------------------------

    @property
    def n(self) -> int:
        """Samples in the measured phase (one per planned request that was scheduled)."""
        return len(self.samples)

    @cached_property
    def _counts(self) -> Counter[Outcome]:
        return Counter(s.outcome for s in self.samples)

    def count(self, outcome: Outcome | str) -> int:
        """Samples whose final outcome is ``outcome``."""
        return self._counts[Outcome(outcome)]

    def counts(self) -> dict[str, int]:
        """Final outcome class -> samples, every class present (zeros included)."""
        return {o.value: self._counts[o] for o in Outcome}

    @property
    def ok_count(self) -> int:
        """Samples that produced an image."""
        return self._counts[Outcome.OK]

    # ----------------------------------------------------------------------------------------
    # Latency
    # ----------------------------------------------------------------------------------------

    @cached_property
    def _latencies(self) -> tuple[float, ...]:
        return tuple(sorted(s.latency if s.ok else math.inf for s in self.samples))

    @cached_property
    def _ok_latencies(self) -> tuple[float, ...]:
        return tuple(sorted(s.latency for s in self.samples if s.ok))

    def latencies(self) -> tuple[float, ...]:
        """Latency of every sample, ascending; a sample without an image is ``math.inf``."""
        return self._latencies

    def ok_latencies(self) -> tuple[float, ...]:
        """Latency of the successful samples, ascending."""
        return self._ok_latencies

    def percentile(self, p: float) -> float | None:
        """Nearest-rank p-quantile over all samples (inf for failures); None when n == 0."""
        return stats.percentile(self._latencies, p)

    def ok_percentile(self, p: float) -> float | None:
        """Nearest-rank p-quantile over successful samples; None when there are none."""
        return stats.percentile(self._ok_latencies, p)

    @property
    def p50(self) -> float | None:
        return self.percentile(0.50)

    @property
    def p90(self) -> float | None:
        return self.percentile(0.90)

    @property
    def p95(self) -> float | None:
        return self.percentile(0.95)

    @property
    def p99(self) -> float | None:
        return self.percentile(0.99)

    @property
    def max(self) -> float | None:
        """Slowest sample; inf when any request produced no image."""
        return self.percentile(1.0)

    @property
    def ok_p50(self) -> float | None:
        return self.ok_percentile(0.50)

    @property
    def ok_p90(self) -> float | None:
        return self.ok_percentile(0.90)

    @property
    def ok_p95(self) -> float | None:
        return self.ok_percentile(0.95)

    @property
    def ok_p99(self) -> float | None:
        return self.ok_percentile(0.99)

    @property
    def ok_max(self) -> float | None:
        return self.ok_percentile(1.0)

    @property
    def mean(self) -> float | None:
        """Mean latency of successful samples; None when there are none."""
        ok = self._ok_latencies
        return math.fsum(ok) / len(ok) if ok else None

    # ----------------------------------------------------------------------------------------
    # Rates and throughput
    # ----------------------------------------------------------------------------------------

    def _rate(self, count: int) -> float | None:
        return count / self.n if self.n else None

    @property
    def success_rate(self) -> float | None:
        """Share of samples that produced an image; None when n == 0."""
        return self._rate(self.ok_count)

    @property
    def timeout_rate(self) -> float | None:
        return self._rate(self.count(Outcome.TIMEOUT))

    @property
    def error_5xx_rate(self) -> float | None:
        return self._rate(self.count(Outcome.HTTP_5XX))

    @property
    def error_4xx_rate(self) -> float | None:
        """Final 4xx outcomes other than 429 (those are ``throttled_rate``)."""
        return self._rate(self.count(Outcome.HTTP_4XX))

    @property
    def throttled_rate(self) -> float | None:
        return self._rate(self.count(Outcome.THROTTLED))

    @property
    def error_rate(self) -> float | None:
        """1 - success_rate (computed as (n - ok) / n, without float noise)."""
        return self._rate(self.n - self.ok_count)

    @property
    def throughput(self) -> float | None:
        """Successful images per second of ``wall_time_s``; None without samples or time."""
        if self.n == 0 or not self.wall_time_s > 0:
            return None
        return self.ok_count / self.wall_time_s

    @property
    def achieved_concurrency(self) -> float | None:
        """Mean requests in flight (sent, not finished) over the wall time (Little's law)."""
        if self.n == 0 or not self.wall_time_s > 0:
            return None
        return math.fsum(max(0.0, s.end - s.start) for s in self.samples) / self.wall_time_s

    # ----------------------------------------------------------------------------------------
    # The gate metrics
    # ----------------------------------------------------------------------------------------

    def metric(self, name: str) -> float | None:
        """The value of one gate metric (see :data:`METRIC_NAMES`)."""
        if name not in METRIC_NAMES:
            raise KeyError(f"unknown metric {name!r}; known: {', '.join(METRIC_NAMES)}")
        value: float | None = getattr(self, name)
        return value

    def metrics(self) -> dict[str, float | None]:
        """Every gate metric, keyed by exactly :data:`METRIC_NAMES` (None = undefined)."""
        return {name: self.metric(name) for name in METRIC_NAMES}

    def metric_count(self, name: str) -> int | None:
        """Numerator of a rate metric (e.g. timeouts for ``timeout_rate``); None otherwise."""
        if name not in RATE_OUTCOMES:
            if name in METRIC_NAMES:
                return None
            raise KeyError(f"unknown metric {name!r}; known: {', '.join(METRIC_NAMES)}")
        outcome = RATE_OUTCOMES[name]
        if outcome is None:
            return self.n - self.ok_count
        return self.count(outcome)

    def metric_n(self, name: str) -> int:
        """How many samples a metric is computed over (successes for ``ok_*`` and ``mean``)."""
        if name.startswith("ok_") or name == "mean":
            return self.ok_count
        return self.n

    # ----------------------------------------------------------------------------------------
    # Diagnostics beside the gate metrics
    # ----------------------------------------------------------------------------------------

    @property
    def retried(self) -> int:
        """Samples that needed more than one attempt."""
        return sum(1 for s in self.samples if len(s.attempts) > 1)

    def first_attempt_rates(self) -> dict[str, float | int] | None:
        """Outcome rates of each request's *first* attempt, beside the final rates.

        None when no request was retried (then first-attempt and final rates are equal).
        Keys: ``n``, ``attempts`` (total HTTP attempts), ``retried`` (samples with more than
        one attempt), and the rate metric names (``success_rate``, ``timeout_rate``, ...)
        computed over first attempts, plus ``counts`` by outcome class. A sample that
        recorded no attempts counts its final outcome as its first.
        """
        if self.n == 0 or self.retried == 0:
            return None
        first = Counter(s.attempts[0].outcome if s.attempts else s.outcome for s in self.samples)
        n = self.n
        out: dict[str, Any] = {
            "n": n,
            "attempts": sum(max(1, len(s.attempts)) for s in self.samples),
            "retried": self.retried,
        }
        for name, outcome in RATE_OUTCOMES.items():
            count = n - first[Outcome.OK] if outcome is None else first[outcome]
            out[name] = count / n
        out["counts"] = {o.value: first[o] for o in Outcome}
        return out

    def client_queue(self) -> dict[str, float | int | None] | None:
        """Open loop: seconds requests waited on the client for a free worker (summary, plus
        ``late_starts``); None in closed loop or without samples."""
        if self.mode != "open" or self.n == 0:
            return None
        out = summarize(s.client_queue_s for s in self.samples)
        out["late_starts"] = self.late_starts
        return out

    def service_queue(self) -> dict[str, float | int | None] | None:
        """Queue wait as the service reported it (seconds); None when no sample had it."""
        values = [s.service_queue_s for s in self.samples if s.service_queue_s is not None]
        return summarize(values) if values else None

    def service_generation(self) -> dict[str, float | int | None] | None:
        """Generation time as the service reported it (seconds); None when no sample had it."""
        values = [
            s.service_generation_s for s in self.samples if s.service_generation_s is not None
        ]
        return summarize(values) if values else None

    def warmup_summary(self) -> dict[str, Any] | None:
        """The warm-up requests (excluded from every metric): None when there were none.

        ``first_latency`` is the first warm-up request's latency (the cold start), None when
        it produced no image; ``latency`` summarises the successful warm-up requests.
        """
        if not self.warmup_samples:
            return None
        ordered = sorted(self.warmup_samples, key=lambda s: (s.intended_start, s.index))
        ok = [s for s in ordered if s.ok]
        first = ordered[0]
        return {
            "n": len(ordered),
            "ok_count": len(ok),
            "success_rate": len(ok) / len(ordered),
            "first_latency": first.latency if first.ok else None,
            "first_outcome": first.outcome.value,
            "latency": summarize(s.latency for s in ok),
            "counts": dict(Counter(s.outcome.value for s in ordered)),
        }

    # ----------------------------------------------------------------------------------------
    # Plain data
    # ----------------------------------------------------------------------------------------

    def to_dict(self, include_samples: bool = True) -> dict[str, Any]:
        """Plain, JSON-serialisable data (``json.dumps(..., allow_nan=False)`` works).

        Layout (``format_version`` 1)::

            format, format_version, label, mode, workers, rate, planned, wall_time_s,
            started_at, interrupted, deadline_hit, config, selfcheck (dict or null),
            max_in_flight, late_starts,
            n, ok_count, retried, achieved_concurrency,
            counts         {outcome class: samples}, every class
            metrics        {metric name: number | null | "inf"}, exactly METRIC_NAMES
            metric_counts  {rate metric name: numerator}
            first_attempt  first_attempt_rates() or null
            client_queue, service_queue, service_generation   summaries or null
            warmup         warmup_summary() or null
            samples, warmup_samples   lists of Sample.to_dict() (only with include_samples)

        Metric values: ``null`` means undefined (no data), the string ``"inf"`` means
        infinite (e.g. p95 when more than 5% of requests produced no image). The computed
        sections are for readers (reports, JSON Schema); :meth:`from_dict` ignores them and
        recomputes everything from the samples, so only a dict with samples reads back.
        """
        data: dict[str, Any] = {
            "format": RESULT_FORMAT,
            "format_version": RESULT_FORMAT_VERSION,
            "label": self.label,
            "mode": self.mode,
            "workers": self.workers,
            "rate": encode_float(self.rate),
            "planned": self.planned,
            "wall_time_s": encode_float(self.wall_time_s),
            "started_at": encode_float(self.started_at),
            "interrupted": self.interrupted,
            "deadline_hit": self.deadline_hit,
            "config": _encode_tree(self.config),
            "selfcheck": None if self.selfcheck is None else self.selfcheck.to_dict(),
            "max_in_flight": self.max_in_flight,
            "late_starts": self.late_starts,
            "n": self.n,
            "ok_count": self.ok_count,
            "retried": self.retried,
            "achieved_concurrency": encode_float(self.achieved_concurrency),
            "counts": self.counts(),
            "metrics": {k: encode_float(v) for k, v in self.metrics().items()},
            "metric_counts": {name: self.metric_count(name) for name in RATE_OUTCOMES},
            "first_attempt": _encode_tree(self.first_attempt_rates()),
            "client_queue": _encode_tree(self.client_queue()),
            "service_queue": _encode_tree(self.service_queue()),
            "service_generation": _encode_tree(self.service_generation()),
            "warmup": _encode_tree(self.warmup_summary()),
        }
        if include_samples:
            data["samples"] = [s.to_dict() for s in self.samples]
            data["warmup_samples"] = [s.to_dict() for s in self.warmup_samples]
        return data

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> LoadResult:
        """Read back :meth:`to_dict` output (it must include the samples)."""
        if data.get("format", RESULT_FORMAT) != RESULT_FORMAT:
            raise ValueError(f"not a load result: format {data.get('format')!r}")
        version = data.get("format_version", RESULT_FORMAT_VERSION)
        if version != RESULT_FORMAT_VERSION:
            raise ValueError(
                f"load result format_version {version!r} is not supported "
                f"(this version reads {RESULT_FORMAT_VERSION})"
            )
        if "samples" not in data:
            raise ValueError(
                "this load result was written without samples (to_dict(include_samples=False))"
                " and cannot be read back; write it with include_samples=True"
            )
        selfcheck = data.get("selfcheck")
        return cls(
            samples=[Sample.from_dict(s) for s in data["samples"]],
            mode=str(data["mode"]),
            workers=int(data["workers"]),
            rate=decode_float(data.get("rate")),
            planned=int(data["planned"]),
            wall_time_s=float(decode_float(data["wall_time_s"]) or 0.0),
            started_at=float(decode_float(data["started_at"]) or 0.0),
            warmup_samples=[Sample.from_dict(s) for s in data.get("warmup_samples", ())],
            interrupted=bool(data.get("interrupted", False)),
            deadline_hit=bool(data.get("deadline_hit", False)),
            label=str(data.get("label", "")),
            config=dict(data.get("config", {})),
            selfcheck=None if selfcheck is None else SelfCheck.from_dict(selfcheck),
            max_in_flight=int(data.get("max_in_flight", 0)),
            late_starts=int(data.get("late_starts", 0)),
        )
