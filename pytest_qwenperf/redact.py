"""Keep secrets out of everything that leaves the engine: messages, URLs, reprs.

``redact(text, secrets)`` replaces each secret (the API key) and any ``Bearer <token>`` with
``***``, strips user-info and query strings from URLs inside the text, and truncates it.
``sanitize_url(url)`` strips user-info, query string and fragment from one URL.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from urllib.parse import urlsplit, urlunsplit

#: Longest error message kept on a sample (characters, after redaction).
MAX_MESSAGE_CHARS = 300

_BEARER = re.compile(r"(?i)\b(bearer)\s+[^\s'\",;]+")
_URL = re.compile(r"[a-zA-Z][a-zA-Z0-9+.-]*://[^\s'\"<>]+")
_KEY_PARAM = re.compile(r"(?i)\b(api[_-]?key|access[_-]?token|signature)=([^\s&'\"]+)")
_MASK = "***"


def sanitize_url(url: str) -> str:
    """``url`` without user-info, query string or fragment (they may carry credentials)."""
    try:
        parts = urlsplit(url)
    except ValueError:
        return "<unparseable url>"
    if not parts.scheme or not parts.netloc:
        # Not an absolute URL: drop anything after '?' or '#' all the same.
        return re.split(r"[?#]", url, maxsplit=1)[0]
    host = parts.netloc.rsplit("@", 1)[-1]
    return urlunsplit((parts.scheme, host, parts.path, "", ""))


def redact(text: str, secrets: Iterable[str | None] = (), limit: int = MAX_MESSAGE_CHARS) -> str:
    """``text`` with secrets masked, URLs sanitized and the result cut to ``limit`` characters.

    Secrets are replaced before truncation, so a key cut in half by the limit can never
    survive as a prefix.
    """
    out = text
    for secret in secrets:
        if secret:
            out = out.replace(secret, _MASK)
    out = _BEARER.sub(lambda m: f"{m.group(1)} {_MASK}", out)
    out = _URL.sub(lambda m: sanitize_url(m.group(0)), out)
    out = _KEY_PARAM.sub(lambda m: f"{m.group(1)}={_MASK}", out)
    if limit and len(out) > limit:
        out = out[: max(0, limit - 3)] + "..."
    return out
