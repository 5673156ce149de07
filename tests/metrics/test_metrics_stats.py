"""The statistics held against numpy and scipy (test-only dependencies) on seeded samples."""

from __future__ import annotations

import math
import time

import numpy as np
import pytest
from scipy import stats as sps

from pytest_qwenperf.metrics import stats

SIZES = [1, 2, 5, 10, 20, 58, 59, 60, 72, 100, 200, 298, 299, 1000]
GATE_PS = [0.5, 0.9, 0.95, 0.99]


def _is_tie(level: float, n: int, p: float) -> bool:
    """The binomial CDF sits (numerically) on the level: both answers are defensible."""
    dist = sps.binom(n, p)
    ks = np.arange(-1, n + 1)
    return bool(np.any(np.abs(dist.cdf(ks) - level) < 1e-9))


# ------------------------------------------------------------------------------------------
# percentile
# ------------------------------------------------------------------------------------------


@pytest.mark.parametrize("n", [*SIZES, 1001, 4321])
def test_percentile_matches_numpy_inverted_cdf(n: int) -> None:
    rng = np.random.default_rng(n)
    values = np.sort(rng.lognormal(2.0, 0.5, size=n))
    for p in [*GATE_PS, 1.0, 0.25, 0.75, *rng.uniform(0.001, 0.999, size=20)]:
        expected = float(np.quantile(values, p, method="inverted_cdf"))
        assert stats.percentile(values.tolist(), float(p)) == expected, (n, p)


def test_percentile_every_n_for_gate_percentiles() -> None:
    for n in range(1, 400):
        values = list(range(1, n + 1))
        for p in GATE_PS:
            assert stats.percentile(values, p) == np.quantile(values, p, method="inverted_cdf")


def test_percentile_measurement_table() -> None:
    # measurement.md section 2: values 1000, 2000, ... ms; nearest rank
    for n, expected in [(10, 10000), (20, 19000), (50, 48000)]:
        values = [1000.0 * i for i in range(1, n + 1)]
        assert stats.percentile(values, 0.95) == expected


def test_percentile_handles_inf_and_empty() -> None:
    assert stats.percentile([], 0.95) is None
    values = [1.0] * 94 + [math.inf] * 6
    assert stats.percentile(values, 0.95) == math.inf
    assert stats.percentile([1.0] * 95 + [math.inf] * 5, 0.95) == 1.0
    assert stats.percentile([3.0, math.inf], 1.0) == math.inf
    with pytest.raises(ValueError, match="percentile p"):
        stats.percentile([1.0], 0.0)
    with pytest.raises(ValueError, match="percentile p"):
        stats.percentile([1.0], 1.5)


# ------------------------------------------------------------------------------------------
# binomial distribution
# ------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("n", "p"), [(1, 0.5), (10, 0.95), (59, 0.95), (1000, 0.01), (100000, 0.95)]
)
def test_binomial_cdf_matches_scipy(n: int, p: float) -> None:
    dist = sps.binom(n, p)
    ks = np.unique(np.linspace(-1, n + 1, 60).astype(int))
    ks = np.unique(np.concatenate([ks, np.arange(int(n * p) - 30, int(n * p) + 30)]))
    for k in ks:
        k = int(k)
        assert stats.binom_cdf(k, n, p) == pytest.approx(dist.cdf(k), rel=1e-9, abs=1e-300)
        assert stats.binom_sf(k, n, p) == pytest.approx(dist.sf(k), rel=1e-9, abs=1e-300)


def test_binomial_quantile_matches_scipy_for_large_n() -> None:
    for n in [10**5, 10**6]:
        for p in GATE_PS:
            for level in [0.05, 0.95]:
                expected = int(sps.binom(n, p).ppf(level))
                assert stats.binom_quantile(level, n, p) == expected


# ------------------------------------------------------------------------------------------
# order-statistic bounds against scipy.stats.quantile_test
# ------------------------------------------------------------------------------------------


def _scipy_bounds(values: np.ndarray, p: float, confidence: float) -> tuple[object, object]:
    upper = sps.quantile_test(values, q=0, p=p, alternative="less").confidence_interval(confidence)
    lower = sps.quantile_test(values, q=0, p=p, alternative="greater").confidence_interval(
        confidence
    )
    hi = None if np.isnan(upper.high) else float(upper.high)
    lo = None if np.isnan(lower.low) else float(lower.low)
    return lo, hi


