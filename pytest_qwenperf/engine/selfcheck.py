"""Client self-check: was the load generator itself the bottleneck?

Two signals, measured during the measured phase:

* CPU: process CPU seconds (``time.process_time``, all threads) / wall seconds. CPython runs
  Python code on one core at a time, so a value near 1.0 means the client was saturated.
* Scheduler lag: how late the scheduler woke compared with when it meant to (open loop: actual
  vs intended dispatch time; closed loop: oversleep of a 10 ms ticker thread).

``client_bound`` when lag p99 > 50 ms, or lag p99 > 5% of the median successful latency (and
over 5 ms), or CPU >= 0.9 cores over a run of at least 1 s. Then the note says the
measurement is suspect.
"""

from __future__ import annotations

from collections.abc import Sequence

from pytest_qwenperf.metrics.result import SelfCheck
from pytest_qwenperf.metrics.stats import percentile

LAG_P99_LIMIT_S = 0.050
LAG_FRACTION_OF_MEDIAN = 0.05
LAG_FLOOR_S = 0.005
CPU_LIMIT = 0.9
#: The CPU signal is judged only for runs at least this long (wall seconds).
CPU_MIN_WALL_S = 1.0


def evaluate(
    cpu_seconds: float,
    wall_seconds: float,
    lags: Sequence[float],
    median_latency_s: float | None,
) -> SelfCheck:
    cpu = cpu_seconds / wall_seconds if wall_seconds > 0 else 0.0
    lag_p99 = percentile(sorted(lags), 0.99) or 0.0
    lag_max = max(lags) if lags else 0.0
    reasons: list[str] = []
    if lag_p99 > LAG_P99_LIMIT_S:
        reasons.append(f"scheduler lag p99 {lag_p99 * 1000:.0f} ms > 50 ms")
    elif (
        median_latency_s is not None
        and lag_p99 > LAG_FLOOR_S
        and lag_p99 > LAG_FRACTION_OF_MEDIAN * median_latency_s
    ):
        reasons.append(
            f"scheduler lag p99 {lag_p99 * 1000:.0f} ms > 5% of the median latency "
            f"{median_latency_s * 1000:.0f} ms"
        )
    # Over a very short run, thread start-up alone fills the CPU figure: it says nothing.
    if cpu >= CPU_LIMIT and wall_seconds >= CPU_MIN_WALL_S:
        reasons.append(f"client CPU {cpu:.2f} cores (saturated)")
    note = None
    if reasons:
        note = (
            "the load generator was probably the bottleneck ("
            + "; ".join(reasons)
            + "): latencies include client delay, the measurement is suspect"
        )
    return SelfCheck(
        cpu_utilisation=round(cpu, 4),
        lag_p99_s=lag_p99,
        lag_max_s=lag_max,
        client_bound=bool(reasons),
        note=note,
    )
