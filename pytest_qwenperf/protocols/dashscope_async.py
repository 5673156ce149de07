"""DashScope asynchronous text-to-image: submit a task, then poll it until it ends.

Submit: ``POST {root}/api/v1/services/aigc/text2image/image-synthesis`` with
``X-DashScope-Async: enable``. Poll: ``GET {root}/api/v1/tasks/{task_id}``, first at once,
then following ``poll_intervals`` (the last value repeats), like the official SDK.
A FAILED, CANCELED or UNKNOWN task is ``task_failed`` (the poll itself answers HTTP 200).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from pytest_qwenperf.metrics.sample import Outcome
from pytest_qwenperf.protocols.base import (
    Adapter,
    Call,
    Failed,
    HttpRequest,
    HttpResponse,
    PollAgain,
    Step,
    auth_headers,
    image_ref,
    success_json,
    with_service_times,
)
from pytest_qwenperf.protocols.urls import DASHSCOPE_PREFIX, base_url

SUBMIT_PATH = "/services/aigc/text2image/image-synthesis"
TASKS_PATH = "/tasks/"
RUNNING_STATES = frozenset({"PENDING", "RUNNING", "SUSPENDED"})
FAILED_STATES = frozenset({"FAILED", "CANCELED", "UNKNOWN"})
#: The official SDK's cadence: at once, 1 s, 1 s, 2 s x3, 4 s x3, then 5 s.
SDK_POLL_INTERVALS: tuple[float, ...] = (0.0, 1.0, 1.0, 2.0, 2.0, 2.0, 4.0, 4.0, 4.0, 5.0)


class DashScopeAsyncAdapter(Adapter):
    name = "dashscope-async"

    def __init__(
        self,
        url: str,
        *,
        model: str,
        api_key: str | None = None,
        size: str | None = None,
        images: Sequence[str] = (),
        parameters: Mapping[str, Any] | None = None,
        poll_intervals: Sequence[float] = SDK_POLL_INTERVALS,
    ) -> None:
        if images:
            raise ValueError(
                "the DashScope async task API is text-to-image only; use api='dashscope' "
                "for image edit"
            )
        if not poll_intervals or any(p < 0 for p in poll_intervals):
            raise ValueError("poll_intervals must be a non-empty list of non-negative seconds")
        base = base_url(url, DASHSCOPE_PREFIX)
        self._submit_url = base + SUBMIT_PATH
        self._tasks_url = base + TASKS_PATH
        self._model = model
        self._api_key = api_key
        self._submit_headers = {**auth_headers(api_key), "X-DashScope-Async": "enable"}
        poll_headers = auth_headers(api_key)
        poll_headers.pop("Content-Type", None)
        self._poll_headers = poll_headers
        params: dict[str, Any] = {"n": 1}
        params.update(parameters or {})
        if size is not None:
            params["size"] = size
        self._parameters = params
        self._intervals = tuple(float(p) for p in poll_intervals)

    @property
    def endpoint(self) -> str:
        return self._submit_url

    def build_body(self, prompt: str) -> dict[str, Any]:
        return {
            "model": self._model,
            "input": {"prompt": prompt},
            "parameters": dict(self._parameters),
        }

    def poll_request(self, task_id: str) -> HttpRequest:
        return HttpRequest("GET", self._tasks_url + task_id, self._poll_headers)

    def poll_delay(self, polls_done: int) -> float:
        return self._intervals[min(polls_done, len(self._intervals) - 1)]

    def new_call(self, prompt: str) -> Call:
        submit = HttpRequest(
            "POST", self._submit_url, self._submit_headers, self.build_body(prompt)
        )
        return _AsyncCall(self, submit)


class _AsyncCall(Call):
    def __init__(self, adapter: DashScopeAsyncAdapter, submit: HttpRequest) -> None:
        self._adapter = adapter
        self._submit = submit
        self._task_id: str | None = None
        self._polls = 0

    def first_request(self) -> HttpRequest:
        return self._submit

    def handle(self, response: HttpResponse) -> Step:
        decoded = success_json(response)
        if isinstance(decoded, Failed):
            return decoded
        data, header_id = decoded
        output = data.get("output") if isinstance(data, dict) else None
        request_id = data.get("request_id") if isinstance(data, dict) else None
        request_id = request_id if isinstance(request_id, str) else header_id
        if not isinstance(output, dict):
            return Failed(
                Outcome.INVALID_RESPONSE, 200, "NoOutput", "response without output", request_id
            )
        if self._task_id is None:
            return self._handle_submit(output, request_id)
        return self._handle_poll(output, request_id)

    def _next_poll(self, request_id: str | None) -> PollAgain:
        assert self._task_id is not None
        delay = self._adapter.poll_delay(self._polls)
        self._polls += 1
        return PollAgain(
            self._adapter.poll_request(self._task_id), delay, self._task_id, request_id
        )

    def _handle_submit(self, output: dict[str, Any], request_id: str | None) -> Step:
        task_id = output.get("task_id")
        if not isinstance(task_id, str) or not task_id:
            return Failed(
                Outcome.INVALID_RESPONSE,
                200,
                "NoTaskId",
                "task submit answered 200 without output.task_id",
                request_id,
            )
        self._task_id = task_id
        return self._next_poll(request_id)

    def _handle_poll(self, output: dict[str, Any], request_id: str | None) -> Step:
        status = output.get("task_status")
        if status == "SUCCEEDED":
            urls = tuple(
                image_ref(r["url"])
                for r in output.get("results") or ()
                if isinstance(r, dict) and isinstance(r.get("url"), str) and r["url"]
            )
            if not urls:
                return Failed(
                    Outcome.INVALID_RESPONSE,
                    200,
                    "NoImage",
                    "task SUCCEEDED without a result URL",
                    request_id,
                )
            return with_service_times(urls, output, request_id)
        if status in FAILED_STATES:
            code = output.get("code")
            message = output.get("message")
            return Failed(
                Outcome.TASK_FAILED,
                200,
                str(code) if code else f"Task{str(status).title()}",
                str(message) if message else f"task {status}",
                request_id,
            )
        if status in RUNNING_STATES:
            return self._next_poll(request_id)
        return Failed(
            Outcome.INVALID_RESPONSE,
            200,
            "BadTaskStatus",
            f"unexpected task_status {status!r}",
            request_id,
        )