def test_quantile_bounds_match_scipy_on_random_samples() -> None:
    rng = np.random.default_rng(20240601)
    checked = 0
    for trial in range(300):
        n = int(rng.choice([*SIZES, int(rng.integers(1, 3000))]))
        p = float(rng.choice([*GATE_PS, float(rng.uniform(0.02, 0.98))]))
        confidence = float(rng.choice([0.8, 0.9, 0.95, 0.99]))
        if _is_tie(confidence, n, p) or _is_tie(1 - confidence, n, p):
            continue
        values = np.sort(rng.lognormal(1.0, 0.7, size=n))
        if trial % 3 == 0:  # failures as infinite, as LoadResult orders them
            values[rng.random(n) < 0.05] = np.inf
            values = np.sort(values)
        lo, hi = _scipy_bounds(values, p, confidence)
        as_list = values.tolist()
        assert stats.quantile_upper_bound(as_list, p, confidence) == hi, (n, p, confidence)
        assert stats.quantile_lower_bound(as_list, p, confidence) == lo, (n, p, confidence)
        checked += 1
    assert checked > 250


@pytest.mark.parametrize("n", SIZES)
@pytest.mark.parametrize("p", GATE_PS)
def test_quantile_bounds_match_scipy_at_listed_sizes(n: int, p: float) -> None:
    values = np.sort(np.random.default_rng(n).exponential(size=n))
    lo, hi = _scipy_bounds(values, p, 0.95)
    assert stats.quantile_upper_bound(values.tolist(), p) == hi
    assert stats.quantile_lower_bound(values.tolist(), p) == lo


def test_measurement_md_figures() -> None:
    # one-sided 95% upper bound for P95: n=100 -> X(99); n=200 -> X(196); n=1000 -> X(962)
    assert stats.quantile_upper_rank(100, 0.95) == 99
    assert stats.quantile_upper_rank(200, 0.95) == 196
    assert stats.quantile_upper_rank(1000, 0.95) == 962
    # the maximum is a 95% bound for P95 only when n >= 59; 299 for P99
    assert stats.quantile_upper_rank(58, 0.95) is None
    assert stats.quantile_upper_rank(59, 0.95) == 59
    assert stats.quantile_upper_rank(298, 0.99) is None
    assert stats.quantile_upper_rank(299, 0.99) == 299
    assert stats.min_n_for_upper_bound(0.95) == 59
    assert stats.min_n_for_upper_bound(0.99) == 299
    assert stats.min_n_for_upper_bound(0.5) == 5
    assert stats.quantile_upper_bound([1.0] * 40, 0.95) is None
    values = [float(i) for i in range(1, 101)]
    assert stats.quantile_upper_bound(values, 0.95) == 99.0


def test_bounds_bracket_the_estimate_and_validate_arguments() -> None:
    values = sorted(np.random.default_rng(3).lognormal(size=500).tolist())
    for p in GATE_PS:
        est = stats.percentile(values, p)
        lo = stats.quantile_lower_bound(values, p)
        hi = stats.quantile_upper_bound(values, p)
        assert lo is not None
        assert hi is not None
        assert est is not None
        assert lo <= est <= hi
    assert stats.quantile_upper_bound([], 0.5) is None
    assert stats.quantile_lower_bound([], 0.5) is None
    with pytest.raises(ValueError, match="confidence"):
        stats.quantile_upper_bound(values, 0.95, 1.0)
    with pytest.raises(ValueError, match="quantile p"):
        stats.quantile_upper_bound(values, 1.0)


def test_bounds_are_fast_for_large_n() -> None:
    began = time.perf_counter()
    for n in [100_000, 1_000_000, 10_000_000]:
        k = stats.quantile_upper_rank(n, 0.95)
        assert k == int(sps.binom(n, 0.95).isf(0.05)) + 1
    assert time.perf_counter() - began < 2.0


# ------------------------------------------------------------------------------------------
# rates against scipy.stats.binomtest
# ------------------------------------------------------------------------------------------


def _scipy_rate(k: int, n: int, confidence: float, method: str) -> tuple[float, float]:
    hi = sps.binomtest(k, n, alternative="less").proportion_ci(confidence, method=method).high
    lo = sps.binomtest(k, n, alternative="greater").proportion_ci(confidence, method=method).low
    return float(lo), float(hi)


