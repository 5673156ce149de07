"""Configuration: every option's definition, and the resolution of all layers into Settings.

Precedence, most specific first: ``qwenperf.run(...)`` keyword > ``qwenperf`` marker >
command line > environment > ini > default. Every value is validated where it enters and a
bad one raises :class:`ConfigError` naming its source, the value and the fix; the plugin
turns that into a usage error (exit 4) or an error of the one test.
"""

from __future__ import annotations

import math
import re
import urllib.parse
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from pytest_qwenperf.engine.config import APIS
from pytest_qwenperf.errors import ConfigError
from pytest_qwenperf.thresholds import Threshold, parse_sla_spec
from pytest_qwenperf.units import parse_duration

GATE_MODES = ("point", "strict", "lenient")
SIM_PROFILES = ("healthy", "degraded", "flaky", "overloaded", "fixed")
ARRIVALS = ("constant", "poisson")
#: Environment variables holding the API key, first found wins. There is no option for it.
API_KEY_ENV = ("QWENPERF_API_KEY", "DASHSCOPE_API_KEY")
URL_ENV = "QWENPERF_URL"
#: One thread per worker: beyond this a typo (10**12) would exhaust the machine.
MAX_WORKERS = 5000

Parser = Callable[[object, str], Any]


def _is_bool(value: object) -> bool:
    return isinstance(value, bool)


def parse_int(minimum: int, maximum: int | None = None) -> Parser:
    def parse(value: object, source: str) -> int:
        text = str(value).strip()
        allowed = f">= {minimum}" if maximum is None else f"from {minimum} to {maximum}"
        if _is_bool(value) or isinstance(value, float) or not re.fullmatch(r"[+-]?\d+", text):
            raise ConfigError(f"{source} must be a whole number {allowed}, got {value!r}")
        number = int(text)
        if number < minimum or (maximum is not None and number > maximum):
            raise ConfigError(f"{source} must be a whole number {allowed}, got {value!r}")
        return number

    return parse


def parse_positive_float(
    what: str, minimum: float | None = None, maximum: float | None = None
) -> Parser:
    def parse(value: object, source: str) -> float:
        text = str(value).strip()
        if _is_bool(value):
            raise ConfigError(f"{source} must be a positive number ({what}), got {value!r}")
        try:
            number = float(text.removesuffix("/s")) if isinstance(value, str) else float(text)
        except ValueError:
            raise ConfigError(
                f"{source} must be a positive number ({what}), got {value!r}"
            ) from None
        if not math.isfinite(number) or number <= 0:
            raise ConfigError(f"{source} must be a positive number ({what}), got {value!r}")
        if (minimum is not None and number < minimum) or (maximum is not None and number > maximum):
            raise ConfigError(
                f"{source} must be {what} from {minimum:g} to {maximum:g}, got {value!r}"
            )
        return number

    return parse


def parse_seconds(value: object, source: str) -> float:
    seconds = parse_duration(value, source=source)  # type: ignore[arg-type]
    if not math.isfinite(seconds) or seconds <= 0:
        raise ConfigError(f"{source} must be a positive duration such as '30s', got {value!r}")
    return seconds


def parse_choice(choices: tuple[str, ...]) -> Parser:
    def parse(value: object, source: str) -> str:
        text = str(value).strip()
        if not isinstance(value, str) or text not in choices:
            raise ConfigError(f"{source} must be one of {', '.join(choices)}, got {value!r}")
        return text

    return parse


def parse_text(value: object, source: str) -> str:
    if not isinstance(value, str) or not value.strip():
        raise ConfigError(f"{source} must be a non-empty string, got {value!r}")
    return value.strip()


