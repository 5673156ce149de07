"""The markdown summary: the GitHub job summary, ``--qwenperf-markdown`` and ``qwenperf report``.

Compact on purpose: the target, one table row per run with its verdict (the same cells as the
terminal table), the breaches spelled out with their numbers, the session verdict. GitHub
drops a step summary over 1 MiB (silently, with only an annotation), and shows 20 per job,
so the text is capped at :data:`MARKDOWN_CAP` bytes: when a session has so many runs that it
would not fit, rows and breach lines are cut and an explicit "truncated" note says how many
are missing and where to find them (the JSON report).
"""

from __future__ import annotations

from collections.abc import Sequence

from pytest_qwenperf.reports.terminal import (
    COLUMNS,
    RunLike,
    SummaryLike,
    result_row,
    run_notes,
    verdict_word,
)

#: Largest markdown text written (bytes of UTF-8): far below GitHub's 1 MiB per step.
MARKDOWN_CAP = 64 * 1024
#: Longest table cell / list line kept (characters); longer ones end in an ellipsis.
MAX_CELL = 200
MAX_LINE = 2000
#: Missing tests listed by name before "and N more".
MAX_MISSING = 20
TRUNCATED_NOTE = (
    "> **truncated**: {rows} of {total_rows} table rows and {lines} of {total_lines} breach lines "
    "are shown, to keep this summary under {cap} KiB; the JSON report "
    "(`--qwenperf-json`) has every run."
)
DEFINITIONS_NOTE = (
    "<sub>p50/p95/p99/max: nearest-rank percentiles over all requests, a request without an "
    "image counting as infinitely slow; rates are final outcomes over n; img/s: images per "
    "second of wall time. load: c=N closed loop, R/s open loop.</sub>"
)


def _clip(text: str, limit: int) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _code(text: str) -> str:
    """A table-safe code span: pipes escaped (GFM splits cells on them even in code)."""
    text = _clip(text, MAX_CELL).replace("|", "\\|")
    fence = "``" if "`" in text else "`"
    pad = " " if fence == "``" else ""
    return f"{fence}{pad}{text}{pad}{fence}"


def _cell(text: str) -> str:
    return _clip(text, MAX_CELL).replace("|", "\\|")


def _status(summary: SummaryLike) -> str:
    failed = any(r.verdict is not None and r.verdict.failed for r in summary.runs) or (
        summary.session_verdict is not None and summary.session_verdict.failed
    )
    if failed:
        word = "❌ SLA FAILED"
    elif any(r.verdict is not None for r in summary.runs) or summary.session_verdict:
        word = "✅ SLA met"
    else:
        word = "no SLA declared"
    if summary.interrupted:
        word += " · ⚠️ INTERRUPTED"
    if summary.missing_tests:
        word += " · ⚠️ results missing"
    return f"### qwenperf: {word}"


def _target_line(summary: SummaryLike) -> str:
    target = summary.target
    parts = [
        f"**target** {_cell(target.describe())}",
        f"api `{target.api}`",
        f"model `{_cell(target.model)}`",
        f"gate `{summary.gate_mode}`",
    ]
    if target.kind == "simulator":
        parts.append("durations in simulated seconds")
    if target.insecure:
        parts.append("**TLS verification OFF**")
    return " · ".join(parts)


def _table_head() -> list[str]:
    align = [":--"] + ["--:"] * (len(COLUMNS) - 1)
    return ["| " + " | ".join(COLUMNS) + " |", "| " + " | ".join(align) + " |"]


def _row(cells: Sequence[str], bold_verdict: bool) -> str:
    out = [_code(cells[0])] + [_cell(c) for c in cells[1:]]
    if bold_verdict:
        out[-1] = f"**{out[-1]}**"
    return "| " + " | ".join(out) + " |"