@pytest.mark.parametrize(
    ("method", "scipy_method"), [("wilson", "wilson"), ("clopper-pearson", "exact")]
)
def test_rate_bounds_match_scipy(method: str, scipy_method: str) -> None:
    rng = np.random.default_rng(7)
    cases = [(0, 1), (1, 1), (0, 10), (3, 40), (40, 40), (0, 59), (1, 100), (5, 1000)]
    for _ in range(120):
        n = int(rng.choice([1, 10, 58, 59, 100, 1000, int(rng.integers(1, 5000))]))
        cases.append((int(rng.integers(0, n + 1)), n))
    for k, n in cases:
        for confidence in (0.9, 0.95, 0.99):
            bounds = stats.rate_bounds(k, n, confidence, method)
            assert bounds is not None
            lo, hi = _scipy_rate(k, n, confidence, scipy_method)
            assert bounds.lower == pytest.approx(lo, abs=1e-10), (k, n, confidence)
            assert bounds.upper == pytest.approx(hi, abs=1e-10), (k, n, confidence)
            assert bounds.lower <= k / n <= bounds.upper


def test_rate_bounds_edge_cases() -> None:
    assert stats.rate_bounds(0, 0) is None
    with pytest.raises(ValueError, match="0 <= k <= n"):
        stats.rate_bounds(5, 4)
    with pytest.raises(ValueError, match="rate method"):
        stats.rate_bounds(1, 4, method="bootstrap")
    # zero events in 299 trials: the exact upper bound is just under 1% (rule of three)
    cp = stats.rate_bounds(0, 299, method="clopper-pearson")
    assert cp is not None
    assert cp.upper < 0.01


# ------------------------------------------------------------------------------------------
# how many requests would decide
# ------------------------------------------------------------------------------------------


def test_needed_n_quantile_all_good_is_the_bound_existence_n() -> None:
    assert stats.needed_n_quantile(0.95, 1.0, prove="pass") == 59
    assert stats.needed_n_quantile(0.99, 1.0, prove="pass") == 299


@pytest.mark.parametrize("good", [0.96, 0.97, 0.99])
def test_needed_n_quantile_pass_is_where_the_bound_proves(good: float) -> None:
    n = stats.needed_n_quantile(0.95, good, prove="pass")
    assert n is not None

    def proves(m: int) -> bool:
        values = sorted(
            [1.0] * math.floor(good * m + 1e-9) + [math.inf] * (m - math.floor(good * m + 1e-9))
        )
        bound = stats.quantile_upper_bound(values, 0.95)
        return bound is not None and bound <= 1.0

    assert proves(n)
    assert not proves(n - 1)


def test_needed_n_quantile_fail_and_impossible_cases() -> None:
    n = stats.needed_n_quantile(0.95, 0.85, prove="fail")
    assert n is not None
    k = stats.quantile_lower_rank(n, 0.95)
    assert k is not None
    assert math.ceil(0.85 * n) < k
    assert stats.needed_n_quantile(0.95, 0.95, prove="pass") is None
    assert stats.needed_n_quantile(0.95, 0.99, prove="fail") is None
    assert stats.needed_n_quantile(0.95, 0.9500001, prove="pass") is None  # beyond the limit


def test_needed_n_rate() -> None:
    z = sps.norm.ppf(0.95)
    # zero events: Wilson upper z^2 / (n + z^2) <= r  <=>  n >= z^2 (1 - r) / r
    assert stats.needed_n_rate(0.0, 0.01, prove_below=True) == math.ceil(z * z * 0.99 / 0.01)
    # exact: 1 - 0.05**(1/n) <= 1%  <=>  n >= 299
    assert stats.needed_n_rate(0.0, 0.01, prove_below=True, method="clopper-pearson") == 299
    n = stats.needed_n_rate(0.075, 0.05, prove_below=False)
    assert n is not None
    bounds = stats.rate_bounds(round(0.075 * n), n)
    assert bounds is not None
    assert bounds.lower >= 0.05
    assert stats.needed_n_rate(0.05, 0.05, prove_below=True) is None
    assert stats.needed_n_rate(0.06, 0.05, prove_below=True) is None
