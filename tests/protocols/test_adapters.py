"""Sans-I/O adapters: requests they build and how they read every kind of response."""

from __future__ import annotations

import base64
import email.policy
import json
import re
from email.parser import BytesParser

import pytest

from pytest_qwenperf.metrics.sample import Outcome
from pytest_qwenperf.protocols import (
    DashScopeAdapter,
    DashScopeAsyncAdapter,
    Failed,
    HttpRequest,
    HttpResponse,
    OpenAIImagesAdapter,
    PollAgain,
    Succeeded,
    make_adapter,
)
from pytest_qwenperf.protocols.openai import decode_data_uri

KEY = "sk-canary-0123456789"


def resp(status: int, body: object, headers: dict[str, str] | None = None) -> HttpResponse:
    raw = body if isinstance(body, bytes) else json.dumps(body).encode()
    return HttpResponse(status, {k.lower(): v for k, v in (headers or {}).items()}, raw)


DS_OK = {
    "output": {
        "choices": [
            {
                "finish_reason": "stop",
                "message": {
                    "role": "assistant",
                    "content": [{"image": "https://oss.example/a.png?Expires=1&Signature=zz"}],
                },
            }
        ],
        "task_metric": {"FAILED": 0, "SUCCEEDED": 1, "TOTAL": 1},
    },
    "usage": {"height": 1328, "image_count": 1, "width": 1328},
    "request_id": "rid-1",
}


# -- DashScope sync -----------------------------------------------------------------------------


def test_dashscope_builds_text_to_image_request() -> None:
    adapter = DashScopeAdapter(
        "http://127.0.0.1:8000/",
        model="qwen-image-plus",
        api_key=KEY,
        size="1328*1328",
        parameters={"prompt_extend": False},
    )
    req = adapter.new_call("a cat").first_request()
    assert req.method == "POST"
    assert req.url == (
        "http://127.0.0.1:8000/api/v1/services/aigc/multimodal-generation/generation"
    )
    assert req.headers["Authorization"] == f"Bearer {KEY}"
    assert req.json_body == {
        "model": "qwen-image-plus",
        "input": {"messages": [{"role": "user", "content": [{"text": "a cat"}]}]},
        "parameters": {"prompt_extend": False, "size": "1328*1328"},
    }
    assert KEY not in repr(req)


def test_dashscope_accepts_a_url_already_ending_in_api_v1() -> None:
    adapter = DashScopeAdapter("https://dashscope.aliyuncs.com/api/v1/", model="qwen-image")
    assert adapter.endpoint == (
        "https://dashscope.aliyuncs.com/api/v1/services/aigc/multimodal-generation/generation"
    )


def test_dashscope_image_edit_puts_images_before_the_text() -> None:
    adapter = DashScopeAdapter(
        "http://h:1",
        model="qwen-image-edit-plus",
        images=("https://x/1.png", "data:image/png;base64,AA"),
    )
    content = adapter.new_call("swap")._request.json_body["input"]["messages"][0]["content"]  # type: ignore[attr-defined]
    assert content == [
        {"image": "https://x/1.png"},
        {"image": "data:image/png;base64,AA"},
        {"text": "swap"},
    ]
    with pytest.raises(ValueError, match="1 to 3 input images"):
        DashScopeAdapter("http://h:1", model="m", images=("a", "b", "c", "d"))


def test_dashscope_success_keeps_request_id_and_strips_signed_query() -> None:
    step = DashScopeAdapter("http://h:1", model="m").new_call("p").handle(resp(200, DS_OK))
    assert isinstance(step, Succeeded)
    assert step.image_urls == ("https://oss.example/a.png",)
    assert step.request_id == "rid-1"


def test_dashscope_service_times_are_parsed_when_present() -> None:
    body = json.loads(json.dumps(DS_OK))
    body["output"].update(
        submit_time="2025-09-09 11:38:54.741",
        scheduled_time="2025-09-09 11:38:55.000",
        end_time="2025-09-09 11:39:19.484",
    )
    step = DashScopeAdapter("http://h:1", model="m").new_call("p").handle(resp(200, body))
    assert isinstance(step, Succeeded)
    assert step.service_submit_time == "2025-09-09 11:38:54.741"
    assert step.service_queue_s == pytest.approx(0.259)
    assert step.service_generation_s == pytest.approx(24.484)


