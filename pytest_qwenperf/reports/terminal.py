"""The terminal header line and summary table (also used by ``qwenperf report``).

The table renders anything shaped like a session (:class:`SummaryLike`): the live
:class:`~pytest_qwenperf.session.SessionSummary` the plugin holds, or the read model of a saved
JSON report (:mod:`pytest_qwenperf.reports.saved`), which has the metric values but may have
no samples. Either way the numbers are the ones ``LoadResult`` computed; nothing here does.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, Protocol

from pytest_qwenperf.gates import Verdict
from pytest_qwenperf.metrics.result import SelfCheck
from pytest_qwenperf.session import TargetInfo
from pytest_qwenperf.units import format_duration, format_rate, format_throughput

INSECURE_WARNING = "WARNING: TLS verification is OFF (--qwenperf-insecure)"
COLUMNS = (
    "run",
    "load",
    "n",
    "ok%",
    "timeout%",
    "5xx%",
    "p50",
    "p95",
    "p99",
    "max",
    "img/s",
    "verdict",
)


class ResultLike(Protocol):
    """What the summary reads of a result (``LoadResult`` or a saved report's run)."""

    @property
    def n(self) -> int: ...
    @property
    def planned(self) -> int: ...
    @property
    def mode(self) -> str: ...
    @property
    def workers(self) -> int: ...
    @property
    def rate(self) -> float | None: ...
    @property
    def interrupted(self) -> bool: ...
    @property
    def deadline_hit(self) -> bool: ...
    @property
    def late_starts(self) -> int: ...
    @property
    def max_in_flight(self) -> int: ...
    @property
    def selfcheck(self) -> SelfCheck | None: ...
    @property
    def success_rate(self) -> float | None: ...
    @property
    def timeout_rate(self) -> float | None: ...
    @property
    def error_5xx_rate(self) -> float | None: ...
    @property
    def p50(self) -> float | None: ...
    @property
    def p95(self) -> float | None: ...
    @property
    def p99(self) -> float | None: ...
    @property
    def max(self) -> float | None: ...
    @property
    def throughput(self) -> float | None: ...


class RunLike(Protocol):
    """One run: ``RunRecord`` or a saved report's run."""

    @property
    def test_id(self) -> str: ...
    @property
    def label(self) -> str: ...
    @property
    def result(self) -> ResultLike: ...
    @property
    def verdict(self) -> Verdict | None: ...


class SummaryLike(Protocol):
    """A session: ``SessionSummary`` or a saved report."""

    @property
    def target(self) -> TargetInfo: ...
    @property
    def runs(self) -> Sequence[RunLike]: ...
    @property
    def gate_mode(self) -> str: ...
    @property
    def aggregate(self) -> ResultLike | None: ...
    @property
    def session_verdict(self) -> Verdict | None: ...
    @property
    def interrupted(self) -> bool: ...
    @property
    def missing_tests(self) -> Sequence[str]: ...
    @property
    def concurrency(self) -> Mapping[str, Any]: ...


def header_line(target: TargetInfo, values: Mapping[str, Any]) -> str:
    """One line: target, api, model, load shape, timeout, gate mode."""
    if values.get("rate") is not None:
        load = f"rate {values['rate']:g}/s (open loop, at most {values['workers']} in flight)"
    else:
        load = f"{values['workers']} workers (closed loop)"
    parts = [
        f"qwenperf: target: {target.describe()}",
        f"api {target.api}",
        f"model {target.model}",
        load,
        f"timeout {format_duration(values['timeout'], exact=True)}",
        f"gate {values['gate']}",
    ]
    if target.kind == "simulator":
        parts.append("durations in simulated seconds")
    if target.insecure:
        parts.append(INSECURE_WARNING)
    return " | ".join(parts)


def verdict_word(verdict: Verdict | None) -> str:
    """PASS / FAIL, or for an unproven gate what the gate mode made of it."""
    if verdict is None:
        return "no SLA"
    if verdict.status == "inconclusive":
        return "inconclusive->" + ("FAIL" if verdict.failed else "pass")
    return verdict.status.upper()


def load_cell(result: ResultLike) -> str:
    """``c=10``: closed loop at concurrency 10; ``5/s``: open loop at 5 requests per second."""
    if result.mode == "open" and result.rate is not None:
        return f"{result.rate:g}/s"
    if result.mode == "closed":
        return f"c={result.workers}"
    return result.mode


def result_row(label: str, result: ResultLike, verdict: str, load: str | None = None) -> list[str]:
    return [
        label,
        load or load_cell(result),
        str(result.n),
        format_rate(result.success_rate),
        format_rate(result.timeout_rate),
        format_rate(result.error_5xx_rate),
        format_duration(result.p50),
        format_duration(result.p95),
        format_duration(result.p99),
        format_duration(result.max),
        format_throughput(result.throughput).removesuffix("/s"),
        verdict,
    ]


def table(rows: Sequence[Sequence[str]], header: Sequence[str] = COLUMNS) -> list[str]:
    """A plain-text table; the first column left-aligned, the others right-aligned."""
    all_rows = [list(header), *[list(r) for r in rows]]
    widths = [max(len(r[i]) for r in all_rows) for i in range(len(header))]

    def fmt(row: Sequence[str]) -> str:
        cells = [row[0].ljust(widths[0])]
        cells += [cell.rjust(widths[i]) for i, cell in enumerate(row) if i]
        return "  ".join(cells).rstrip()

    lines = [fmt(all_rows[0]), "  ".join("-" * w for w in widths)]
    lines += [fmt(r) for r in all_rows[1:]]
    return lines


def run_notes(record: RunLike) -> list[str]:
    """What a reader must know beyond the row: interruptions, late starts, a suspect client."""
    result = record.result
    notes = []
    if result.interrupted:
        notes.append(f"INTERRUPTED: {result.n} of {result.planned} planned requests measured")
    elif result.deadline_hit:
        notes.append(f"run deadline hit: {result.n} of {result.planned} planned requests sent")
    if result.mode == "open" and result.late_starts:
        notes.append(
            f"{result.late_starts} requests started late (all {result.workers} "
            "workers busy); their wait counts in the latency"
        )
    if result.selfcheck is not None and result.selfcheck.client_bound:
        notes.append(f"client-bound, measurement suspect: {result.selfcheck.note}")
    return notes


def concurrency_lines(concurrency: Mapping[str, Any]) -> list[str]:
    """Under pytest-xdist: how many processes sent load, and whether their runs overlapped."""
    workers = concurrency.get("xdist_workers") or 0
    if not workers:
        return []
    if concurrency.get("runs_overlapped"):
        return [
            f"xdist: {workers} workers; runs overlapped, so the service saw up to "
            f"{concurrency.get('measured_peak_in_flight')} requests in flight at once "
            f"(configured peak {concurrency.get('configured_peak')}): each run's latency "
            "includes the load of the runs beside it"
        ]
    return [f"xdist: {workers} workers; no two runs overlapped in time"]


def summary_lines(summary: SummaryLike, verbose: bool = False) -> list[str]:
    """What a person reads first: target, one row per run, breaches, the session verdict."""
    first = (
        f"target: {summary.target.describe()} | api {summary.target.api} | "
        f"model {summary.target.model} | gate {summary.gate_mode}"
    )
    if summary.target.insecure:
        first += f" | {INSECURE_WARNING}"
    lines = [first]
    rows = [result_row(r.label, r.result, verdict_word(r.verdict)) for r in summary.runs]
    if summary.aggregate is not None and len(summary.runs) > 1:
        rows.append(
            result_row(
                "session (all runs)",
                summary.aggregate,
                verdict_word(summary.session_verdict),
                load=f"peak {summary.aggregate.max_in_flight}",
            )
        )
    if rows:
        lines += table(rows)
        lines.append(
            "load: c=N closed loop (a concurrency measurement), R/s open loop (latency "
            "at a request rate, from the intended start)"
        )
    else:
        lines.append("no qwenperf run was measured in this session")
    unproven = sum(
        1 for r in summary.runs if r.verdict is not None and r.verdict.status == "inconclusive"
    )
    if unproven and not verbose:
        lines.append(
            f"inconclusive: {unproven} run(s) neither proved nor breached their SLA at 95% "
            "confidence with these sample counts (the gate mode decided); -v shows each "
            "gate's bounds and about how many requests would decide"
        )
    lines += concurrency_lines(summary.concurrency)
    for record in summary.runs:
        notes = run_notes(record)
        verdict = record.verdict
        if verdict is not None and (verdict.failed or verbose):
            detail = verdict.lines() if verbose else [verdict.first_line()]
        else:
            detail = []
        if notes or detail:
            lines.append(f"{record.label}:")
            lines += ["  " + note for note in notes]
            lines += ["  " + line for line in detail]
    if summary.session_verdict is not None:
        verdict = summary.session_verdict
        if verdict.failed:
            lines.append("session SLA FAILED (exit 1): " + verdict.first_line())
        else:
            lines.append(f"session SLA: {verdict_word(verdict)}")
    if summary.missing_tests:
        lines.append("results missing for: " + ", ".join(summary.missing_tests))
    if summary.interrupted:
        lines.append("session INTERRUPTED: the figures cover what was measured before the stop")
    return lines
