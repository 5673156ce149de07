"""Percentiles, order-statistic bounds, binomial rate intervals: the one definition of each.

Pure functions on plain floats and ints, stdlib ``math`` only (numpy and scipy are used by the
tests to check these, never here).

Conventions used throughout:

* ``sorted_values`` is ascending and may contain ``math.inf`` (a request that produced no image
  counts as infinitely slow, which keeps order statistics valid for right-censored data).
* An undefined value (no samples, no bound with this few samples) is ``None``, never NaN:
  ``None`` cannot be compared by accident, so a gate can never pass on it.
* Order statistics are 1-based in the docs (``X(k)`` is the k-th smallest value).
* One-sided bounds: an *upper* bound ``U`` at confidence ``c`` satisfies
  ``P(true value <= U) >= c``; a *lower* bound ``L`` satisfies ``P(true value >= L) >= c``.
  The lower and upper bound reported together therefore form a ``2c - 1`` two-sided interval
  (90% for ``c = 0.95``); each one alone is what a one-sided SLA test needs.

The binomial distribution is computed exactly (log-gamma for the starting term, then the
pmf recurrence outward until terms are negligible). Cost is O(sqrt(n p (1 - p))) per call, so
n in the millions is fine; there is no normal approximation (it is used only as a first guess
that is then corrected exactly).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from statistics import NormalDist
from typing import Literal

RateMethod = Literal["wilson", "clopper-pearson"]
RATE_METHODS: tuple[str, ...] = ("wilson", "clopper-pearson")

#: Search limit for :func:`needed_n_*`: beyond a million image requests no CI run will go.
NEEDED_N_LIMIT = 1_000_000

_TAIL_EPS = 1e-17


def _check_confidence(confidence: float) -> None:
    if not 0.0 < confidence < 1.0:
        raise ValueError(f"confidence must be strictly between 0 and 1, got {confidence!r}")


def _check_p(p: float) -> None:
    if not 0.0 < p < 1.0:
        raise ValueError(f"the quantile p must be strictly between 0 and 1, got {p!r}")


# --------------------------------------------------------------------------------------------
# Percentile
# --------------------------------------------------------------------------------------------


def percentile(sorted_values: Sequence[float], p: float) -> float | None:
    """Nearest-rank p-quantile: ``X(ceil(p * n))`` (numpy ``method="inverted_cdf"``).

    ``p`` in (0, 1]; ``p = 1`` is the maximum. Returns None for an empty sequence.
    ``math.inf`` values are allowed and sort last.
    """
    if not 0.0 < p <= 1.0:
        raise ValueError(f"percentile p must be in (0, 1], got {p!r}")
    n = len(sorted_values)
    if n == 0:
        return None
    # p * n in floating point can land a hair above an integer (0.95 * 20 == 19.000000000000004
    # is false, but 0.07 * 100 == 7.000000000000001 is true): round off that noise first.
    rank = math.ceil(round(p * n, 9))
    return float(sorted_values[min(max(rank, 1), n) - 1])


# --------------------------------------------------------------------------------------------
# Binomial distribution
# --------------------------------------------------------------------------------------------


def _log_pmf(k: int, n: int, p: float) -> float:
    return (
        math.lgamma(n + 1)
        - math.lgamma(k + 1)
        - math.lgamma(n - k + 1)
        + k * math.log(p)
        + (n - k) * math.log1p(-p)
    )


def binom_pmf(k: int, n: int, p: float) -> float:
    """P(Bin(n, p) == k)."""
    if k < 0 or k > n:
        return 0.0
    if p <= 0.0:
        return 1.0 if k == 0 else 0.0
    if p >= 1.0:
        return 1.0 if k == n else 0.0
    return math.exp(_log_pmf(k, n, p))


def _sum_down(k: int, n: int, p: float) -> float:
    """sum_{j <= k} pmf(j), for k at or below the mode (terms decrease going down)."""
    term = binom_pmf(k, n, p)
    total = term
    ratio_q_p = (1.0 - p) / p
    j = k
    while j > 0 and term > _TAIL_EPS * total:
        term *= j / (n - j + 1) * ratio_q_p
        total += term
        j -= 1
    return total


def _sum_up(k: int, n: int, p: float) -> float:
    """sum_{j >= k} pmf(j), for k at or above the mode (terms decrease going up)."""
    term = binom_pmf(k, n, p)
    total = term
    ratio_p_q = p / (1.0 - p)
    j = k
    while j < n and term > _TAIL_EPS * total:
        term *= (n - j) / (j + 1) * ratio_p_q
        total += term
        j += 1
    return total


def binom_cdf(k: int, n: int, p: float) -> float:
    """P(Bin(n, p) <= k), exact to ~1e-12 relative for any n (summed from the small tail)."""
    if k < 0:
        return 0.0
    if k >= n:
        return 1.0
    if p <= 0.0:
        return 1.0
    if p >= 1.0:
        return 0.0
    mode = math.floor((n + 1) * p)
    if k < mode:
        return min(1.0, _sum_down(k, n, p))
    return max(0.0, 1.0 - _sum_up(k + 1, n, p))


def binom_sf(k: int, n: int, p: float) -> float:
    """P(Bin(n, p) > k)."""
    if k < 0:
        return 1.0
    if k >= n:
        return 0.0
    if p <= 0.0:
        return 0.0
    if p >= 1.0:
        return 1.0
    mode = math.floor((n + 1) * p)
    if k + 1 > mode:
        return min(1.0, _sum_up(k + 1, n, p))
    return max(0.0, 1.0 - _sum_down(k, n, p))


def binom_quantile(level: float, n: int, p: float, *, strict: bool = False) -> int:
    """Smallest k in [0, n] with ``P(Bin(n,p) <= k) >= level`` (``> level`` when strict).

    A normal approximation gives the first guess; the exact CDF is then walked one term at a
    time, so the answer is exact (up to floating point) at any n.
    """
    if n < 0:
        raise ValueError(f"n must be >= 0, got {n!r}")

    def reached(cdf: float) -> bool:
        return cdf > level if strict else cdf >= level

    if n == 0 or p <= 0.0:
        return 0
    if p >= 1.0:
        return 0 if reached(0.0) else n
    sd = math.sqrt(n * p * (1.0 - p))
    z = NormalDist().inv_cdf(min(max(level, 1e-12), 1.0 - 1e-12))
    k = min(max(math.floor(n * p + z * sd), 0), n)
    cdf = binom_cdf(k, n, p)
    pmf = binom_pmf(k, n, p)
    ratio_p_q = p / (1.0 - p)
    if reached(cdf):
        # walk down while the previous k also reaches the level
        while k > 0:
            prev = cdf - pmf
            if not reached(prev):
                break
            pmf *= k / (n - k + 1) / ratio_p_q
            cdf = prev
            k -= 1
            if pmf == 0.0:  # underflow deep in the tail: recompute exactly
                cdf = binom_cdf(k, n, p)
                pmf = binom_pmf(k, n, p)
    else:
        while k < n and not reached(cdf):
            pmf *= (n - k) / (k + 1) * ratio_p_q
            k += 1
            cdf += pmf
            if k == n:
                cdf = 1.0
    return k


# --------------------------------------------------------------------------------------------
# Order-statistic (distribution-free) bounds for a quantile
# --------------------------------------------------------------------------------------------


def quantile_upper_rank(n: int, p: float, confidence: float = 0.95) -> int | None:
    """1-based k of the order statistic ``X(k)`` that is a one-sided upper bound for the
    p-quantile at ``confidence``: the smallest k with ``P(Bin(n,p) <= k-1) >= confidence``.

    None when no such k <= n exists (too few samples: e.g. p95 at 95% needs n >= 59).
    """
    _check_p(p)
    _check_confidence(confidence)
    if n <= 0:
        return None
    k = binom_quantile(confidence, n, p) + 1
    return k if k <= n else None


def quantile_lower_rank(n: int, p: float, confidence: float = 0.95) -> int | None:
    """1-based k of the order statistic that is a one-sided lower bound for the p-quantile:
    the largest k with ``P(Bin(n,p) >= k) >= confidence``; None when no k >= 1 qualifies."""
    _check_p(p)
    _check_confidence(confidence)
    if n <= 0:
        return None
    # P(Bin >= k) >= c  <=>  CDF(k-1) <= 1-c; the largest such k is the smallest j with
    # CDF(j) > 1-c.
    k = binom_quantile(1.0 - confidence, n, p, strict=True)
    return k if k >= 1 else None


def quantile_upper_bound(
    sorted_values: Sequence[float], p: float, confidence: float = 0.95
) -> float | None:
    """Distribution-free one-sided upper confidence bound for the p-quantile (or None)."""
    k = quantile_upper_rank(len(sorted_values), p, confidence)
    return None if k is None else float(sorted_values[k - 1])


def quantile_lower_bound(
    sorted_values: Sequence[float], p: float, confidence: float = 0.95
) -> float | None:
    """Distribution-free one-sided lower confidence bound for the p-quantile (or None)."""
    k = quantile_lower_rank(len(sorted_values), p, confidence)
    return None if k is None else float(sorted_values[k - 1])


def min_n_for_upper_bound(p: float, confidence: float = 0.95) -> int:
    """Smallest n for which any upper bound exists (the maximum): ``1 - p**n >= confidence``.

    59 for p95 and 299 for p99 at 95%.
    """
    _check_p(p)
    _check_confidence(confidence)
    n = max(1, math.ceil(math.log(1.0 - confidence) / math.log(p)) - 1)
    while 1.0 - p**n < confidence:
        n += 1
    while n > 1 and 1.0 - p ** (n - 1) >= confidence:
        n -= 1
    return n


def min_n_for_lower_bound(p: float, confidence: float = 0.95) -> int:
    """Smallest n for which a lower bound exists (the minimum): ``1 - (1-p)**n >= confidence``."""
    return min_n_for_upper_bound(1.0 - p, confidence)


# --------------------------------------------------------------------------------------------
# Rate intervals
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class RateBounds:
    """One-sided lower and upper bounds for a proportion, each at ``confidence``."""

    lower: float
    upper: float
    method: str
    confidence: float


def _check_counts(k: int, n: int) -> None:
    if n < 1 or k < 0 or k > n:
        raise ValueError(f"need 0 <= k <= n and n >= 1, got k={k!r}, n={n!r}")


def wilson_bounds(k: int, n: int, confidence: float = 0.95) -> tuple[float, float]:
    """Wilson score one-sided bounds (as scipy ``binomtest(...).proportion_ci("wilson")`` with
    ``alternative="greater"`` / ``"less"``): 0 when k == 0, 1 when k == n."""
    _check_counts(k, n)
    _check_confidence(confidence)
    z = NormalDist().inv_cdf(confidence)
    phat = k / n
    denom = 2.0 * (n + z * z)
    center = (2.0 * n * phat + z * z) / denom
    delta = z / denom * math.sqrt(4.0 * n * phat * (1.0 - phat) + z * z)
    lower = 0.0 if k == 0 else max(0.0, center - delta)
    upper = 1.0 if k == n else min(1.0, center + delta)
    return lower, upper


def _bisect(f: Callable[[float], float], lo: float, hi: float) -> float:
    """Root of a decreasing-or-increasing f on [lo, hi] with a sign change, to ~1e-15."""
    f_lo = f(lo)
    for _ in range(200):
        mid = 0.5 * (lo + hi)
        if mid in (lo, hi):
            break
        f_mid = f(mid)
        if (f_mid > 0) == (f_lo > 0):
            lo, f_lo = mid, f_mid
        else:
            hi = mid
    return 0.5 * (lo + hi)


def clopper_pearson_bounds(k: int, n: int, confidence: float = 0.95) -> tuple[float, float]:
    """Exact (Clopper-Pearson) one-sided bounds: the beta quantiles, found by bisection on the
    binomial CDF. Upper u solves ``P(Bin(n,u) <= k) = 1-c``; lower l solves
    ``P(Bin(n,l) >= k) = 1-c``."""
    _check_counts(k, n)
    _check_confidence(confidence)
    alpha = 1.0 - confidence
    upper = 1.0 if k == n else _bisect(lambda u: binom_cdf(k, n, u) - alpha, 0.0, 1.0)
    lower = 0.0 if k == 0 else _bisect(lambda q: binom_sf(k - 1, n, q) - alpha, 0.0, 1.0)
    return lower, upper


def rate_bounds(
    k: int, n: int, confidence: float = 0.95, method: str = "wilson"
) -> RateBounds | None:
    """One-sided bounds for the proportion k/n; None when n == 0 (nothing to bound)."""
    if n == 0:
        return None
    if method == "wilson":
        lower, upper = wilson_bounds(k, n, confidence)
    elif method == "clopper-pearson":
        lower, upper = clopper_pearson_bounds(k, n, confidence)
    else:
        raise ValueError(f"rate method must be one of {', '.join(RATE_METHODS)}, got {method!r}")
    return RateBounds(lower=lower, upper=upper, method=method, confidence=confidence)


# --------------------------------------------------------------------------------------------
# How many requests would decide
# --------------------------------------------------------------------------------------------


def _smallest_n(decides: Callable[[int], bool], start: int, limit: int) -> int | None:
    """Smallest n in [start, limit] with decides(n), assuming decides is (nearly) monotone:
    exponential search for a deciding n, then bisection below it."""
    start = max(start, 1)
    if decides(start):
        return start
    lo, hi = start, start
    while True:
        if hi >= limit:
            return None
        lo, hi = hi, min(limit, hi * 2)
        if decides(hi):
            break
    # invariant: not decides(lo), decides(hi)
    while hi - lo > 1:
        mid = (lo + hi) // 2
        if decides(mid):
            hi = mid
        else:
            lo = mid
    return hi


def needed_n_quantile(
    p: float,
    good_fraction: float,
    *,
    prove: Literal["pass", "fail"],
    confidence: float = 0.95,
    start: int = 1,
    limit: int = NEEDED_N_LIMIT,
) -> int | None:
    """Requests needed before an order-statistic bound could decide a percentile gate.

    ``good_fraction`` is the observed share of samples that satisfy the threshold (e.g.
    latency <= 12 s; a failed request never does). Assumption: that share holds as n grows,
    i.e. ``floor(good_fraction * n)`` samples are good out of n. ``prove="pass"``: the upper
    bound X(k_u) satisfies the threshold, i.e. good >= k_u. ``prove="fail"``: the lower bound
    X(k_l) breaches it, i.e. good < k_l. None when the share sits on the wrong side of p (no
    n would do it) or more than ``limit`` requests would be needed.
    """
    _check_p(p)
    _check_confidence(confidence)
    if prove == "pass":
        if good_fraction <= p:
            return None

        def decides(n: int) -> bool:
            k = quantile_upper_rank(n, p, confidence)
            return k is not None and math.floor(good_fraction * n + 1e-9) >= k

    else:
        if good_fraction >= p:
            return None

        def decides(n: int) -> bool:
            k = quantile_lower_rank(n, p, confidence)
            return k is not None and math.ceil(good_fraction * n - 1e-9) < k

    return _smallest_n(decides, start, limit)


def needed_n_rate(
    observed: float,
    threshold: float,
    *,
    prove_below: bool,
    confidence: float = 0.95,
    method: str = "wilson",
    start: int = 1,
    limit: int = NEEDED_N_LIMIT,
) -> int | None:
    """Requests needed before a rate interval would separate the rate from ``threshold``.

    Assumption: the observed proportion holds as n grows (``round(observed * n)`` events).
    ``prove_below=True``: smallest n whose upper bound is <= threshold (needs observed <
    threshold); otherwise smallest n whose lower bound is >= threshold (needs observed >
    threshold). None when impossible or beyond ``limit``.
    """
    _check_confidence(confidence)
    if prove_below and observed >= threshold:
        return None
    if not prove_below and observed <= threshold:
        return None

    def decides(n: int) -> bool:
        k = min(n, max(0, round(observed * n)))
        bounds = rate_bounds(k, n, confidence, method)
        if bounds is None:
            return False
        return bounds.upper <= threshold if prove_below else bounds.lower >= threshold

    return _smallest_n(decides, start, limit)