@pytest.mark.parametrize(
    ("status", "body", "outcome", "code"),
    [
        (
            500,
            {"code": "InternalError", "message": "boom", "request_id": "r"},
            Outcome.HTTP_5XX,
            "InternalError",
        ),
        (502, b"<html>Bad Gateway</html>", Outcome.HTTP_5XX, None),
        (
            429,
            {"code": "Throttling.RateQuota", "message": "slow"},
            Outcome.THROTTLED,
            "Throttling.RateQuota",
        ),
        (
            400,
            {"code": "DataInspectionFailed", "message": "no"},
            Outcome.HTTP_4XX,
            "DataInspectionFailed",
        ),
        (
            401,
            {"code": "InvalidApiKey", "message": "Invalid API-key provided."},
            Outcome.HTTP_4XX,
            "InvalidApiKey",
        ),
        (302, b"", Outcome.INVALID_RESPONSE, "Redirect"),
        (200, b"{not json", Outcome.INVALID_RESPONSE, "InvalidJSON"),
        (200, {"output": {"choices": []}, "request_id": "r"}, Outcome.INVALID_RESPONSE, "NoImage"),
        (200, [1, 2], Outcome.INVALID_RESPONSE, "InvalidJSON"),
    ],
)
def test_dashscope_failures_are_classified(
    status: int, body: object, outcome: Outcome, code: str | None
) -> None:
    step = DashScopeAdapter("http://h:1", model="m").new_call("p").handle(resp(status, body))
    assert isinstance(step, Failed)
    assert step.outcome is outcome
    assert step.status == status
    assert step.error_code == code
    assert step.message


# -- DashScope async ----------------------------------------------------------------------------


def test_async_submit_then_polls_on_the_sdk_cadence_until_succeeded() -> None:
    adapter = DashScopeAsyncAdapter(
        "http://h:1", model="qwen-image-plus", api_key=KEY, size="1664*928"
    )
    call = adapter.new_call("poster")
    submit = call.first_request()
    assert submit.url == "http://h:1/api/v1/services/aigc/text2image/image-synthesis"
    assert submit.headers["X-DashScope-Async"] == "enable"
    assert submit.json_body == {
        "model": "qwen-image-plus",
        "input": {"prompt": "poster"},
        "parameters": {"n": 1, "size": "1664*928"},
    }
    step = call.handle(resp(200, {"output": {"task_status": "PENDING", "task_id": "t1"}}))
    assert isinstance(step, PollAgain)
    assert step.request.method == "GET"
    assert step.request.url == "http://h:1/api/v1/tasks/t1"
    assert step.after_s == 0.0
    delays = [step.after_s]
    for _ in range(11):
        step = call.handle(resp(200, {"output": {"task_id": "t1", "task_status": "RUNNING"}}))
        assert isinstance(step, PollAgain)
        delays.append(step.after_s)
    assert delays == [0.0, 1.0, 1.0, 2.0, 2.0, 2.0, 4.0, 4.0, 4.0, 5.0, 5.0, 5.0]
    done = call.handle(
        resp(
            200,
            {
                "request_id": "rid-9",
                "output": {
                    "task_id": "t1",
                    "task_status": "SUCCEEDED",
                    "submit_time": "2025-09-09 11:38:54.741",
                    "scheduled_time": "2025-09-09 11:38:54.781",
                    "end_time": "2025-09-09 11:39:19.484",
                    "results": [{"url": "https://oss/x.png?Expires=9"}],
                },
            },
        )
    )
    assert isinstance(done, Succeeded)
    assert done.image_urls == ("https://oss/x.png",)
    assert done.service_queue_s == pytest.approx(0.040)
    assert done.service_generation_s == pytest.approx(24.703)