def parse_size(value: object, source: str) -> str:
    """``"1328*1328"`` or ``"1328x1328"``, normalised to DashScope's ``W*H``."""
    text = str(value).strip() if isinstance(value, str) else ""
    match = re.fullmatch(r"(\d{2,5})\s*[*xX×]\s*(\d{2,5})", text)
    if not match:
        raise ConfigError(
            f"{source} must be an image size 'W*H' such as '1328*1328' or '1664*928', got {value!r}"
        )
    return f"{int(match.group(1))}*{int(match.group(2))}"


def parse_url(value: object, source: str) -> str:
    """A base URL: http(s), a host, no credentials, no query string or fragment."""
    text = str(value).strip() if isinstance(value, str) else ""
    if not text:
        raise ConfigError(f"{source} must be a URL such as https://dashscope.aliyuncs.com")
    try:
        parts = urllib.parse.urlsplit(text)
        hostname = parts.hostname
    except ValueError as exc:  # e.g. an unclosed IPv6 bracket: "http://[::1/api/v1"
        raise ConfigError(
            f"{source} is not a valid URL ({exc}); for example https://dashscope.aliyuncs.com"
        ) from None
    if parts.scheme not in ("http", "https") or not hostname:
        shown = urllib.parse.urlunsplit(parts._replace(query="", fragment=""))
        raise ConfigError(
            f"{source} must start with http:// or https:// and name a host, got "
            f"{shown.split('@')[-1]!r}; for example https://dashscope.aliyuncs.com"
        )
    if parts.username is not None or parts.password is not None:
        raise ConfigError(
            f"{source} must not carry credentials in the URL (user-info before '@'); put the "
            f"API key in the {API_KEY_ENV[0]} environment variable instead"
        )
    if parts.query or parts.fragment:
        raise ConfigError(
            f"{source} must not have a query string or fragment (an API key there would leak "
            f"into logs and reports); put the key in the {API_KEY_ENV[0]} environment variable"
        )
    try:
        _ = parts.port
    except ValueError:
        raise ConfigError(f"{source} has an invalid port: {text!r}") from None
    return text.rstrip("/")


def parse_sla(value: object, source: str) -> dict[str, Threshold]:
    if not isinstance(value, str):
        raise ConfigError(
            f"{source} must be a text such as 'p95<=12s, timeout_rate<=5%', got {value!r}"
        )
    return parse_sla_spec(value, source)


def parse_path(value: object, source: str) -> str:
    if not isinstance(value, str) or not value.strip():
        raise ConfigError(f"{source} must be a file path, got {value!r}")
    return value.strip()


def parse_flag(value: object, source: str) -> bool:
    if isinstance(value, bool):
        return value
    text = str(value).strip().lower()
    if text in ("1", "true", "yes", "on"):
        return True
    if text in ("0", "false", "no", "off", ""):
        return False
    raise ConfigError(f"{source} must be true or false, got {value!r}")


@dataclass(frozen=True)
class OptionSpec:
    """One setting: its command-line option, ini key, help (shared by both) and parser."""

    key: str
    help: str
    default: Any
    parse: Parser
    metavar: str | None = None
    flag_only: bool = False
    env: str | None = None

    @property
    def option(self) -> str:
        return "--qwenperf-" + self.key.replace("_", "-")

    @property
    def ini(self) -> str:
        return "qwenperf_" + self.key


