"""The JSON perf report: one document per session, described by a shipped JSON Schema.

Layout (``schema_version`` 1; every field is described in ``docs/report-format.md`` and
constrained by ``pytest_qwenperf/schemas/report.schema.json``)::

    format, schema_version, tool {name, version}, created_at,
    interrupted, missing_tests, exit_status, samples_included,
    verdict      {failed, failed_runs, session_failed, runs_with_sla, runs_without_sla}
    target       {kind, url, api, model, simulator_profile, time_scale, tls_verify}
    environment  {python, python_implementation, platform, machine, cpu_count, pytest, ci {}}
    session      {started_at, finished_at, duration_s, gate_mode, settings, concurrency}
    definitions  {time_unit, sample, latency, percentiles, values, metrics {name: text}}
    runs         [{test_id, label, status, failed, sources, result, verdict}]
    aggregate    {result, verdict} | null

Each ``result`` is ``LoadResult.to_dict()`` and each ``verdict`` ``Verdict.to_dict()``, as
those classes computed them: this module adds context and removes what must not leave the
machine (query strings and credentials in URLs), it never computes a metric. With samples
included, ``RunRecord.from_dict(run)`` reads a run back into a full ``LoadResult``.
"""

from __future__ import annotations

import datetime as dt
import json
import math
import os
import platform
import re
from collections.abc import Mapping
from importlib import metadata, resources
from typing import Any

from pytest_qwenperf._version import __version__
from pytest_qwenperf.metrics.result import encode_float
from pytest_qwenperf.redact import redact, sanitize_url
from pytest_qwenperf.session import RunRecord, SessionSummary
from pytest_qwenperf.thresholds import GATE_METRICS

REPORT_FORMAT = "pytest-qwenperf/report"
SCHEMA_VERSION = 1
#: The schema's file name in the package's ``schemas/`` folder (package data).
SCHEMA_FILE = "report.schema.json"
SCHEMA_ID = "https://github.com/pytest-qwenperf/pytest-qwenperf/schemas/report-1.schema.json"

#: CI variables recorded when set: where the build came from, never anything secret.
CI_VARIABLES: tuple[str, ...] = (
    "CI",
    "GITHUB_SHA",
    "GITHUB_REF",
    "GITHUB_RUN_ID",
    "GITHUB_RUN_ATTEMPT",
    "GITHUB_REPOSITORY",
    "GITHUB_WORKFLOW",
    "GITHUB_JOB",
    "GITHUB_SERVER_URL",
    "CI_COMMIT_SHA",
    "CI_COMMIT_REF_NAME",
    "CI_PIPELINE_ID",
    "CI_JOB_ID",
    "CI_PROJECT_PATH",
)

DEFINITIONS: dict[str, str] = {
    "sample": "one planned request: exactly one per request, whatever happened to it",
    "latency": (
        "seconds from the request's intended start to the image being ready (async tasks: "
        "to the poll that saw SUCCEEDED); in open loop the intended start is the schedule, "
        "so waiting for a free worker counts"
    ),
    "percentiles": (
        "p50..max: nearest-rank percentile (rank ceil(p*n)) over all samples, a sample "
        "without an image counting as infinite; ok_p50..ok_max and mean: over successful "
        "samples only"
    ),
    "rates": "final outcomes over n (per-attempt rates in result.first_attempt when retried)",
    "throughput": "successful images per second of the measured phase's wall time",
    "confidence": (
        "one-sided bounds per gate check: order statistics for percentiles, Wilson or "
        "Clopper-Pearson for rates; null when too few samples (bound_min_n says how many)"
    ),
    "values": (
        "a metric value null means undefined (no data); the string 'inf' means infinite "
        "(e.g. p95 when more than 5% of requests produced no image)"
    ),
}


#: Sample lists are written one sample per line: readable, diffable, and about ten times
#: faster than indenting 100,000 small objects (``indent`` disables json's C encoder).
_SAMPLE_LISTS = ("samples", "warmup_samples")


def environment(environ: Mapping[str, str]) -> dict[str, Any]:
    """Where the load generator ran: interpreter, platform, CPUs and the CI build, if any."""
    try:
        pytest_version: str | None = metadata.version("pytest")
    except metadata.PackageNotFoundError:  # pragma: no cover - the plugin needs pytest
        pytest_version = None
    return {
        "python": platform.python_version(),
        "python_implementation": platform.python_implementation(),
        "platform": platform.platform(),
        "machine": platform.machine(),
        "cpu_count": os.cpu_count(),
        "pytest": pytest_version,
        "ci": {name: environ[name] for name in CI_VARIABLES if environ.get(name)},
    }


def definitions(summary: SessionSummary) -> dict[str, Any]:
    unit = "simulated seconds" if summary.target.kind == "simulator" else "seconds"
    return {
        "time_unit": unit,
        **DEFINITIONS,
        "metrics": {name: spec.description for name, spec in GATE_METRICS.items()},
    }