@pytest.mark.parametrize("status", ["FAILED", "CANCELED", "UNKNOWN"])
def test_async_terminal_failures_are_task_failed(status: str) -> None:
    call = DashScopeAsyncAdapter("http://h:1", model="m").new_call("p")
    call.handle(resp(200, {"output": {"task_status": "PENDING", "task_id": "t"}}))
    body = {"output": {"task_id": "t", "task_status": status}}
    if status == "FAILED":
        body["output"].update(code="InvalidParameter", message="The size is not match")
    step = call.handle(resp(200, body))
    assert isinstance(step, Failed)
    assert step.outcome is Outcome.TASK_FAILED
    assert step.error_code == (
        "InvalidParameter" if status == "FAILED" else f"Task{status.title()}"
    )


def test_async_submit_errors_and_missing_task_id() -> None:
    adapter = DashScopeAsyncAdapter("http://h:1", model="m")
    step = adapter.new_call("p").handle(resp(403, {"code": "AccessDenied", "message": "x"}))
    assert isinstance(step, Failed)
    assert step.outcome is Outcome.HTTP_4XX
    step = adapter.new_call("p").handle(resp(200, {"output": {}}))
    assert isinstance(step, Failed)
    assert step.error_code == "NoTaskId"
    with pytest.raises(ValueError, match="text-to-image only"):
        DashScopeAsyncAdapter("http://h:1", model="m", images=("https://x/1.png",))


def test_async_poll_intervals_are_configurable() -> None:
    call = DashScopeAsyncAdapter("http://h:1", model="m", poll_intervals=(0.1, 0.2)).new_call("p")
    delays = []
    step = call.handle(resp(200, {"output": {"task_status": "PENDING", "task_id": "t"}}))
    for _ in range(3):
        assert isinstance(step, PollAgain)
        delays.append(step.after_s)
        step = call.handle(resp(200, {"output": {"task_status": "RUNNING", "task_id": "t"}}))
    assert delays == [0.1, 0.2, 0.2]


# -- OpenAI -------------------------------------------------------------------------------------


def test_openai_request_and_responses() -> None:
    adapter = OpenAIImagesAdapter(
        "http://127.0.0.1:9000", model="Qwen/Qwen-Image", size="1328*1328", api_key=KEY
    )
    req = adapter.new_call("a dog").first_request()
    assert req.url == "http://127.0.0.1:9000/v1/images/generations"
    assert req.json_body == {
        "model": "Qwen/Qwen-Image",
        "prompt": "a dog",
        "n": 1,
        "size": "1328x1328",
    }
    ok = adapter.new_call("p").handle(
        resp(200, {"created": 1, "data": [{"b64_json": "A" * 5000}]}, {"x-request-id": "oa-1"})
    )
    assert isinstance(ok, Succeeded)
    assert ok.request_id == "oa-1"
    assert ok.image_urls == ("b64_json:(5000 chars)",)
    err = adapter.new_call("p").handle(
        resp(
            429,
            {"error": {"message": "Rate limit", "type": "requests", "code": "rate_limit_exceeded"}},
        )
    )
    assert isinstance(err, Failed)
    assert (err.outcome, err.error_code) == (Outcome.THROTTLED, "rate_limit_exceeded")
    fastapi = adapter.new_call("p").handle(resp(503, {"detail": "engine not initialized"}))
    assert isinstance(fastapi, Failed)
    assert fastapi.message == "engine not initialized"
    empty = adapter.new_call("p").handle(resp(200, {"created": 1, "data": []}))
    assert isinstance(empty, Failed)
    assert empty.outcome is Outcome.INVALID_RESPONSE


PNG_BYTES = b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 4  # any bytes: only uploaded
JPEG_BYTES = b"\xff\xd8\xff\xe0" + b"\x00\xff" * 300


def data_uri(mime: str, data: bytes) -> str:
    return f"data:{mime};base64,{base64.b64encode(data).decode('ascii')}"


