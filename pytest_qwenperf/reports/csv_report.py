"""``--qwenperf-csv``: one row per sample of every run, for spreadsheets and pandas.

Columns (documented in ``docs/report-format.md``) are :data:`COLUMNS`, in that order. Times
are seconds relative to the run's start (simulated seconds against the scaled simulator, as
everywhere); ``latency_s`` is ``Sample.latency`` (for a request without an image: the time
until it gave up; metrics count such a request as infinitely slow). Warm-up requests are
rows too, marked ``warmup=true``: they are excluded from every metric. Image URLs lose
their query strings (signed URLs carry credentials there); error texts are redacted.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator

from pytest_qwenperf.metrics.sample import Sample
from pytest_qwenperf.redact import redact, sanitize_url
from pytest_qwenperf.session import RunRecord, SessionSummary

COLUMNS: tuple[str, ...] = (
    "run",
    "test_id",
    "index",
    "warmup",
    "outcome",
    "status",
    "latency_s",
    "intended_start_s",
    "start_s",
    "end_s",
    "client_queue_s",
    "attempts",
    "error_code",
    "error_message",
    "bytes_received",
    "service_queue_s",
    "service_generation_s",
    "service_submit_time",
    "service_scheduled_time",
    "service_end_time",
    "image_urls",
    "prompt",
)


def _cell(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def sample_row(record: RunRecord, sample: Sample, warmup: bool = False) -> list[str]:
    values: list[object] = [
        record.label,
        record.test_id,
        sample.index,
        warmup or sample.warmup,
        sample.outcome.value,
        sample.status,
        sample.latency,
        sample.intended_start,
        sample.start,
        sample.end,
        sample.client_queue_s,
        len(sample.attempts),
        sample.error_code,
        None if sample.error_message is None else redact(sample.error_message, limit=0),
        sample.bytes_received,
        sample.service_queue_s,
        sample.service_generation_s,
        sample.service_submit_time,
        sample.service_scheduled_time,
        sample.service_end_time,
        " ".join(sanitize_url(u) for u in sample.image_urls),
        sample.prompt,
    ]
    return [_cell(v) for v in values]


def rows(summary: SessionSummary) -> Iterator[list[str]]:
    """Warm-up samples first (they ran first), then the measured ones, run by run."""
    for record in summary.runs:
        for sample in record.result.warmup_samples:
            yield sample_row(record, sample, warmup=True)
        for sample in record.result.samples:
            yield sample_row(record, sample)


def render_csv(summary: SessionSummary) -> str:
    """RFC 4180 CSV (CRLF line ends, quoted where needed) with a header row."""
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(COLUMNS)
    writer.writerows(rows(summary))
    return out.getvalue()
