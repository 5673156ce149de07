"""SLA gates: thresholds as users write them, and a tri-state verdict with confidence.

Thresholds come from ``--qwenperf-sla "p95<=12s, timeout_rate<=5%"`` (and its ini key) and
from ``@pytest.mark.sla(p95="15s", timeout_rate="5%")``; the marker overrides key by key.

:func:`evaluate` turns a :class:`LoadResult` and thresholds into a :class:`Verdict`, one
:class:`GateCheck` per threshold. Each check has a *status* (measurement.md section 3):

* ``pass``: a confidence bound proves the SLA (e.g. the 95% upper bound of p95 <= 12 s);
* ``fail``: the estimate breaches it (under ``lenient``: the lower bound proves the breach);
* ``inconclusive``: neither; ``needed_n`` says about how many requests would decide.

The gate *mode* turns statuses into the build's decision (``GateCheck.failed``):

* ``point`` (default): the estimate against the threshold decides;
* ``strict``: only a proven pass passes; an inconclusive check fails the build;
* ``lenient``: only a proven breach fails; an unproven estimate breach passes.

An undefined value (no samples; ``ok_p95`` with no success; throughput without wall time) is
inconclusive and fails in every mode: a gate never passes on missing data.

Which bound applies: percentiles get distribution-free order-statistic bounds over all
samples (failures as infinite) or over successes (``ok_*``); rates get Wilson (default) or
Clopper-Pearson one-sided bounds. ``max``, ``ok_max``, ``mean`` and ``throughput`` have no
distribution-free interval: they are taken as measured facts of this run, so the estimate
decides them in every mode, and the check says so.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace
from typing import Any, Literal, cast

from pytest_qwenperf.errors import ConfigError
from pytest_qwenperf.metrics import stats
from pytest_qwenperf.metrics.result import (
    PERCENTILES,
    RATE_OUTCOMES,
    LoadResult,
    decode_float,
    encode_float,
)
from pytest_qwenperf.thresholds import (
    _NEGATION,
    GATE_METRICS,
    GATE_MODES,
    GATE_OPTION,
    Status,
    Threshold,
    _fmt,
    _fmt_near,
    _holds,
)
from pytest_qwenperf.units import (
    format_duration,
)

# --------------------------------------------------------------------------------------------
# Evaluation
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class GateCheck:
    """One threshold held against one result. Reports render these fields; never recompute.

    ``estimate``, ``lower``, ``upper`` may be ``math.inf`` (requests without an image) or
    None (undefined / no bound with this few samples). ``lower``/``upper`` are one-sided
    bounds at ``confidence`` (order statistics for percentiles, Wilson or Clopper-Pearson for
    rates); ``bound_method`` is ``"none"`` for metrics taken as measured facts.
    """

    metric: str
    op: str
    threshold: float
    source: str
    raw: str
    kind: str
    estimate: float | None
    #: Samples the metric is computed over (successes for ok_* and mean).
    n: int
    #: Numerator for rates (e.g. 3 timeouts of 40), None for other metrics.
    count: int | None
    lower: float | None
    upper: float | None
    bound_method: str
    #: When the bound that would prove the SLA does not exist: the n it needs.
    bound_min_n: int | None
    proven_pass: bool
    proven_fail: bool
    #: About how many requests (at the observed proportions) would prove pass or fail.
    needed_n: int | None
    status: Status
    #: Whether this check fails the test under ``mode``.
    failed: bool
    mode: str
    confidence: float
    #: Compact text for the failure's first line (``p95 = 14.2 s > 12 s (n=40, ...)``).
    summary: str
    #: Full explanation (several sentences).
    message: str

    @property
    def undefined(self) -> bool:
        return self.estimate is None or self.n == 0

    def to_dict(self) -> dict[str, Any]:
        data: dict[str, Any] = {name: getattr(self, name) for name in self.__dataclass_fields__}
        for name in ("threshold", "estimate", "lower", "upper", "confidence"):
            data[name] = encode_float(data[name])
        data["text"] = f"{self.metric} {self.op} {_fmt(self.kind, self.threshold, exact=True)}"
        return data

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> GateCheck:
        values = {name: data[name] for name in cls.__dataclass_fields__}
        for name in ("threshold", "estimate", "lower", "upper", "confidence"):
            values[name] = decode_float(values[name])
        return cls(**values)


def _bound_needs(p: float, op: str, confidence: float, n: int) -> int | None:
    needs = (
        stats.min_n_for_upper_bound(p, confidence)
        if op in ("<=", "<")
        else stats.min_n_for_lower_bound(p, confidence)
    )
    return needs if n < needs else None


def _check(
    result: LoadResult,
    threshold: Threshold,
    mode: str,
    confidence: float,
    rate_method: str,
) -> GateCheck:
    spec = GATE_METRICS[threshold.metric]
    name, op, thr = threshold.metric, threshold.op, threshold.value
    estimate = result.metric(name)
    n = result.metric_n(name)
    count: int | None = None
    lower: float | None = None
    upper: float | None = None
    bound_method = "none"
    bound_min_n: int | None = None
    needed_n: int | None = None
    base = name[3:] if name.startswith("ok_") else name
    p = PERCENTILES.get(base)
    below = op in ("<=", "<")  # the SLA caps the metric from above

    if name in RATE_OUTCOMES:
        count = result.metric_count(name)
        bound_method = rate_method
        if n and count is not None:
            bounds = stats.rate_bounds(count, n, confidence, rate_method)
            if bounds is not None:
                lower, upper = bounds.lower, bounds.upper
    elif p is not None and p < 1.0:
        bound_method = "order-statistic"
        values = result.ok_latencies() if name.startswith("ok_") else result.latencies()
        lower = stats.quantile_lower_bound(values, p, confidence)
        upper = stats.quantile_upper_bound(values, p, confidence)

    defined = estimate is not None and n > 0
    if not defined:
        proven_pass = proven_fail = False
    elif bound_method == "none" and estimate is not None:
        # a measured fact of this run (max, mean, throughput): the estimate is exact
        proven_pass = _holds(estimate, op, thr)
        proven_fail = not proven_pass
    else:
        worst, best = (upper, lower) if below else (lower, upper)
        proven_pass = worst is not None and _holds(worst, op, thr)
        proven_fail = best is not None and not _holds(best, op, thr)
        if p is not None and worst is None:
            bound_min_n = _bound_needs(p, op, confidence, n)

    estimate_holds = defined and estimate is not None and _holds(estimate, op, thr)
    if defined and not proven_pass and not proven_fail and bound_method != "none":
        prove: Literal["pass", "fail"] = "pass" if estimate_holds else "fail"
        if p is not None:
            values = result.ok_latencies() if name.startswith("ok_") else result.latencies()
            good = sum(1 for v in values if _holds(v, op, thr)) / n
            needed_n = stats.needed_n_quantile(
                p, good, prove=prove, confidence=confidence, start=n + 1
            )
        elif estimate is not None:
            needed_n = stats.needed_n_rate(
                estimate,
                thr,
                prove_below=below == (prove == "pass"),
                confidence=confidence,
                method=rate_method,
                start=n + 1,
            )

    status: Status
    if not defined:
        status, failed = "inconclusive", True
    elif proven_pass and estimate_holds:
        status, failed = "pass", False
    elif mode == "lenient":
        status = "fail" if proven_fail else "inconclusive"
        failed = status == "fail"
    elif not estimate_holds:
        status, failed = "fail", True
    else:
        status, failed = "inconclusive", mode == "strict"

    check = GateCheck(
        metric=name,
        op=op,
        threshold=thr,
        source=threshold.source,
        raw=threshold.raw,
        kind=spec.kind,
        estimate=estimate,
        n=n,
        count=count,
        lower=lower,
        upper=upper,
        bound_method=bound_method,
        bound_min_n=bound_min_n,
        proven_pass=proven_pass,
        proven_fail=proven_fail,
        needed_n=needed_n,
        status=status,
        failed=failed,
        mode=mode,
        confidence=confidence,
        summary="",
        message="",
    )
    return _with_texts(check, result)


def _pct(confidence: float) -> str:
    return f"{confidence * 100:g}%"


def _decide_text(check: GateCheck) -> str:
    if check.needed_n is None:
        if check.bound_method == "none" or check.undefined:
            return ""
        return f"no practical number of requests would decide at the observed {_observed(check)}"
    return f"about {check.needed_n} requests would decide"


def _observed(check: GateCheck) -> str:
    if check.kind == "rate":
        return "rate"
    return f"share of requests meeting {_fmt(check.kind, check.threshold, exact=True)}"


def _bound_text(check: GateCheck, which: Literal["upper", "lower"], *, short: bool = False) -> str:
    """``95% upper bound 16.0 s`` or ``95% upper bound n/a, needs n>=59``; short:
    ``upper 16.0 s`` / ``upper n/a (needs n>=59)``."""
    value = check.upper if which == "upper" else check.lower
    text = f"{which} " if short else f"{_pct(check.confidence)} {which} bound "
    if value is not None:
        return text + _fmt_near(check.kind, value, check.threshold)
    # bound_min_n is about the bound that would prove a pass
    proving = "upper" if check.op in ("<=", "<") else "lower"
    if check.bound_min_n is not None and which == proving:
        needs = f"needs n>={check.bound_min_n}"
        return text + (f"n/a ({needs})" if short else f"n/a, {needs}")
    return text + "n/a"


def _context(check: GateCheck, result: LoadResult) -> str:
    """The parenthesis of the summary: ``n=40, 95% upper bound 16.0 s`` or ``3/40``."""
    below = check.op in ("<=", "<")
    # the bound that would prove the SLA (as in "95% upper bound 16.0 s"), except when a
    # lenient gate failed: then the bound that proved the breach
    proof = check.mode == "lenient" and check.status == "fail"
    which: Literal["upper", "lower"] = "upper" if below != proof else "lower"
    if check.kind == "rate":
        return f"{check.count}/{check.n}"
    if check.kind == "throughput":
        return f"{result.ok_count} images in {format_duration(result.wall_time_s)}"
    over_ok = check.metric.startswith("ok_") or check.metric == "mean"
    n_text = f"n={check.n}" + (" ok" if over_ok else "")
    parts = [n_text]
    if (
        check.metric in PERCENTILES
        and check.estimate is not None
        and math.isinf(check.estimate)
        and check.n - result.ok_count
    ):
        parts[0] += f", {check.n - result.ok_count} without image"
    if check.bound_method == "order-statistic":
        parts.append(_bound_text(check, which))
    return ", ".join(parts)


def _with_texts(check: GateCheck, result: LoadResult) -> GateCheck:
    thr_text = _fmt(check.kind, check.threshold, exact=True)
    pct = _pct(check.confidence)
    mode_opt = f"{GATE_OPTION}={check.mode}"
    if check.undefined:
        if check.n == 0:
            why = (
                "no successful samples"
                if check.metric.startswith("ok_") or check.metric == "mean"
                else "no samples"
            )
        else:
            why = "no wall time measured"
        summary = f"{check.metric} = n/a ({why}): undefined, never a pass"
        message = (
            f"{check.metric} {check.op} {thr_text} [{check.source}]: {check.metric} is undefined "
            f"({why}; n={check.n}). An SLA is never passed on missing data, so this check "
            f"fails under every gate mode."
        )
        return replace(check, summary=summary, message=message)

    est = _fmt_near(check.kind, check.estimate, check.threshold)
    ctx = _context(check, result)
    if check.status == "fail":
        summary = f"{check.metric} = {est} {_NEGATION[check.op]} {thr_text} ({ctx})"
    elif check.status == "pass":
        summary = f"{check.metric} = {est} {check.op} {thr_text} ({ctx})"
    else:
        estimate_holds = check.estimate is not None and _holds(
            check.estimate, check.op, check.threshold
        )
        shown_op = check.op if estimate_holds else _NEGATION[check.op]
        summary = f"{check.metric} = {est} {shown_op} {thr_text} ({ctx})"
        decide = _decide_text(check)
        if check.mode == "strict" and check.failed:
            summary += f": inconclusive, treated as a failure under {mode_opt}" + (
                f"; {decide}" if decide else ""
            )
        elif check.mode == "lenient" and not estimate_holds:
            summary += f": inconclusive, treated as a pass under {mode_opt}" + (
                f"; {decide}" if decide else ""
            )

    # the long explanation
    sentences = [f"{check.metric} {check.op} {thr_text} [{check.source}]: {check.metric} = {est}"]
    if check.kind == "rate":
        sentences[0] += f" ({check.count}/{check.n})"
    elif check.kind == "throughput":
        sentences[0] += f" ({ctx})"
    else:
        sentences[0] += f" ({ctx.split(', ' + _pct(check.confidence))[0]})"
    if check.bound_method == "none":
        what = {
            "throughput": "throughput is measured over the whole run",
            "latency": f"{check.metric} is a measured fact of this run",
        }.get(check.kind, "")
        sentences.append(
            f"No distribution-free confidence interval exists for {check.metric}; {what}, so the "
            f"estimate decides under every gate mode."
        )
    else:
        method = {
            "order-statistic": "order-statistic",
            "wilson": "Wilson",
            "clopper-pearson": "Clopper-Pearson",
        }[check.bound_method]
        sentences.append(
            f"One-sided {pct} bounds ({method}): "
            f"{_bound_text(check, 'lower', short=True)}, {_bound_text(check, 'upper', short=True)}"
        )
        if check.proven_pass:
            sentences.append(f"The SLA is proven at {pct}.")
        elif check.proven_fail:
            sentences.append(f"The breach is proven at {pct}.")
        else:
            decide = _decide_text(check)
            sentences.append(
                f"Neither pass nor breach is proven at {pct}"
                + (f"; {decide} (if the observed {_observed(check)} held)." if decide else ".")
            )
    verdict = {
        ("pass", False): "Passes.",
        ("fail", True): "Fails: the estimate breaches the SLA."
        if check.mode != "lenient"
        else "Fails: the lower bound proves the breach.",
        ("inconclusive", True): f"Inconclusive, treated as a failure under {mode_opt}.",
        ("inconclusive", False): (
            f"Inconclusive, treated as a pass under {mode_opt}."
            if check.mode == "lenient"
            else f"Passes on the estimate under {mode_opt} (not proven)."
        ),
    }[(check.status, check.failed)]
    sentences.append(verdict)
    message = " ".join(s if s.endswith(".") else s + "." for s in sentences)
    return replace(check, summary=summary, message=message)


@dataclass(frozen=True)
class Verdict:
    """The SLA verdict of one result: overall status, whether the test fails, every check."""

    #: ``fail`` if any check failed on its status, else ``inconclusive`` if any was, else pass.
    status: Status
    #: Whether the test fails under ``mode`` (any check's ``failed``).
    failed: bool
    checks: tuple[GateCheck, ...]
    mode: str
    confidence: float
    rate_method: str
    label: str = ""
    n: int = 0

    def first_line(self) -> str:
        """One line for a CI failure message, e.g. ``SLA breached: p95 = 14.2 s > 12 s
        (n=40, 95% upper bound 16.0 s); timeout_rate = 7.5% > 5% (3/40)``.

        Failing checks only, in threshold order. ``SLA not proven:`` when nothing breached
        but inconclusive or undefined checks fail the test; ``SLA met:`` when it passes.
        """
        if not self.checks:
            return "SLA: no thresholds"
        if not self.failed:
            head = "SLA met" if self.status == "pass" else f"SLA met ({self.mode}, not all proven)"
            return f"{head}: " + "; ".join(c.summary for c in self.checks)
        failing = [c for c in self.checks if c.failed]
        head = "SLA breached" if any(c.status == "fail" for c in failing) else "SLA not proven"
        return f"{head}: " + "; ".join(c.summary for c in failing)

    def lines(self) -> list[str]:
        """Full explanation: a header, then every check (failing, inconclusive, passing)."""
        method = "Wilson" if self.rate_method == "wilson" else "Clopper-Pearson"
        label = f" for {self.label}" if self.label else ""
        out = [
            f"SLA verdict{label}: {self.status.upper()}"
            f"{' (fails the test)' if self.failed else ''}; gate mode {self.mode}, "
            f"{_pct(self.confidence)} one-sided confidence, {method} intervals for rates, "
            f"n={self.n}"
        ]
        for check in self.checks:
            tag = check.status.upper()
            if check.status == "inconclusive":
                tag += " -> fail" if check.failed else " -> pass"
            out.append(f"  {tag:<21} {check.message}")
        return out

    def to_dict(self) -> dict[str, Any]:
        return {
            "status": self.status,
            "failed": self.failed,
            "mode": self.mode,
            "confidence": self.confidence,
            "rate_method": self.rate_method,
            "label": self.label,
            "n": self.n,
            "first_line": self.first_line(),
            "checks": [c.to_dict() for c in self.checks],
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Verdict:
        return cls(
            status=cast(Status, data["status"]),
            failed=bool(data["failed"]),
            checks=tuple(GateCheck.from_dict(c) for c in data["checks"]),
            mode=str(data["mode"]),
            confidence=float(data["confidence"]),
            rate_method=str(data["rate_method"]),
            label=str(data.get("label", "")),
            n=int(data.get("n", 0)),
        )


def evaluate(
    result: LoadResult,
    thresholds: Mapping[str, Threshold] | Iterable[Threshold],
    mode: str = "point",
    confidence: float = 0.95,
    rate_method: str = "wilson",
) -> Verdict:
    """Hold ``result`` against ``thresholds`` under a gate ``mode`` (see the module doc)."""
    if mode not in GATE_MODES:
        raise ConfigError(f"{GATE_OPTION} must be one of {', '.join(GATE_MODES)}, got {mode!r}")
    if not 0.5 <= confidence < 1.0:
        raise ConfigError(f"confidence must be at least 0.5 and below 1, got {confidence!r}")
    if rate_method not in stats.RATE_METHODS:
        raise ConfigError(
            f"rate interval method must be one of {', '.join(stats.RATE_METHODS)}, "
            f"got {rate_method!r}"
        )
    items = list(thresholds.values() if isinstance(thresholds, Mapping) else thresholds)
    checks = tuple(_check(result, t, mode, confidence, rate_method) for t in items)
    if any(c.status == "fail" for c in checks):
        status: Status = "fail"
    elif any(c.status == "inconclusive" for c in checks):
        status = "inconclusive"
    else:
        status = "pass"
    return Verdict(
        status=status,
        failed=any(c.failed for c in checks),
        checks=checks,
        mode=mode,
        confidence=confidence,
        rate_method=rate_method,
        label=result.label,
        n=result.n,
    )