def form_parts(req: HttpRequest) -> list[tuple[str, str | None, str, bytes]]:
    """A multipart/form-data request read back by the standard library's MIME parser:
    (field name, filename, content type, bytes) per part."""
    body = req.body_bytes()
    assert body is not None
    head = f"Content-Type: {req.headers['Content-Type']}\r\n\r\n".encode()
    message = BytesParser(policy=email.policy.HTTP).parsebytes(head + body)
    assert message.get_content_type() == "multipart/form-data"
    parts = []
    for part in message.iter_parts():
        name = part.get_param("name", header="content-disposition")
        payload = part.get_payload(decode=True)
        assert isinstance(name, str)
        assert isinstance(payload, bytes)
        parts.append((name, part.get_filename(), part.get_content_type(), payload))
    return parts


def test_openai_edit_uploads_one_image_as_multipart() -> None:
    adapter = OpenAIImagesAdapter(
        "http://127.0.0.1:9000/v1",
        model="Qwen/Qwen-Image-Edit-2511",
        size="1024*1024",
        api_key=KEY,
        images=[data_uri("image/png", PNG_BYTES)],
        parameters={"seed": 7, "negative_prompt": "blurry"},
    )
    assert adapter.endpoint == "http://127.0.0.1:9000/v1/images/edits"
    req = adapter.new_call("把背景换成海边日落").first_request()
    assert req.url == adapter.endpoint
    assert req.json_body is None
    assert req.headers["Authorization"] == f"Bearer {KEY}"
    assert req.headers["Content-Type"].startswith("multipart/form-data; boundary=")
    assert form_parts(req) == [
        ("model", None, "text/plain", b"Qwen/Qwen-Image-Edit-2511"),
        ("prompt", None, "text/plain", "把背景换成海边日落".encode()),
        ("n", None, "text/plain", b"1"),
        ("size", None, "text/plain", b"1024x1024"),
        ("seed", None, "text/plain", b"7"),
        ("negative_prompt", None, "text/plain", b"blurry"),
        ("image", "image-1.png", "image/png", PNG_BYTES),
    ]
    # a fresh boundary per request, the same content
    again = adapter.new_call("把背景换成海边日落").first_request()
    assert again.headers["Content-Type"] != req.headers["Content-Type"]
    assert form_parts(again) == form_parts(req)
    ok = adapter.new_call("p").handle(resp(200, {"created": 1, "data": [{"url": "http://x/1"}]}))
    assert isinstance(ok, Succeeded)


def test_openai_edit_sends_several_images_as_an_array() -> None:
    images = [data_uri("image/png", PNG_BYTES), data_uri("image/jpeg", JPEG_BYTES)]
    adapter = OpenAIImagesAdapter("http://h:1/v1", model="m", images=images)
    parts = form_parts(adapter.new_call("merge them").first_request())
    uploads = [(name, filename, mime, data) for name, filename, mime, data in parts if filename]
    assert uploads == [
        ("image[]", "image-1.png", "image/png", PNG_BYTES),
        ("image[]", "image-2.jpg", "image/jpeg", JPEG_BYTES),
    ]


@pytest.mark.parametrize(
    ("image", "says"),
    [
        ("https://oss.example/in.png", "image 1 is a URL; the OpenAI edits API uploads"),
        ("data:image/png;base64,not*base64", "image 1 cannot be uploaded: its base64 data"),
        ("just-a-name.png", "image 1 cannot be uploaded: not a data: URI"),
    ],
)
def test_openai_edit_refuses_what_it_cannot_upload(image: str, says: str) -> None:
    with pytest.raises(ValueError, match=re.escape(says)):
        OpenAIImagesAdapter("http://h:1/v1", model="m", images=[image])


def test_data_uri_without_base64_is_percent_decoded() -> None:
    assert decode_data_uri("data:text/plain,a%20b") == ("text/plain", b"a b")
    assert decode_data_uri("data:,x") == ("text/plain", b"x")


def test_make_adapter_picks_by_name() -> None:
    assert make_adapter("openai", "http://h:1/v1", model="m").name == "openai"
    assert make_adapter("dashscope-async", "http://h:1", model="m").name == "dashscope-async"
    with pytest.raises(ValueError, match="api must be one of"):
        make_adapter("grpc", "http://h:1", model="m")
