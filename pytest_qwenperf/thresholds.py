"""SLA thresholds as users write them: the gate metrics, their units and direction, and the
parsers for ``--qwenperf-sla "p95<=12s, timeout_rate<=5%"`` and ``sla(p95="15s")``.

Evaluation against a result lives in :mod:`pytest_qwenperf.gates`.
"""

from __future__ import annotations

import difflib
import math
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal

from pytest_qwenperf.errors import ConfigError
from pytest_qwenperf.metrics.result import (
    METRIC_NAMES,
    PERCENTILES,
)
from pytest_qwenperf.units import (
    format_duration,
    format_rate,
    format_throughput,
    parse_duration,
    parse_rate,
    parse_throughput,
)

MetricKind = Literal["latency", "rate", "throughput"]
Op = Literal["<=", "<", ">=", ">"]
GateMode = Literal["point", "strict", "lenient"]
Status = Literal["pass", "fail", "inconclusive"]

GATE_MODES: tuple[str, ...] = ("point", "strict", "lenient")
OPS: tuple[str, ...] = ("<=", "<", ">=", ">")
#: The command-line spelling used in messages.
GATE_OPTION = "--qwenperf-gate"


@dataclass(frozen=True)
class MetricSpec:
    """What a gate metric is: its kind (how values parse and print) and natural direction."""

    name: str
    kind: MetricKind
    #: ``"<="``: smaller is better (latencies, error rates); ``">="``: larger is better.
    direction: Literal["<=", ">="]
    description: str

    @property
    def allowed_ops(self) -> tuple[str, str]:
        return ("<=", "<") if self.direction == "<=" else (">=", ">")


def _specs() -> dict[str, MetricSpec]:
    table: dict[str, MetricSpec] = {}
    for prefix, over in (("", "all samples, no image = infinite"), ("ok_", "successful samples")):
        for name, p in PERCENTILES.items():
            what = "slowest request" if p == 1.0 else f"{round(p * 100)}th percentile latency"
            table[prefix + name] = MetricSpec(prefix + name, "latency", "<=", f"{what} ({over})")
    table["mean"] = MetricSpec("mean", "latency", "<=", "mean latency of successful samples")
    table["success_rate"] = MetricSpec("success_rate", "rate", ">=", "requests with an image")
    table["timeout_rate"] = MetricSpec("timeout_rate", "rate", "<=", "requests timed out")
    table["error_5xx_rate"] = MetricSpec("error_5xx_rate", "rate", "<=", "final HTTP 5xx")
    table["error_4xx_rate"] = MetricSpec("error_4xx_rate", "rate", "<=", "final 4xx except 429")
    table["throttled_rate"] = MetricSpec("throttled_rate", "rate", "<=", "final HTTP 429")
    table["error_rate"] = MetricSpec("error_rate", "rate", "<=", "requests without an image")
    table["throughput"] = MetricSpec(
        "throughput", "throughput", ">=", "images per second of wall time"
    )
    return {name: table[name] for name in METRIC_NAMES}


#: Every gate metric -> its spec, in :data:`METRIC_NAMES` order.
GATE_METRICS: dict[str, MetricSpec] = _specs()


def _holds(value: float, op: str, threshold: float) -> bool:
    if op == "<=":
        return value <= threshold
    if op == "<":
        return value < threshold
    if op == ">=":
        return value >= threshold
    return value > threshold


_NEGATION = {"<=": ">", "<": ">=", ">=": "<", ">": "<="}


def _fmt(kind: str, value: float | None, *, exact: bool = False, digits: int = 1) -> str:
    if kind == "latency":
        return format_duration(value, exact=exact, digits=digits)
    if kind == "rate":
        return format_rate(value, exact=exact, digits=digits)
    return format_throughput(value, exact=exact, digits=digits + 1)


def _fmt_near(kind: str, value: float | None, threshold: float) -> str:
    """The value with enough digits that it does not print equal to a threshold it differs
    from (11.96 s against 12 s prints as 11.96 s, not 12.0 s)."""
    text = _fmt(kind, value)
    if value is None or not math.isfinite(value) or value == threshold:
        return text
    for digits in range(1, 7):
        text = _fmt(kind, value, digits=digits)
        if text != _fmt(kind, threshold, digits=digits):
            break
    return text


