"""Durations, rates and throughputs as people write them, and as reports print them.

Parsers take what a user typed (marker keyword, command line, ini, environment) and return
plain floats in seconds / fractions / per second. Anything wrong raises :class:`ConfigError`
whose message names the source, the value (``!r``), the problem and a fix. Booleans, NaN,
infinities, negative times and rates outside 0-100% are always errors: a gate must never be
silently inert.
"""

from __future__ import annotations

import math
import re

from pytest_qwenperf.errors import ConfigError

#: Duration unit (lower case) -> seconds.
DURATION_UNITS: dict[str, float] = {
    "us": 1e-6,
    "µs": 1e-6,
    "ms": 1e-3,
    "s": 1.0,
    "sec": 1.0,
    "secs": 1.0,
    "second": 1.0,
    "seconds": 1.0,
    "m": 60.0,
    "min": 60.0,
    "mins": 60.0,
    "minute": 60.0,
    "minutes": 60.0,
    "h": 3600.0,
    "hr": 3600.0,
    "hour": 3600.0,
    "hours": 3600.0,
}

#: Throughput unit (after the slash) -> seconds it spans.
THROUGHPUT_UNITS: dict[str, float] = {
    "s": 1.0,
    "sec": 1.0,
    "second": 1.0,
    "m": 60.0,
    "min": 60.0,
    "minute": 60.0,
    "h": 3600.0,
    "hour": 3600.0,
}

_NUMBER = r"[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?"
_DURATION_RE = re.compile(rf"^\s*({_NUMBER})\s*([a-zµ]*)\s*$", re.IGNORECASE)
_RATE_RE = re.compile(rf"^\s*({_NUMBER})\s*(%?)\s*$")
_THROUGHPUT_RE = re.compile(
    rf"^\s*({_NUMBER})\s*(?:(?:img|imgs|images?|req|reqs|requests?)\s*)?(?:/\s*([a-z]+))?\s*$",
    re.IGNORECASE,
)

DURATION_EXAMPLES = "a number of seconds or a value like '800ms', '12s', '1.5 s', '2m'"
RATE_EXAMPLES = "a fraction between 0 and 1 (0.05) or a percentage ('5%')"
THROUGHPUT_EXAMPLES = "images per second as a number (2.0) or a value like '2/s', '120/min'"


def _number(value: object, source: str, what: str, examples: str) -> float | None:
    """A real number from an int/float, None when value is a string; errors otherwise."""
    if isinstance(value, bool):
        raise ConfigError(f"{source}: {what} must be {examples}, got the boolean {value!r}")
    if isinstance(value, (int, float)):
        number = float(value)
        if not math.isfinite(number):
            raise ConfigError(f"{source}: {what} must be a finite number, got {value!r}")
        return number
    if isinstance(value, str):
        return None
    raise ConfigError(f"{source}: {what} must be {examples}, got {value!r}")


def parse_duration(value: str | float, *, source: str) -> float:
    """Seconds from ``"800ms"``, ``"12s"``, ``"1.5 s"``, ``"2m"``, ``12`` or ``"12"``.

    A bare number is seconds. Zero is allowed (callers that need a positive duration check).
    """
    number = _number(value, source, "a duration", DURATION_EXAMPLES)
    if number is None:
        match = _DURATION_RE.match(str(value))
        if match is None:
            raise ConfigError(
                f"{source}: cannot read {value!r} as a duration; write {DURATION_EXAMPLES}"
            )
        unit = match.group(2).lower()
        if unit and unit not in DURATION_UNITS:
            raise ConfigError(
                f"{source}: unknown duration unit {match.group(2)!r} in {value!r}; "
                f"use ms, s, m or h (e.g. '800ms', '12s')"
            )
        number = float(match.group(1)) * DURATION_UNITS.get(unit, 1.0)
    if number < 0:
        raise ConfigError(
            f"{source}: a duration cannot be negative, got {value!r}; write e.g. '12s'"
        )
    return number