def _rows(summary: SummaryLike) -> list[str]:
    lines = []
    for record in summary.runs:
        failed = record.verdict is not None and record.verdict.failed
        lines.append(
            _row(result_row(record.label, record.result, verdict_word(record.verdict)), failed)
        )
    if summary.aggregate is not None and len(summary.runs) > 1:
        verdict = summary.session_verdict
        cells = result_row(
            "session (all runs)",
            summary.aggregate,
            verdict_word(verdict),
            load=f"peak {summary.aggregate.max_in_flight}",
        )
        lines.append(_row(cells, verdict is not None and verdict.failed))
    return lines


def _run_lines(record: RunLike) -> list[str]:
    """The breach (numbers included) and what a reader must know about one run."""
    lines = []
    if record.verdict is not None and record.verdict.failed:
        lines.append(f"- {_code(record.label)}: {_clip(record.verdict.first_line(), MAX_LINE)}")
    notes = run_notes(record)
    if notes:
        if not lines:
            lines.append(f"- {_code(record.label)}:")
        lines += [f"  - {_clip(note, MAX_LINE)}" for note in notes]
    return lines


def _tail(summary: SummaryLike) -> list[str]:
    lines: list[str] = []
    verdict = summary.session_verdict
    if verdict is not None:
        if verdict.failed:
            lines.append(f"**Session SLA FAILED**: {_clip(verdict.first_line(), MAX_LINE)}")
        else:
            lines.append(f"**Session SLA**: {verdict_word(verdict)}")
    if summary.missing_tests:
        shown = ", ".join(_code(t) for t in summary.missing_tests[:MAX_MISSING])
        more = len(summary.missing_tests) - MAX_MISSING
        lines.append(
            f"**Results missing for**: {shown}" + (f" and {more} more" if more > 0 else "")
        )
    if summary.interrupted:
        lines.append(
            "**Session INTERRUPTED**: the figures cover what was measured before the stop."
        )
    return [*lines, "", DEFINITIONS_NOTE, ""]


def _size(lines: Sequence[str]) -> int:
    return sum(len(line.encode("utf-8")) + 1 for line in lines)


def render_markdown(summary: SummaryLike, cap: int = MARKDOWN_CAP) -> str:
    """The summary as GitHub-flavoured markdown, at most ``cap`` bytes of UTF-8."""
    head = [_status(summary), "", _target_line(summary), "", *_table_head()]
    rows = _rows(summary)
    breach_lines = [line for record in summary.runs for line in _run_lines(record)]
    tail = _tail(summary)

    def assemble(kept_rows: Sequence[str], kept_lines: Sequence[str], note: str | None) -> str:
        parts = [*head, *kept_rows, ""]
        if note:
            parts += [note, ""]
        if kept_lines:
            parts += ["**Breaches and notes**", "", *kept_lines, ""]
        return "\n".join([*parts, *tail])

    full = assemble(rows, breach_lines, None)
    if len(full.encode("utf-8")) <= cap:
        return full
    note_template = TRUNCATED_NOTE.format(
        rows=len(rows),
        total_rows=len(rows),
        lines=len(breach_lines),
        total_lines=len(breach_lines),
        cap=cap // 1024,
    )
    # room for the fixed parts, the note (its numbers only shrink) and the section headings
    budget = cap - _size([*head, "", note_template, "", "**Breaches and notes**", "", "", *tail])
    kept_rows: list[str] = []
    kept_lines: list[str] = []
    # rows first (every run gets its verdict if at all possible), then breach lines
    for source, kept in ((rows, kept_rows), (breach_lines, kept_lines)):
        for line in source:
            cost = _size([line])
            if cost > budget:
                break
            kept.append(line)
            budget -= cost
    note = TRUNCATED_NOTE.format(
        rows=len(kept_rows),
        total_rows=len(rows),
        lines=len(kept_lines),
        total_lines=len(breach_lines),
        cap=cap // 1024,
    )
    return assemble(kept_rows, kept_lines, note)
