"""Sans-I/O protocol adapters: build requests, interpret responses, say what to do next.

An adapter knows a wire format and nothing about sockets or threads. The engine asks an
:class:`Adapter` for a :class:`Call` per planned request, sends ``call.first_request()``,
hands every response to ``call.handle(response)`` and acts on the returned step:

* :class:`Succeeded`: the image is ready (URLs, request id, service timestamps);
* :class:`Failed`: the request failed with an outcome class, HTTP status, code and message;
* :class:`PollAgain`: wait ``after_s`` seconds, then send ``request`` (async task APIs).
"""

from __future__ import annotations

import json
from abc import ABC, abstractmethod
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, TypeAlias

from pytest_qwenperf._version import __version__
from pytest_qwenperf.metrics.sample import Outcome
from pytest_qwenperf.redact import sanitize_url

USER_AGENT = f"pytest-qwenperf/{__version__}"


@dataclass(frozen=True)
class HttpRequest:
    """One HTTP request to send. ``repr`` never shows header values (they carry the key)."""

    method: str
    url: str
    headers: Mapping[str, str] = field(default_factory=dict)
    json_body: Any = None
    #: a body already encoded (multipart/form-data); its Content-Type is in ``headers``
    content: bytes | None = None

    def body_bytes(self) -> bytes | None:
        if self.content is not None:
            return self.content
        if self.json_body is None:
            return None
        return json.dumps(self.json_body, ensure_ascii=False).encode("utf-8")

    def __repr__(self) -> str:
        return f"HttpRequest({self.method} {self.url}, headers={sorted(self.headers)})"


@dataclass(frozen=True)
class HttpResponse:
    """What the engine received: status, headers (lower-case names) and the whole body."""

    status: int
    headers: Mapping[str, str]
    body: bytes

    def header(self, name: str) -> str | None:
        return self.headers.get(name.lower())

    def __repr__(self) -> str:
        # The body and headers are the server's words: a hostile or buggy server may echo
        # the key in them, so a repr (pytest -l, logs) shows only their size.
        return f"HttpResponse({self.status}, {len(self.headers)} headers, {len(self.body)} bytes)"


@dataclass(frozen=True)
class Succeeded:
    image_urls: tuple[str, ...]
    status: int = 200
    request_id: str | None = None
    service_submit_time: str | None = None
    service_scheduled_time: str | None = None
    service_end_time: str | None = None
    service_queue_s: float | None = None
    service_generation_s: float | None = None


@dataclass(frozen=True)
class Failed:
    outcome: Outcome
    status: int | None = None
    error_code: str | None = None
    message: str | None = None
    request_id: str | None = None


@dataclass(frozen=True)
class PollAgain:
    request: HttpRequest
    after_s: float
    #: The task id and the service times seen so far (kept if a later poll fails).
    task_id: str | None = None
    request_id: str | None = None


Step: TypeAlias = "Succeeded | Failed | PollAgain"


class Call(ABC):
    """The conversation for one planned request. Not thread-safe; one per request."""

    @abstractmethod
    def first_request(self) -> HttpRequest: ...

    @abstractmethod
    def handle(self, response: HttpResponse) -> Step: ...


class Adapter(ABC):
    """A protocol: turns (prompt, images, parameters) into :class:`Call` objects."""

    #: The ``LoadConfig.api`` name of this adapter.
    name: str = ""

    @property
    @abstractmethod
    def endpoint(self) -> str:
        """The URL of the generation call (for reports; never carries credentials)."""

    @abstractmethod
    def new_call(self, prompt: str) -> Call: ...


def outcome_for_status(status: int) -> Outcome:
    """The outcome class of a non-success HTTP status."""
    if status == 429:
        return Outcome.THROTTLED
    if 500 <= status <= 599:
        return Outcome.HTTP_5XX
    if 400 <= status <= 499:
        return Outcome.HTTP_4XX
    # 1xx/3xx (redirects are never followed) or an unexpected 2xx: not a usable answer.
    return Outcome.INVALID_RESPONSE


def parse_json(body: bytes) -> Any:
    """The decoded JSON body, or raise ValueError."""
    return json.loads(body.decode("utf-8"))


def auth_headers(api_key: str | None) -> dict[str, str]:
    headers = {
        "Content-Type": "application/json; charset=utf-8",
        "Accept": "application/json",
        "User-Agent": USER_AGENT,
    }
    if api_key:
        headers["Authorization"] = f"Bearer {api_key}"
    return headers