def parse_rate(value: str | float, *, source: str) -> float:
    """A fraction in [0, 1] from ``"5%"``, ``0.05`` or ``"0.05"``.

    A bare number above 1 is refused rather than guessed (``5`` could mean 5% or 500%).
    """
    number = _number(value, source, "a rate", RATE_EXAMPLES)
    percent = False
    if number is None:
        match = _RATE_RE.match(str(value))
        if match is None:
            raise ConfigError(f"{source}: cannot read {value!r} as a rate; write {RATE_EXAMPLES}")
        number = float(match.group(1))
        percent = bool(match.group(2))
    if percent:
        if not 0.0 <= number <= 100.0:
            raise ConfigError(
                f"{source}: a rate must be between 0% and 100%, got {value!r}; write e.g. '5%'"
            )
        return number / 100.0
    if number < 0:
        raise ConfigError(f"{source}: a rate cannot be negative, got {value!r}; write e.g. '5%'")
    if number > 1:
        hint = f"; did you mean '{number:g}%'?" if number <= 100 else ""
        raise ConfigError(
            f"{source}: a rate must be {RATE_EXAMPLES}, got {value!r} (above 1){hint}"
        )
    return number


def parse_throughput(value: str | float, *, source: str) -> float:
    """Images per second from ``"2/s"``, ``"120/min"``, ``"2 img/s"``, ``2.0`` or ``"2"``."""
    number = _number(value, source, "a throughput", THROUGHPUT_EXAMPLES)
    if number is None:
        match = _THROUGHPUT_RE.match(str(value))
        if match is None:
            raise ConfigError(
                f"{source}: cannot read {value!r} as a throughput; write {THROUGHPUT_EXAMPLES}"
            )
        unit = (match.group(2) or "s").lower()
        if unit not in THROUGHPUT_UNITS:
            raise ConfigError(
                f"{source}: unknown throughput unit '/{match.group(2)}' in {value!r}; "
                f"use /s, /min or /h (e.g. '2/s')"
            )
        number = float(match.group(1)) / THROUGHPUT_UNITS[unit]
    if number < 0:
        raise ConfigError(
            f"{source}: a throughput cannot be negative, got {value!r}; write e.g. '2/s'"
        )
    return number


def _trim(text: str) -> str:
    return text.rstrip("0").rstrip(".") if "." in text else text


def format_duration(seconds: float | None, *, exact: bool = False, digits: int = 1) -> str:
    """Seconds for people: ``"14.2 s"``, ``"850 ms"``, ``"inf"``, ``"n/a"`` (None).

    Measured values (default): at or above 1 s with ``digits`` decimals (``"16.0 s"``),
    below 1 s in whole milliseconds (``"850 ms"``, finer below 10 ms: ``"4.2 ms"``).
    ``exact=True`` prints the shortest exact form, as for a threshold (``"12 s"``,
    ``"800 ms"``, ``"1.5 s"``).
    """
    if seconds is None or math.isnan(seconds):
        return "n/a"
    if math.isinf(seconds):
        return "inf" if seconds > 0 else "-inf"
    if exact:
        if seconds != 0 and abs(seconds) < 1:
            return f"{_trim(f'{seconds * 1000:.6f}')} ms"
        return f"{_trim(f'{seconds:.6f}')} s"
    if abs(seconds) >= 1 or seconds == 0:
        return f"{seconds:.{digits}f} s" if seconds else "0 s"
    ms = seconds * 1000
    if abs(ms) >= 10:
        return f"{ms:.{max(0, digits - 1)}f} ms"
    return f"{ms:.{digits}f} ms"


def format_rate(fraction: float | None, *, exact: bool = False, digits: int = 1) -> str:
    """A fraction as a percentage: ``"7.5%"``; ``exact=True`` as for a threshold: ``"5%"``."""
    if fraction is None or math.isnan(fraction):
        return "n/a"
    percent = fraction * 100
    if exact:
        return f"{_trim(f'{percent:.6f}')}%"
    if 0 < abs(percent) < 10 ** (-digits):
        return f"{percent:.2g}%"
    return f"{percent:.{digits}f}%"


def format_throughput(per_second: float | None, *, exact: bool = False, digits: int = 2) -> str:
    """Images per second: ``"2.35/s"``; ``exact=True``: ``"2/s"``."""
    if per_second is None or math.isnan(per_second):
        return "n/a"
    if exact:
        return f"{_trim(f'{per_second:.6f}')}/s"
    return f"{per_second:.{digits}f}/s"
