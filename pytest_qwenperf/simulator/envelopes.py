"""Wire-level constants and bodies: error envelopes, gateway pages, DashScope timestamps.

Codes and messages follow ``shared/reference/qwen-image-api.md`` section 3 (DashScope) and
section 6 (OpenAI). Where the reference marks a message UNCONFIRMED, the text here is ours.
"""

from __future__ import annotations

import json
import time
from collections.abc import Mapping
from typing import Any

JSON = "application/json"

#: (HTTP status, DashScope code, official message)
INVALID_PARAMETER = (
    400,
    "InvalidParameter",
    "Required parameter(s) missing or invalid, please check the request parameters.",
)
DATA_INSPECTION_FAILED = (
    400,
    "DataInspectionFailed",
    "Input data may contain inappropriate content.",
)
INVALID_API_KEY = (401, "InvalidApiKey", "Invalid API-key provided.")
ACCESS_DENIED = (403, "AccessDenied", "Access denied.")
THROTTLING = (429, "Throttling", "Requests throttling triggered.")
INTERNAL_ERROR = (
    500,
    "InternalError",
    "An internal error has occured, please try again later or contact service support.",
)
INTERNAL_ERROR_ALGO = ("InternalError.Algo", INTERNAL_ERROR[2])
INVALID_URL = (404, "InvalidURL", "Invalid URL provided in your request.")

GATEWAY_REASONS = {
    502: "Bad Gateway",
    503: "Service Temporarily Unavailable",
    504: "Gateway Time-out",
}


class ApiError(Exception):
    """A request the service refuses; rendered as the envelope of the API it arrived on.

    ``openai_type``/``openai_code``/``param`` shape the OpenAI envelope; ``code`` is the
    DashScope code.
    """

    def __init__(
        self,
        status: int,
        code: str,
        message: str,
        *,
        param: str | None = None,
        openai_type: str = "invalid_request_error",
        openai_code: str | None = None,
        outcome: str = "invalid",
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.param = param
        self.openai_type = openai_type
        self.openai_code = openai_code
        self.outcome = outcome
        self.headers = headers


def invalid(message: str, *, param: str | None = None, openai_code: str | None = None) -> ApiError:
    return ApiError(400, "InvalidParameter", message, param=param, openai_code=openai_code)


def dumps(obj: Any) -> bytes:
    return json.dumps(obj, ensure_ascii=False, separators=(",", ":")).encode("utf-8")


#: Headers echoed first (echo_headers mode), so a client that truncates long error messages
#: still receives the credentials in the part it keeps: the worst case for a leak test.
ECHO_FIRST = ("authorization", "x-api-key", "x-dashscope-apikey")


def echo_suffix(headers: Mapping[str, str] | None) -> str:
    if headers is None:
        return ""
    ordered = sorted(headers.items(), key=lambda kv: kv[0].lower() not in ECHO_FIRST)
    return " [request headers: " + json.dumps(dict(ordered), ensure_ascii=False) + "]"


def dashscope_error(
    request_id: str, code: str, message: str, headers: Mapping[str, str] | None = None
) -> bytes:
    """``{"request_id", "code", "message"}``; ``headers`` (echo_headers mode) go into message."""
    return dumps(
        {"request_id": request_id, "code": code, "message": message + echo_suffix(headers)}
    )


_OPENAI_MESSAGES = {
    401: ("Incorrect API key provided.", "invalid_request_error", "invalid_api_key"),
    429: (
        "Rate limit reached for images, please try again later.",
        "requests",
        "rate_limit_exceeded",
    ),
    500: (
        "The server had an error while processing your request. Sorry about that!",
        "server_error",
        None,
    ),
}


def openai_error_for(error: ApiError) -> tuple[str, str, str | None]:
    """(message, type, code) of the OpenAI envelope for a DashScope-style refusal."""
    if error.status in _OPENAI_MESSAGES and error.code != "DataInspectionFailed":
        return _OPENAI_MESSAGES[error.status]
    if error.code == "DataInspectionFailed":
        return (
            "Your request was rejected as a result of our safety system.",
            "invalid_request_error",
            "content_policy_violation",
        )
    return error.message, error.openai_type, error.openai_code


def openai_error(
    message: str,
    type_: str,
    code: str | None,
    param: str | None = None,
    headers: Mapping[str, str] | None = None,
) -> bytes:
    """``{"error": {"message", "type", "param", "code"}}``."""
    return dumps(
        {
            "error": {
                "message": message + echo_suffix(headers),
                "type": type_,
                "param": param,
                "code": code,
            }
        }
    )


def gateway_page(status: int, headers: Mapping[str, str] | None = None) -> bytes:
    """The non-JSON body a front proxy sends when the model service is unreachable."""
    title = f"{status} {GATEWAY_REASONS.get(status, 'Error')}"
    extra = f"<!-- {echo_suffix(headers).strip()} -->" if headers is not None else ""
    return (
        f"<html>\r\n<head><title>{title}</title></head>\r\n<body>\r\n"
        f"<center><h1>{title}</h1></center>\r\n<hr><center>nginx</center>\r\n{extra}"
        "</body>\r\n</html>\r\n"
    ).encode()


def dashscope_time(epoch: float) -> str:
    """DashScope's task timestamp format ``YYYY-MM-DD HH:MM:SS.mmm`` (server local time)."""
    seconds = int(epoch)
    millis = round((epoch - seconds) * 1000)
    if millis == 1000:
        seconds, millis = seconds + 1, 0
    return time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(seconds)) + f".{millis:03d}"
