"""From settings + marker + run() keywords to one run's LoadConfig, thresholds and budget.

Precedence, most specific first: ``qwenperf.run(...)`` keyword > ``qwenperf`` marker >
command line > environment > ini > default. Marker and run() values are validated with the
same parsers as the options, and errors name the marker (or call) and the keyword.
"""

from __future__ import annotations

import base64
import mimetypes
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pytest_qwenperf.engine.config import LoadConfig
from pytest_qwenperf.errors import ConfigError
from pytest_qwenperf.prompts import BUILTIN_PROMPTS, load_prompt_file
from pytest_qwenperf.protocols.openai import upload_parts
from pytest_qwenperf.protocols.urls import EDIT_APIS
from pytest_qwenperf.session import TargetInfo
from pytest_qwenperf.settings import MARKER_KEYS, OPTIONS_BY_KEY, Settings
from pytest_qwenperf.thresholds import Threshold, merge_thresholds, thresholds_from_kwargs

#: Input images larger than this are refused (DashScope's own limit is 10 MB per image).
MAX_IMAGE_BYTES = 10 * 1024 * 1024


@dataclass(frozen=True)
class RunPlan:
    """One run, fully resolved: what to send (in simulated time) and what gates it."""

    config: LoadConfig
    thresholds: Mapping[str, Threshold]
    sources: Mapping[str, str]

    @property
    def images_requested(self) -> int:
        return self.config.requests + self.config.warmup


def check_marker_kwargs(args: Sequence[object], kwargs: Mapping[str, object], source: str) -> None:
    """Positional arguments and unknown keywords are errors, never silently ignored."""
    if args:
        raise ConfigError(
            f"{source} takes keyword arguments only, got positional {list(args)!r}; write e.g. "
            "@pytest.mark.qwenperf(requests=40, workers=8)"
        )
    unknown = sorted(set(kwargs) - set(MARKER_KEYS))
    if unknown:
        raise ConfigError(
            f"{source} got unknown keyword(s) {', '.join(unknown)}; known: {', '.join(MARKER_KEYS)}"
        )


def sla_thresholds(
    settings: Settings,
    marker_args: Sequence[object],
    marker_kwargs: Mapping[str, object] | None,
) -> dict[str, Threshold]:
    """Session-wide --qwenperf-sla defaults, overridden key by key by the sla marker."""
    base: dict[str, Threshold] = dict(settings["sla"])
    if marker_kwargs is None:
        return base
    if marker_args:
        raise ConfigError(
            f"sla marker takes keyword arguments only, got positional {list(marker_args)!r}; "
            "write e.g. @pytest.mark.sla(p95='12s', timeout_rate='5%')"
        )
    if not marker_kwargs:
        raise ConfigError(
            "sla marker has no thresholds; write e.g. @pytest.mark.sla(p95='12s') or remove it"
        )
    return dict(merge_thresholds(base, thresholds_from_kwargs(dict(marker_kwargs), "sla marker")))


def _prompts(value: object, source: str, test_dir: Path) -> tuple[str, ...]:
    if isinstance(value, (list, tuple)):
        prompts = tuple(p.strip() for p in value if isinstance(p, str) and p.strip())
        if len(prompts) != len(value) or not prompts:
            raise ConfigError(
                f"{source} must be a file path or a non-empty list of non-empty strings, "
                f"got {value!r}"
            )
        return prompts
    if isinstance(value, (str, Path)) and str(value).strip():
        path = Path(value)
        if not path.is_absolute():
            path = test_dir / path
        return load_prompt_file(path, source=source)
    raise ConfigError(f"{source} must be a file path or a list of prompts, got {value!r}")


def _image_ref(value: object, source: str, test_dir: Path) -> str:
    """A URL or data: URI is used as is; a local file becomes a data: URI."""
    if not isinstance(value, (str, Path)) or not str(value).strip():
        raise ConfigError(f"{source} must be an image URL or file path, got {value!r}")
    text = str(value).strip()
    if text.startswith(("http://", "https://", "data:")):
        return text
    path = Path(text)
    if not path.is_absolute():
        path = test_dir / path
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise ConfigError(
            f"{source}: image file {str(path)!r} cannot be read ({exc.strerror or exc}); give "
            "an http(s) URL, a data: URI or an existing image file"
        ) from None
    if len(data) > MAX_IMAGE_BYTES:
        raise ConfigError(f"{source}: image file {str(path)!r} is over 10 MB")
    mime = mimetypes.guess_type(path.name)[0] or "image/png"
    return f"data:{mime};base64,{base64.b64encode(data).decode('ascii')}"


def _images(value: object, source: str, test_dir: Path) -> tuple[str, ...]:
    items = list(value) if isinstance(value, (list, tuple)) else [value]
    if not 1 <= len(items) <= 3:
        raise ConfigError(f"{source} takes 1 to 3 input images, got {len(items)}")
    return tuple(_image_ref(item, f"{source}[{i}]", test_dir) for i, item in enumerate(items))


def build_plan(
    settings: Settings,
    target: TargetInfo,
    layers: Sequence[tuple[str, Mapping[str, object]]],
    thresholds: Mapping[str, Threshold],
    test_dir: Path,
    session_prompts: tuple[str, ...] = BUILTIN_PROMPTS,
) -> RunPlan:
    """Resolve one run. ``layers`` are (source, keywords), least specific first: the marker,
    then run() keywords. ``session_prompts``: the --qwenperf-prompts file's, read once."""
    values: dict[str, Any] = {}
    sources: dict[str, str] = {}
    for key in MARKER_KEYS:
        if key in OPTIONS_BY_KEY:
            values[key] = settings[key]
            sources[key] = settings.sources[key]
    prompts = session_prompts
    images: tuple[str, ...] = ()
    for layer_source, kwargs in layers:
        for key, raw in kwargs.items():
            source = f"{layer_source} keyword {key}"
            if key == "prompts":
                prompts = _prompts(raw, source, test_dir)
            elif key == "images":
                images = _images(raw, source, test_dir)
            else:
                values[key] = OPTIONS_BY_KEY[key].parse(raw, source)
            sources[key] = source
    api = values["api"] or target.api
    if images and api not in EDIT_APIS:
        raise ConfigError(
            f"{sources['images']}: image edit runs on the DashScope sync API or the OpenAI "
            f"edits API, but the api is {api!r} ({sources.get('api', 'detected from the URL')})"
            "; use api='dashscope' or api='openai'"
        )
    if images and api == "openai":
        try:
            upload_parts(images)
        except ValueError as exc:
            raise ConfigError(f"{sources['images']}: {exc}") from None
    config = LoadConfig(
        url=target.url,
        api=api,
        model=values["model"],
        requests=values["requests"],
        workers=values["workers"],
        rate=values["rate"],
        arrival=values["arrival"],
        timeout=values["timeout"],
        retries=values["retries"],
        warmup=values["warmup"],
        size=values["size"],
        prompts=prompts,
        images=images,
        api_key=settings.api_key,
        verify_tls=not settings["insecure"],
    )
    return RunPlan(config=config, thresholds=thresholds, sources=sources)
