"""Sans-I/O protocol adapters: DashScope (sync), DashScope async (submit + poll), OpenAI.

Adding a protocol = one new module with an :class:`Adapter` subclass, plus its name in
``urls.API_NAMES`` and a branch in :func:`make_adapter`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from pytest_qwenperf.protocols.base import (
    Adapter,
    Call,
    Failed,
    HttpRequest,
    HttpResponse,
    PollAgain,
    Step,
    Succeeded,
)
from pytest_qwenperf.protocols.dashscope import DashScopeAdapter
from pytest_qwenperf.protocols.dashscope_async import SDK_POLL_INTERVALS, DashScopeAsyncAdapter
from pytest_qwenperf.protocols.openai import OpenAIImagesAdapter
from pytest_qwenperf.protocols.urls import API_NAMES, detect_api


def make_adapter(
    api: str,
    url: str,
    *,
    model: str,
    api_key: str | None = None,
    size: str | None = None,
    images: Sequence[str] = (),
    parameters: Mapping[str, Any] | None = None,
    poll_intervals: Sequence[float] = SDK_POLL_INTERVALS,
) -> Adapter:
    """The adapter ``api`` for ``url``; ValueError for an unknown API or an unusable URL."""
    name = detect_api(url, api)
    common: dict[str, Any] = {
        "model": model,
        "api_key": api_key,
        "size": size,
        "images": images,
        "parameters": parameters,
    }
    if name == "dashscope-async":
        return DashScopeAsyncAdapter(url, poll_intervals=poll_intervals, **common)
    if name == "openai":
        return OpenAIImagesAdapter(url, **common)
    return DashScopeAdapter(url, **common)


__all__ = [
    "API_NAMES",
    "Adapter",
    "Call",
    "DashScopeAdapter",
    "DashScopeAsyncAdapter",
    "Failed",
    "HttpRequest",
    "HttpResponse",
    "OpenAIImagesAdapter",
    "PollAgain",
    "Step",
    "Succeeded",
    "detect_api",
    "make_adapter",
]
