"""Durations, rates and throughputs: parsing what users write, printing what people read."""

from __future__ import annotations

import math

import pytest

from pytest_qwenperf.errors import ConfigError
from pytest_qwenperf.units import (
    format_duration,
    format_rate,
    format_throughput,
    parse_duration,
    parse_rate,
    parse_throughput,
)


@pytest.mark.parametrize(
    ("value", "seconds"),
    [
        ("800ms", 0.8),
        ("12s", 12.0),
        ("1.5 s", 1.5),
        ("2m", 120.0),
        ("2 min", 120.0),
        ("1h", 3600.0),
        (12, 12.0),
        (0.25, 0.25),
        ("12", 12.0),
        (" 12 S ", 12.0),
        ("0", 0.0),
        ("1e3ms", 1.0),
        ("250us", 0.00025),
    ],
)
def test_parse_duration(value: str | float, seconds: float) -> None:
    assert parse_duration(value, source="sla marker") == pytest.approx(seconds)


@pytest.mark.parametrize(
    ("value", "fragment"),
    [
        ("-1s", "cannot be negative"),
        (-3, "cannot be negative"),
        ("12xs", "unknown duration unit 'xs'"),
        ("fast", "cannot read"),
        ("", "cannot read"),
        ("inf", "cannot read"),
        (True, "boolean"),
        (math.nan, "finite"),
        (math.inf, "finite"),
        (None, "got None"),
        ([12], "got [12]"),
    ],
)
def test_parse_duration_errors_name_source_value_and_fix(value: object, fragment: str) -> None:
    with pytest.raises(ConfigError) as info:
        parse_duration(value, source="--qwenperf-sla (p95)")  # type: ignore[arg-type]
    message = str(info.value)
    assert message.startswith("--qwenperf-sla (p95): ")
    assert repr(value) in message
    assert fragment in message


@pytest.mark.parametrize(
    ("value", "fraction"),
    [
        ("5%", 0.05),
        (0.05, 0.05),
        ("0.05", 0.05),
        ("100%", 1.0),
        (1, 1.0),
        (0, 0.0),
        ("7.5 %", 0.075),
    ],
)
def test_parse_rate(value: str | float, fraction: float) -> None:
    assert parse_rate(value, source="sla marker") == pytest.approx(fraction)


@pytest.mark.parametrize(
    ("value", "fragment"),
    [
        ("101%", "between 0% and 100%"),
        ("-5%", "between 0% and 100%"),
        (-0.1, "cannot be negative"),
        (5, "did you mean '5%'?"),
        ("5", "did you mean '5%'?"),
        (250, "above 1"),
        ("5 percent", "cannot read"),
        (False, "boolean"),
        (math.nan, "finite"),
    ],
)
def test_parse_rate_errors(value: object, fragment: str) -> None:
    with pytest.raises(ConfigError) as info:
        parse_rate(value, source="ini qwenperf_sla")  # type: ignore[arg-type]
    message = str(info.value)
    assert message.startswith("ini qwenperf_sla: ")
    assert repr(value) in message
    assert fragment in message


@pytest.mark.parametrize(
    ("value", "per_second"),
    [("2/s", 2.0), (2.0, 2.0), ("2", 2.0), ("120/min", 2.0), ("2 img/s", 2.0), ("7200 / h", 2.0)],
)
def test_parse_throughput(value: str | float, per_second: float) -> None:
    assert parse_throughput(value, source="sla marker") == pytest.approx(per_second)


@pytest.mark.parametrize(
    ("value", "fragment"),
    [("2/fortnight", "unknown throughput unit"), ("-1/s", "negative"), ("lots", "cannot read")],
)
def test_parse_throughput_errors(value: str, fragment: str) -> None:
    with pytest.raises(ConfigError, match=fragment) as info:
        parse_throughput(value, source="sla marker")
    assert repr(value) in str(info.value)


def test_config_error_is_a_value_error() -> None:
    assert issubclass(ConfigError, ValueError)


@pytest.mark.parametrize(
    ("seconds", "text"),
    [
        (14.2, "14.2 s"),
        (16.0, "16.0 s"),
        (0.85, "850 ms"),
        (0.0042, "4.2 ms"),
        (125.34, "125.3 s"),
        (0.0, "0 s"),
        (math.inf, "inf"),
        (None, "n/a"),
        (math.nan, "n/a"),
    ],
)
def test_format_duration(seconds: float | None, text: str) -> None:
    assert format_duration(seconds) == text


@pytest.mark.parametrize(
    ("seconds", "text"), [(12.0, "12 s"), (0.8, "800 ms"), (1.5, "1.5 s"), (90.0, "90 s")]
)
def test_format_duration_exact(seconds: float, text: str) -> None:
    assert format_duration(seconds, exact=True) == text


def test_format_rate_and_throughput() -> None:
    assert format_rate(0.075) == "7.5%"
    assert format_rate(0.0) == "0.0%"
    assert format_rate(1.0) == "100.0%"
    assert format_rate(0.0002) == "0.02%"
    assert format_rate(None) == "n/a"
    assert format_rate(0.05, exact=True) == "5%"
    assert format_rate(0.005, exact=True) == "0.5%"
    assert format_throughput(2.345) == "2.35/s"
    assert format_throughput(2.0, exact=True) == "2/s"
    assert format_throughput(None) == "n/a"
