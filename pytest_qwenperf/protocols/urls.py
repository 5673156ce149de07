"""What ``LoadConfig.url`` means, and which API a URL speaks.

``url`` is the service root (``http://127.0.0.1:8000``, ``https://dashscope.aliyuncs.com``);
the adapter appends its own prefix (``/api/v1`` for DashScope, ``/v1`` for OpenAI-style
servers). A URL that already ends in that prefix is accepted as is.
"""

from __future__ import annotations

from urllib.parse import urlsplit, urlunsplit

from pytest_qwenperf.redact import sanitize_url

API_NAMES = ("dashscope", "dashscope-async", "openai")
#: The APIs that take input images (an image edit run).
EDIT_APIS = ("dashscope", "openai")

DASHSCOPE_PREFIX = "/api/v1"
OPENAI_PREFIX = "/v1"


def _split(url: str) -> tuple[str, str, str]:
    """(scheme, netloc, path without trailing slash); ValueError for anything unusable."""
    parts = urlsplit(url.strip())
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValueError(
            f"url must be an http(s) URL of the service root, e.g. "
            f"'https://dashscope.aliyuncs.com' or 'http://127.0.0.1:8000'; "
            f"got {sanitize_url(url)!r}"
        )
    if "@" in parts.netloc:
        raise ValueError(
            "url must not carry credentials (user:password@host); pass the API key separately"
        )
    if parts.query or parts.fragment:
        raise ValueError(
            f"url must not have a query string or fragment; got {sanitize_url(url)!r}?..."
        )
    return parts.scheme, parts.netloc, parts.path.rstrip("/")


def base_url(url: str, prefix: str) -> str:
    """The API base: ``url`` with ``prefix`` appended unless it already ends with it."""
    scheme, netloc, path = _split(url)
    if not path.endswith(prefix):
        path = path + prefix
    return urlunsplit((scheme, netloc, path, "", ""))


def is_dashscope_host(host: str) -> bool:
    host = host.lower()
    return host.endswith(".aliyuncs.com") and "dashscope" in host


def detect_api(url: str, api: str | None = None) -> str:
    """The adapter name for ``url``: an explicit ``api`` wins; otherwise from the URL.

    Rules: a DashScope host (``dashscope*.aliyuncs.com``) or a path ending in ``/api/v1`` ->
    ``dashscope`` (the sync API; async must be chosen explicitly); a path ending in ``/v1``
    -> ``openai``. Anything else (e.g. a bare ``http://127.0.0.1:8000``) is ambiguous and
    raises ValueError naming the choices.
    """
    if api is not None:
        if api not in API_NAMES:
            raise ValueError(f"api must be one of {', '.join(API_NAMES)}, got {api!r}")
        _split(url)
        return api
    _scheme, netloc, path = _split(url)
    host = urlsplit(f"//{netloc}").hostname or ""
    if path.endswith(DASHSCOPE_PREFIX):
        return "dashscope"
    if path.endswith(OPENAI_PREFIX):
        if is_dashscope_host(host):
            raise ValueError(
                f"cannot tell the API of {sanitize_url(url)!r}: a DashScope host with an "
                "OpenAI-style path; set api to 'dashscope', 'dashscope-async' or 'openai'"
            )
        return "openai"
    if is_dashscope_host(host) and path in ("", DASHSCOPE_PREFIX):
        return "dashscope"
    raise ValueError(
        f"cannot tell which API {sanitize_url(url)!r} speaks; set api to one of "
        f"{', '.join(API_NAMES)} (or give a URL ending in /api/v1 for DashScope "
        "or /v1 for an OpenAI-style server)"
    )