def plain(value: Any) -> Any:
    """JSON-safe plain data: non-finite floats as strings, tuples as lists, keys as text;
    anything unexpected as its text (a report is never lost to one odd value)."""
    if value is None or isinstance(value, (bool, int, str)):
        return value
    if isinstance(value, float):
        return value if math.isfinite(value) else encode_float(value)
    if isinstance(value, Mapping):
        return {str(k): plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [plain(v) for v in value]
    return str(value)


def _scrub_samples(samples: list[dict[str, Any]]) -> None:
    """Signed image URLs carry credentials in their query string; error texts may quote URLs."""
    for sample in samples:
        sample["image_urls"] = [sanitize_url(u) for u in sample.get("image_urls", ())]
        message = sample.get("error_message")
        if message:
            sample["error_message"] = redact(message, limit=0)


def _scrub_result(result: dict[str, Any]) -> dict[str, Any]:
    config = result.get("config")
    if isinstance(config, dict) and isinstance(config.get("url"), str):
        config["url"] = sanitize_url(config["url"])
    for key in ("samples", "warmup_samples"):
        if key in result:
            _scrub_samples(result[key])
    return result


def run_status(record: RunRecord) -> str:
    """``pass`` / ``fail`` / ``inconclusive`` (the verdict's status) or ``no_sla``."""
    return "no_sla" if record.verdict is None else record.verdict.status


def run_entry(record: RunRecord, include_samples: bool) -> dict[str, Any]:
    entry = record.to_dict(include_samples=include_samples)
    _scrub_result(entry["result"])
    return {
        "test_id": entry["test_id"],
        "label": entry["label"],
        "status": run_status(record),
        "failed": record.verdict is not None and record.verdict.failed,
        "sources": entry["sources"],
        "result": entry["result"],
        "verdict": entry["verdict"],
    }


def _iso(timestamp: float) -> str | None:
    if not timestamp:
        return None
    moment = dt.datetime.fromtimestamp(timestamp, tz=dt.timezone.utc)
    return moment.isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _settings(settings: Mapping[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = plain(settings)
    values = out.get("values")
    if isinstance(values, dict) and isinstance(values.get("url"), str):
        values["url"] = sanitize_url(values["url"])
    return out


def build_report(
    summary: SessionSummary,
    include_samples: bool = True,
    *,
    environ: Mapping[str, str] | None = None,
    now: float | None = None,
) -> dict[str, Any]:
    """The report document as plain data (see the module docstring for the layout)."""
    env = os.environ if environ is None else environ
    created = summary.finished_at or now or dt.datetime.now(dt.timezone.utc).timestamp()
    target = summary.target.to_dict()
    target["url"] = sanitize_url(target["url"]) if target["url"] else None
    aggregate = None
    if summary.aggregate is not None:
        aggregate = {
            # The aggregate's samples are the runs' samples again: never repeated.
            "result": _scrub_result(summary.aggregate.to_dict(include_samples=False)),
            "verdict": None
            if summary.session_verdict is None
            else summary.session_verdict.to_dict(),
        }
    with_sla = [r for r in summary.runs if r.verdict is not None]
    report: dict[str, Any] = {
        "format": REPORT_FORMAT,
        "schema_version": SCHEMA_VERSION,
        "tool": {"name": "pytest-qwenperf", "version": __version__},
        "created_at": _iso(created),
        "interrupted": summary.interrupted,
        "missing_tests": list(summary.missing_tests),
        "exit_status": summary.exit_status,
        "samples_included": include_samples,
        "verdict": {
            "failed": bool(summary.failed_runs) or summary.session_failed,
            "failed_runs": [r.label for r in summary.failed_runs],
            "session_failed": summary.session_failed,
            "runs_with_sla": len(with_sla),
            "runs_without_sla": len(summary.runs) - len(with_sla),
        },
        "target": target,
        "environment": environment(env),
        "session": {
            "started_at": _iso(summary.started_at),
            "finished_at": _iso(summary.finished_at),
            "duration_s": (
                summary.finished_at - summary.started_at
                if summary.started_at and summary.finished_at
                else None
            ),
            "gate_mode": summary.gate_mode,
            "settings": _settings(summary.settings),
            "concurrency": plain(summary.concurrency),
        },
        "definitions": definitions(summary),
        "runs": [run_entry(r, include_samples) for r in summary.runs],
        "aggregate": aggregate,
    }
    # Samples are plain JSON already (Sample.to_dict); walking 100,000 of them costs a second.
    detached = [
        {key: run["result"].pop(key) for key in _SAMPLE_LISTS if key in run["result"]}
        for run in report["runs"]
    ]
    document: dict[str, Any] = plain(report)
    for run, lists in zip(document["runs"], detached, strict=True):
        run["result"].update(lists)
    return document


def render_json(summary: SessionSummary, include_samples: bool = True) -> str:
    """The report as text: UTF-8-ready, no NaN/Infinity literals (``allow_nan=False``).

    Indented, except that each sample takes one line.
    """
    document = build_report(summary, include_samples)
    lists: dict[str, list[Any]] = {}
    for number, run in enumerate(document["runs"]):
        for key in _SAMPLE_LISTS:
            if key in run["result"]:
                token = f"@@qwenperf-{key}-{number}@@"
                lists[token] = run["result"][key]
                run["result"][key] = token
    text = json.dumps(document, ensure_ascii=False, allow_nan=False, indent=2)
    if not lists:
        return text + "\n"
    compact = json.JSONEncoder(ensure_ascii=False, allow_nan=False, separators=(", ", ": "))

    def expand(match: re.Match[str]) -> str:
        items = lists[match.group(2)]
        if not items:
            return "[]"
        pad = match.group(1) + "  "
        body = (",\n" + pad).join(compact.encode(item) for item in items)
        return f"[\n{pad}{body}\n{match.group(1)}]"

    # a token is a whole JSON string value on its own line: ``<indent>"samples": "@@...@@"``
    pattern = re.compile(r'(?m)^( *)"(?:warmup_)?samples": "(@@qwenperf-[a-z_]+-\d+@@)"')

    def replace(match: re.Match[str]) -> str:
        key = match.group(0).split('"')[1]
        return f'{match.group(1)}"{key}": {expand(match)}'

    return pattern.sub(replace, text) + "\n"


def load_schema() -> dict[str, Any]:
    """The shipped JSON Schema (draft 2020-12) the report validates against."""
    text = (resources.files("pytest_qwenperf") / "schemas" / SCHEMA_FILE).read_text("utf-8")
    schema: dict[str, Any] = json.loads(text)
    return schema
