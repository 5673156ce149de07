"""Simulator parameters (:class:`SimConfig`) and the named profiles built from them.

Every time in a :class:`SimConfig` is in seconds *at time_scale 1*; the simulator multiplies
each of them by ``time_scale`` when it uses it (``hang_max_s`` is the one exception: it is a
wall-clock safety cap). Faults are independent per-request probabilities whose sum must not
exceed 1: one uniform draw per request picks at most one fault.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Mapping
from dataclasses import dataclass, fields
from typing import Any

#: Fault names in the order the per-request draw walks them. ``<name>_rate`` is the
#: :class:`SimConfig` field of each; a request header ``X-Sim-Fault: <name>`` forces one.
FAULTS: tuple[str, ...] = (
    "error_5xx",
    "gateway_502",
    "gateway_503",
    "gateway_504",
    "hang",
    "slow_drip",
    "reset",
    "malformed_json",
    "no_image",
    "task_failed",
    "data_inspection",
)

RATE_FIELDS: tuple[str, ...] = tuple(f"{name}_rate" for name in FAULTS)


@dataclass(frozen=True)
class SimConfig:
    """Every model and fault parameter of the simulator (frozen; use :meth:`replace`)."""

    #: concurrent generations (GPUs); 0 means unlimited
    slots: int = 8
    #: median generation time in seconds of a 1-megapixel image at time_scale 1
    median: float = 15.0
    #: lognormal shape of the generation time (0 = every generation takes exactly the median)
    sigma: float = 0.25
    #: generation time grows as megapixels ** mp_exponent (0 = independent of size)
    mp_exponent: float = 1.0
    #: requests allowed to wait for a slot; one more gets 429 Throttling. Negative = unlimited
    max_queue: int = 200
    #: Retry-After of a 429 in seconds at time_scale 1 (header: ceil(retry_after*time_scale), >=1)
    retry_after: float = 5.0
    #: multiplies every simulated time (generation, drip interval, Retry-After, task expiry)
    time_scale: float = 1.0
    #: seeds every random draw; request number k always gets the same draws for the same seed
    seed: int = 0
    #: when set, requests need ``Authorization: Bearer <api_key>`` (else 401)
    api_key: str | None = None
    #: per-byte delay of the slow_drip fault, seconds at time_scale 1
    drip_interval_s: float = 0.5
    #: async task results expire after this many seconds at time_scale 1 (then UNKNOWN)
    task_ttl_s: float = 86400.0
    #: wall-clock cap on a hung request (not scaled), after which the server aborts it
    hang_max_s: float = 600.0
    #: when true, error bodies echo the request headers (secret-leak canary tests only)
    echo_headers: bool = False
    error_5xx_rate: float = 0.0
    gateway_502_rate: float = 0.0
    gateway_503_rate: float = 0.0
    gateway_504_rate: float = 0.0
    hang_rate: float = 0.0
    slow_drip_rate: float = 0.0
    reset_rate: float = 0.0
    malformed_json_rate: float = 0.0
    no_image_rate: float = 0.0
    task_failed_rate: float = 0.0
    data_inspection_rate: float = 0.0

    def __post_init__(self) -> None:
        validate(self)

    def replace(self, **overrides: Any) -> SimConfig:
        """A copy with ``overrides`` applied; unknown keys and bad values raise ValueError."""
        return dataclasses.replace(self, **coerce(overrides))

    def fault_rates(self) -> dict[str, float]:
        return {name: float(getattr(self, f"{name}_rate")) for name in FAULTS}

    def to_dict(self, *, redact: bool = True) -> dict[str, Any]:
        """All fields as JSON-ready values; the API key is never shown when ``redact``."""
        data = dataclasses.asdict(self)
        if redact:
            data["api_key"] = "***" if self.api_key else None
        return data


FIELD_TYPES: dict[str, str] = {f.name: str(f.type) for f in fields(SimConfig)}
_INT_FIELDS = {"slots", "max_queue", "seed"}
_BOOL_FIELDS = {"echo_headers"}
_NON_NEGATIVE = {"median", "sigma", "mp_exponent", "retry_after", "drip_interval_s", "task_ttl_s"}
_POSITIVE = {"time_scale", "hang_max_s"}


def coerce(overrides: Mapping[str, Any]) -> dict[str, Any]:
    """Check keys and convert values to the field types; raise ValueError naming the key."""
    out: dict[str, Any] = {}
    for key, value in overrides.items():
        if key not in FIELD_TYPES:
            known = ", ".join(sorted(FIELD_TYPES))
            raise ValueError(f"unknown simulator parameter {key!r} (known: {known})")
        out[key] = _coerce_one(key, value)
    return out


def _coerce_one(key: str, value: Any) -> Any:
    if key == "api_key":
        if value is not None and not isinstance(value, str):
            raise ValueError("simulator parameter 'api_key' must be a string or None")
        return value or None
    if key in _BOOL_FIELDS:
        if not isinstance(value, bool):
            raise ValueError(f"simulator parameter {key!r} must be true or false, got {value!r}")
        return value
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise ValueError(f"simulator parameter {key!r} must be a number, got {value!r}")
    if key in _INT_FIELDS:
        if isinstance(value, float) and not value.is_integer():
            raise ValueError(f"simulator parameter {key!r} must be an integer, got {value!r}")
        return int(value)
    return float(value)


def validate(config: SimConfig) -> None:
    """Raise ValueError naming the first parameter whose value is out of range."""
    for name in _NON_NEGATIVE | _POSITIVE | set(RATE_FIELDS):
        value = getattr(config, name)
        if not isinstance(value, (int, float)) or not math.isfinite(value):
            raise ValueError(f"simulator parameter {name!r} must be a finite number, got {value!r}")
    for name in _NON_NEGATIVE:
        if getattr(config, name) < 0:
            raise ValueError(
                f"simulator parameter {name!r} must be >= 0, got {getattr(config, name)!r}"
            )
    for name in _POSITIVE:
        if getattr(config, name) <= 0:
            raise ValueError(
                f"simulator parameter {name!r} must be > 0, got {getattr(config, name)!r}"
            )
    if config.slots < 0:
        raise ValueError(
            f"simulator parameter 'slots' must be >= 0 (0 = unlimited), got {config.slots!r}"
        )
    for name in RATE_FIELDS:
        rate = getattr(config, name)
        if not 0.0 <= rate <= 1.0:
            raise ValueError(f"simulator parameter {name!r} must be within [0, 1], got {rate!r}")
    total = sum(getattr(config, name) for name in RATE_FIELDS)
    if total > 1.0 + 1e-9:
        raise ValueError(f"the fault rates add up to {total:g}; their sum must be <= 1")


#: Named starting points; keyword overrides are applied on top of a profile.
PROFILES: dict[str, SimConfig] = {
    # ~20 s for a 1.3 MP image, ~26 s for 1328*1328: the official async examples took 25-29 s.
    "healthy": SimConfig(),
    # same service, 2.5x slower and more spread: a p95 gate that healthy passes fails here
    "degraded": SimConfig(median=37.5, sigma=0.35),
    # a few percent of 5xx, gateway errors, hangs and resets
    "flaky": SimConfig(
        error_5xx_rate=0.03,
        gateway_502_rate=0.01,
        gateway_504_rate=0.01,
        hang_rate=0.02,
        reset_rate=0.01,
    ),
    # two GPUs and a short queue: concurrent load gets 429 Throttling with Retry-After
    "overloaded": SimConfig(slots=2, max_queue=2, retry_after=2.0),
    # exact timing: every generation takes `median` seconds whatever the size, no queueing
    "fixed": SimConfig(slots=0, sigma=0.0, mp_exponent=0.0, max_queue=-1, median=20.0),
}


def build_config(profile: str = "healthy", **overrides: Any) -> SimConfig:
    """The profile's config with overrides applied; unknown profile or key -> ValueError."""
    if profile not in PROFILES:
        raise ValueError(f"unknown simulator profile {profile!r} (known: {', '.join(PROFILES)})")
    return PROFILES[profile].replace(**overrides)