OPTIONS: tuple[OptionSpec, ...] = (
    OptionSpec(
        "url",
        f"base URL of the service, e.g. https://dashscope.aliyuncs.com or "
        f"http://gpu-box:8000 (env {URL_ENV}). Default: the embedded simulator.",
        None,
        parse_url,
        "URL",
        env=URL_ENV,
    ),
    OptionSpec(
        "api",
        "protocol: dashscope (sync), dashscope-async (submit + poll) or openai "
        "(/v1/images/generations; /v1/images/edits for a run with images=). Default: "
        "detected from the URL (the simulator: dashscope).",
        None,
        parse_choice(APIS),
        "API",
    ),
    OptionSpec(
        "model",
        "model name sent with each request. Default: qwen-image.",
        "qwen-image",
        parse_text,
        "NAME",
    ),
    OptionSpec(
        "workers",
        "concurrent requests: worker threads in closed loop, the cap on "
        f"requests in flight with --qwenperf-rate (at most {MAX_WORKERS}). Default: 4.",
        4,
        parse_int(1, MAX_WORKERS),
        "N",
    ),
    OptionSpec(
        "requests",
        "measured requests per run (warm-up not included). Default: 20.",
        20,
        parse_int(1),
        "N",
    ),
    OptionSpec(
        "rate",
        "open loop: start this many requests per second whatever the service "
        "does (latency counts from the intended start). Default: closed loop.",
        None,
        parse_positive_float("requests per second"),
        "PER_SECOND",
    ),
    OptionSpec(
        "arrival",
        "open-loop arrivals: constant or poisson. Default: constant.",
        "constant",
        parse_choice(ARRIVALS),
        "KIND",
    ),
    OptionSpec(
        "timeout",
        "per-request deadline covering connect, every poll and the whole "
        "body, e.g. 60s. Default: 120s.",
        120.0,
        parse_seconds,
        "DURATION",
    ),
    OptionSpec(
        "retries",
        "retries on 429, 502, 503, 504 and connection errors, with backoff; "
        "every attempt is reported. Default: 0.",
        0,
        parse_int(0),
        "N",
    ),
    OptionSpec(
        "warmup",
        "requests sent before the measured ones, reported apart (cold start). Default: 0.",
        0,
        parse_int(0),
        "N",
    ),
    OptionSpec(
        "size",
        "image size W*H, e.g. 1328*1328. Default: the API's default.",
        None,
        parse_size,
        "W*H",
    ),
    OptionSpec(
        "prompts",
        "file with one prompt per line (UTF-8). Default: the built-in bilingual prompt set.",
        None,
        parse_path,
        "FILE",
    ),
    OptionSpec(
        "sla",
        "SLA for every run, e.g. 'p95<=12s, timeout_rate<=5%, "
        "error_5xx_rate<=1%'; an sla marker overrides it key by key. Default: none.",
        {},
        parse_sla,
        "SPEC",
    ),
    OptionSpec(
        "session_sla",
        "SLA for the aggregate of all runs of the session; a breach "
        "fails the session (exit 1). Default: none.",
        {},
        parse_sla,
        "SPEC",
    ),
    OptionSpec(
        "gate",
        "how gates decide: point (the estimate against the threshold), strict "
        "(pass only when the 95% bound proves the SLA), lenient (fail only when the "
        "bound proves the breach). Default: point.",
        "point",
        parse_choice(GATE_MODES),
        "MODE",
    ),
    OptionSpec(
        "max_images",
        "the most images the session may request; a run that would "
        "pass the cap errors before sending anything. Default: no cap.",
        None,
        parse_int(1),
        "N",
    ),
    OptionSpec(
        "sim_profile",
        "profile of the embedded simulator (no URL): healthy, "
        "degraded, flaky, overloaded or fixed. Default: healthy.",
        "healthy",
        parse_choice(SIM_PROFILES),
        "PROFILE",
    ),
    OptionSpec(
        "sim_time_scale",
        "time scale of the embedded simulator: its times are "
        "multiplied by this, and durations are reported in simulated seconds. "
        "Default: 0.01.",
        0.01,
        parse_positive_float("a time factor", 1e-4, 100.0),
        "FACTOR",
    ),
    OptionSpec(
        "json",
        "write the JSON perf report here (relative to the rootdir). Default: none.",
        None,
        parse_path,
        "PATH",
    ),
    OptionSpec(
        "junit",
        "write a JUnit file with one testcase per (run, gate) here. Default: none.",
        None,
        parse_path,
        "PATH",
    ),
    OptionSpec(
        "csv", "write one CSV row per sample here. Default: none.", None, parse_path, "PATH"
    ),
    OptionSpec(
        "markdown",
        "write the markdown job summary here (it is also appended to "
        "$GITHUB_STEP_SUMMARY when that is set). Default: none.",
        None,
        parse_path,
        "PATH",
    ),
    OptionSpec(
        "no_samples",
        "leave the per-request samples out of the JSON report. Default: samples included.",
        False,
        parse_flag,
        flag_only=True,
    ),
    OptionSpec(
        "insecure",
        "do not verify TLS certificates (recorded in every report). Default: verify.",
        False,
        parse_flag,
        flag_only=True,
    ),
)
OPTIONS_BY_KEY: dict[str, OptionSpec] = {spec.key: spec for spec in OPTIONS}