def text_snippet(body: bytes, limit: int = 200) -> str:
    return body[:limit].decode("utf-8", errors="replace")


def error_from_body(response: HttpResponse) -> Failed:
    """A non-2xx response as :class:`Failed`, reading DashScope or OpenAI error bodies."""
    code: str | None = None
    message: str | None = None
    request_id: str | None = response.header("x-request-id")
    try:
        data = parse_json(response.body)
    except ValueError:
        data = None
    if isinstance(data, dict):
        err = data.get("error")
        if isinstance(err, dict):  # OpenAI: {"error": {"message", "type", "code"}}
            code = _str_or_none(err.get("code")) or _str_or_none(err.get("type"))
            message = _str_or_none(err.get("message"))
        else:  # DashScope: {"code", "message", "request_id"}; FastAPI: {"detail": ...}
            code = _str_or_none(data.get("code"))
            message = _str_or_none(data.get("message") or data.get("msg"))
            if message is None and "detail" in data:
                message = str(data["detail"])
        request_id = _str_or_none(data.get("request_id")) or request_id
    elif response.body:
        message = text_snippet(response.body)
    if 300 <= response.status <= 399:
        location = response.header("location")
        code = code or "Redirect"
        message = message or f"redirect to {location or '?'} not followed"
    return Failed(
        outcome=outcome_for_status(response.status),
        status=response.status,
        error_code=code,
        message=message or f"HTTP {response.status}",
        request_id=request_id,
    )


def success_json(response: HttpResponse) -> tuple[Any, str | None] | Failed:
    """A 200 response's decoded JSON body and its ``x-request-id``, or the :class:`Failed`
    step for a non-200 response or a 200 whose body is not JSON."""
    header_id = response.header("x-request-id")
    if response.status != 200:
        return error_from_body(response)
    try:
        return parse_json(response.body), header_id
    except ValueError:
        return Failed(
            Outcome.INVALID_RESPONSE,
            200,
            "InvalidJSON",
            f"200 with a body that is not JSON: {text_snippet(response.body, 80)!r}",
            header_id,
        )


def image_ref(url: str) -> str:
    """How an image is recorded on a sample: a URL without its (signed) query string, or for
    inline base64 data a short placeholder (never megabytes of image per sample)."""
    if url.startswith("data:"):
        return f"{url[:30]}...({len(url)} chars)"
    return sanitize_url(url)


def _str_or_none(value: Any) -> str | None:
    if value is None or value == "":
        return None
    return str(value)


DASHSCOPE_TIME_FORMAT = "%Y-%m-%d %H:%M:%S.%f"


def parse_service_time(value: Any) -> datetime | None:
    """A DashScope timestamp ``YYYY-MM-DD HH:MM:SS.mmm`` (no zone), or None."""
    if not isinstance(value, str) or not value:
        return None
    for fmt in (DASHSCOPE_TIME_FORMAT, "%Y-%m-%d %H:%M:%S"):
        try:
            return datetime.strptime(value, fmt)
        except ValueError:
            continue
    return None


def with_service_times(
    image_urls: tuple[str, ...], output: Mapping[str, Any], request_id: str | None
) -> Succeeded:
    """A :class:`Succeeded` carrying DashScope's submit/scheduled/end times when present.

    Queue wait = scheduled - submit, generation = end - scheduled (both zone-less, from the
    same service clock, so their differences are meaningful).
    """
    submit_raw, sched_raw, end_raw = (
        output.get("submit_time"),
        output.get("scheduled_time"),
        output.get("end_time"),
    )
    submit, sched, end = (
        parse_service_time(submit_raw),
        parse_service_time(sched_raw),
        parse_service_time(end_raw),
    )
    queue_s = (sched - submit).total_seconds() if submit and sched else None
    gen_s = (end - sched).total_seconds() if sched and end else None
    return Succeeded(
        image_urls=image_urls,
        request_id=request_id,
        service_submit_time=submit_raw if isinstance(submit_raw, str) else None,
        service_scheduled_time=sched_raw if isinstance(sched_raw, str) else None,
        service_end_time=end_raw if isinstance(end_raw, str) else None,
        service_queue_s=queue_s,
        service_generation_s=gen_s,
    )