# --------------------------------------------------------------------------------------------
# Thresholds
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Threshold:
    """One SLA: ``metric op value`` (value in seconds, as a fraction, or per second)."""

    metric: str
    op: str
    value: float
    #: Where it came from: ``"sla marker"``, ``"--qwenperf-sla"``, ``"ini qwenperf_sla"``...
    source: str
    #: What the user wrote (``"p95<=12s"`` or ``"p95='15s'"``).
    raw: str

    @property
    def kind(self) -> str:
        return GATE_METRICS[self.metric].kind

    def holds(self, value: float) -> bool:
        return _holds(value, self.op, self.value)

    def describe(self) -> str:
        """``"p95 <= 12 s"``."""
        return f"{self.metric} {self.op} {_fmt(self.kind, self.value, exact=True)}"

    def to_dict(self) -> dict[str, Any]:
        return {
            "metric": self.metric,
            "op": self.op,
            "value": self.value,
            "source": self.source,
            "raw": self.raw,
            "text": self.describe(),
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Threshold:
        return cls(
            metric=str(data["metric"]),
            op=str(data["op"]),
            value=float(data["value"]),
            source=str(data["source"]),
            raw=str(data["raw"]),
        )


def _spec(name: str, source: str, raw: str) -> MetricSpec:
    spec = GATE_METRICS.get(name)
    if spec is not None:
        return spec
    lowered = name.lower().replace("-", "_")
    close = [lowered] if lowered in GATE_METRICS else []
    close = close or difflib.get_close_matches(lowered, list(GATE_METRICS), n=1)
    hint = f" Did you mean {close[0]!r}?" if close else ""
    raise ConfigError(
        f"{source}: unknown SLA metric {name!r} in {raw!r}.{hint} "
        f"Valid metrics: {', '.join(GATE_METRICS)}"
    )


def _value(spec: MetricSpec, value: str | float, source: str) -> float:
    where = f"{source} ({spec.name})"
    if spec.kind == "latency":
        return parse_duration(value, source=where)
    if spec.kind == "rate":
        return parse_rate(value, source=where)
    return parse_throughput(value, source=where)


def _check_op(spec: MetricSpec, op: str, source: str, raw: str) -> None:
    if op in spec.allowed_ops:
        return
    better = "lower" if spec.direction == "<=" else "higher"
    raise ConfigError(
        f"{source}: {raw!r} puts {op!r} on {spec.name}, where {better} is better; an SLA "
        f"bounds the bad side, so write {spec.name}{spec.direction}<value> "
        f"(operators for {spec.name}: {' or '.join(spec.allowed_ops)})"
    )


_ITEM_RE = re.compile(r"^\s*([A-Za-z_][A-Za-z0-9_-]*)\s*(<=|>=|==|=<|=>|!=|<|>|=)\s*(.*?)\s*$")
_LEADING_OP_RE = re.compile(r"^\s*(<=|>=|==|=<|=>|!=|<|>|=)\s*(.*?)\s*$")
_FIX_OP = {"=<": "<=", "=>": ">="}


def _op_error(op: str, spec: MetricSpec, source: str, raw: str) -> ConfigError:
    if op in _FIX_OP:
        return ConfigError(f"{source}: {raw!r}: write {_FIX_OP[op]!r}, not {op!r}")
    return ConfigError(
        f"{source}: {raw!r} uses {op!r}; an SLA is a bound, not an exact value: "
        f"write e.g. {spec.name}{spec.direction}<value>"
    )


def parse_sla_spec(text: str, source: str) -> dict[str, Threshold]:
    """``"p95<=12s, timeout_rate<=5%, error_5xx_rate<=1%"`` -> thresholds by metric.

    Items are separated by commas, semicolons or newlines (ini values may span lines);
    whitespace anywhere is fine; an empty spec is ``{}`` (separators alone are an error).
    Operators: ``<=``, ``<`` for metrics where lower is better, ``>=``, ``>`` for
    ``success_rate`` and ``throughput``.
    """
    if not isinstance(text, str):
        raise ConfigError(
            f"{source}: an SLA spec must be text like 'p95<=12s, timeout_rate<=5%', got {text!r}"
        )
    thresholds: dict[str, Threshold] = {}
    for item in re.split(r"[,;\n]", text):
        raw = item.strip()
        if not raw:
            continue
        match = _ITEM_RE.match(raw)
        if match is None:
            raise ConfigError(
                f"{source}: cannot read {raw!r} in {text!r}; write metric, operator and "
                f"value, e.g. 'p95<=12s, timeout_rate<=5%'"
            )
        name, op, value = match.groups()
        spec = _spec(name, source, raw)
        if op not in OPS:
            raise _op_error(op, spec, source, raw)
        _check_op(spec, op, source, raw)
        if not value:
            raise ConfigError(
                f"{source}: {raw!r} has no value; write e.g. {name}{op}"
                f"{'12s' if spec.kind == 'latency' else '5%' if spec.kind == 'rate' else '2/s'}"
            )
        if name in thresholds:
            raise ConfigError(
                f"{source}: {name} appears twice in {text!r} "
                f"({thresholds[name].raw!r} and {raw!r}); keep one"
            )
        thresholds[name] = Threshold(name, op, _value(spec, value, source), source, raw)
    if text.strip() and not thresholds:
        raise ConfigError(
            f"{source}: {text!r} holds no threshold; write e.g. 'p95<=12s, timeout_rate<=5%' "
            "or leave it empty for no SLA"
        )
    return thresholds


def thresholds_from_kwargs(kwargs: Mapping[str, object], source: str) -> dict[str, Threshold]:
    """``sla(p95="15s", timeout_rate="5%", success_rate=0.99)`` -> thresholds.

    The operator is the metric's natural direction (``<=``, or ``>=`` for ``success_rate``
    and ``throughput``); a string value may start with an explicit operator (``"<12s"``).
    Numbers are seconds, fractions or images per second.
    """
    thresholds: dict[str, Threshold] = {}
    for name, value in kwargs.items():
        raw = f"{name}={value!r}"
        spec = _spec(name, source, raw)
        op: str = spec.direction
        if isinstance(value, str):
            match = _LEADING_OP_RE.match(value)
            if match is not None:
                op, value = match.group(1), match.group(2)
                if op not in OPS:
                    raise _op_error(op, spec, source, raw)
                _check_op(spec, op, source, raw)
        elif isinstance(value, bool) or not isinstance(value, (int, float)):
            kind_hint = {
                "latency": "a duration such as '12s' or 12",
                "rate": "a rate such as '5%' or 0.05",
                "throughput": "a throughput such as '2/s' or 2.0",
            }[spec.kind]
            raise ConfigError(f"{source}: {name} must be {kind_hint}, got {value!r}")
        thresholds[name] = Threshold(name, op, _value(spec, value, source), source, raw)
    return thresholds


def merge_thresholds(
    base: Mapping[str, Threshold], override: Mapping[str, Threshold]
) -> dict[str, Threshold]:
    """``base`` with ``override`` applied key by key (an overridden metric keeps its place)."""
    merged = dict(base)
    merged.update(override)
    return merged