#: Keywords of the ``qwenperf`` marker and of ``qwenperf.run(...)``.
MARKER_KEYS = (
    "requests",
    "workers",
    "rate",
    "arrival",
    "warmup",
    "timeout",
    "retries",
    "prompts",
    "size",
    "api",
    "model",
    "images",
)


@dataclass(frozen=True)
class Settings:
    """The session's resolved configuration, with where each value came from."""

    values: Mapping[str, Any]
    sources: Mapping[str, str]
    api_key: str | None = field(default=None, repr=False)
    api_key_source: str | None = None

    def __getitem__(self, key: str) -> Any:
        return self.values[key]

    @property
    def url(self) -> str | None:
        value: str | None = self.values["url"]
        return value

    @property
    def use_simulator(self) -> bool:
        return self.values["url"] is None


def source_name(spec: OptionSpec, layer: str) -> str:
    if layer == "cli":
        return spec.option
    if layer == "env":
        return f"environment variable {spec.env}"
    if layer == "ini":
        return f"ini key {spec.ini}"
    return "default"


def resolve_settings(
    cli: Mapping[str, object | None],
    env: Mapping[str, str],
    ini: Mapping[str, object | None],
) -> Settings:
    """Resolve command line > environment > ini > default for every option.

    ``cli`` and ``ini`` map option keys to raw values, None (or '') when not given.
    """
    values: dict[str, Any] = {}
    sources: dict[str, str] = {}
    for spec in OPTIONS:
        layers: list[tuple[str, object | None]] = [
            ("cli", cli.get(spec.key)),
            ("env", env.get(spec.env) if spec.env else None),
            ("ini", ini.get(spec.key)),
        ]
        for layer, raw in layers:
            if raw is None or raw == "" or (spec.flag_only and raw is False):
                continue
            source = source_name(spec, layer)
            values[spec.key] = spec.parse(raw, source)
            sources[spec.key] = source
            break
        else:
            values[spec.key] = spec.default
            sources[spec.key] = "default"
    api_key, key_source = None, None
    for name in API_KEY_ENV:
        if env.get(name):
            api_key, key_source = env[name].strip(), f"environment variable {name}"
            check_api_key(api_key, key_source)
            break
    check_conflicts(values, sources)
    return Settings(values=values, sources=sources, api_key=api_key, api_key_source=key_source)


def check_api_key(key: str, source: str) -> None:
    """A key that cannot travel in an HTTP header is refused up front, without showing it:
    sent, it would fail every request (non-ASCII) or split the header (a line break)."""
    if not key.isascii() or not key.isprintable() or any(c.isspace() for c in key):
        raise ConfigError(
            f"{source} holds an API key that cannot be sent in an HTTP header (it has "
            "non-ASCII, control or whitespace characters); copy the key again without them"
        )


def check_conflicts(values: Mapping[str, Any], sources: Mapping[str, str]) -> None:
    if values["url"] is not None:
        for key in ("sim_profile", "sim_time_scale"):
            if sources[key] != "default":
                raise ConfigError(
                    f"{sources[key]} configures the embedded simulator, but {sources['url']} "
                    f"points at {values['url']!r}; drop one of them"
                )
