"""URL conventions, API detection, and secret redaction."""

from __future__ import annotations

import pytest

from pytest_qwenperf.protocols import detect_api
from pytest_qwenperf.protocols.urls import base_url
from pytest_qwenperf.redact import redact, sanitize_url


@pytest.mark.parametrize(
    ("url", "api"),
    [
        ("https://dashscope.aliyuncs.com", "dashscope"),
        ("https://dashscope-intl.aliyuncs.com/", "dashscope"),
        ("https://dashscope.aliyuncs.com/api/v1", "dashscope"),
        ("http://127.0.0.1:8000/api/v1", "dashscope"),
        ("http://127.0.0.1:8000/api/v1/", "dashscope"),
        ("http://gpu-box:8000/v1", "openai"),
        ("https://api.example.com/proxy/v1", "openai"),
    ],
)
def test_detect_api_from_unambiguous_urls(url: str, api: str) -> None:
    assert detect_api(url) == api


@pytest.mark.parametrize(
    "url",
    ["http://127.0.0.1:8000", "https://gpu-box.internal", "https://dashscope.aliyuncs.com/v1"],
)
def test_detect_api_refuses_to_guess(url: str) -> None:
    with pytest.raises(ValueError, match="set api"):
        detect_api(url)


def test_explicit_api_wins() -> None:
    assert detect_api("http://127.0.0.1:8000/v1", "dashscope-async") == "dashscope-async"
    assert detect_api("http://127.0.0.1:8000", "openai") == "openai"


@pytest.mark.parametrize(
    ("url", "problem"),
    [
        ("ftp://x", "http"),
        ("127.0.0.1:8000", "http"),
        ("http://user:pw@host", "credentials"),
        ("http://host/?key=1", "query"),
    ],
)
def test_bad_urls_are_clear_errors(url: str, problem: str) -> None:
    with pytest.raises(ValueError, match=problem) as info:
        detect_api(url, "dashscope")
    assert "pw" not in str(info.value)
    assert "key=1" not in str(info.value)


def test_base_url_appends_the_prefix_once() -> None:
    assert base_url("http://h:1", "/api/v1") == "http://h:1/api/v1"
    assert base_url("http://h:1/", "/api/v1") == "http://h:1/api/v1"
    assert base_url("http://h:1/api/v1/", "/api/v1") == "http://h:1/api/v1"
    assert base_url("http://h:1/gw", "/v1") == "http://h:1/gw/v1"


def test_sanitize_url_strips_userinfo_query_and_fragment() -> None:
    assert (
        sanitize_url("https://u:p@h.example:8443/a/b?sig=1&k=2#f") == "https://h.example:8443/a/b"
    )
    assert sanitize_url("/relative?x=1") == "/relative"


def test_redact_masks_key_bearer_and_url_queries_then_truncates() -> None:
    key = "sk-0123456789abcdef"
    text = (
        f"boom Authorization: Bearer {key} at https://u:pw@host/x?Signature=abc "
        f"and the key {key} and api_key=zzz"
    )
    out = redact(text, [key])
    assert key not in out
    assert "pw" not in out
    assert "Signature=abc" not in out
    assert "zzz" not in out
    assert "Bearer ***" in out
    long = redact("x" * 1000 + key, [key])
    assert len(long) == 300
    assert key[:6] not in long
    assert redact("Bearer other-token-value", []) == "Bearer ***"
