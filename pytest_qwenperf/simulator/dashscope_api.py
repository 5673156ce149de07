"""DashScope routes: sync multimodal generation, async image-synthesis tasks, poll, cancel.

Ground truth: the sync call is one record (api ``dashscope``). An async task is one record
(api ``dashscope-async``) made at submit and updated through the task's life (``gen_start``
= scheduled, ``gen_end`` = end, ``task_status``, ``polls``, ``final_poll`` = first poll that
reported a terminal status). Each poll is also a record of its own (api
``dashscope-async-poll``), each cancel one with api ``dashscope-async-cancel``.
"""

from __future__ import annotations

from typing import Any

from aiohttp import web

from pytest_qwenperf.simulator import faults, service
from pytest_qwenperf.simulator.envelopes import (
    INTERNAL_ERROR,
    INTERNAL_ERROR_ALGO,
    ApiError,
    dashscope_error,
    dashscope_time,
    dumps,
    gateway_page,
)
from pytest_qwenperf.simulator.model import Generation, Throttled
from pytest_qwenperf.simulator.state import (
    TERMINAL_STATUSES,
    SimState,
    Task,
    finish_timing,
    new_request_id,
)
from pytest_qwenperf.simulator.validation import (
    EDIT_MODELS,
    GenRequest,
    parse_image_synthesis,
    parse_multimodal,
)

ASYNC_HEADER = "X-DashScope-Async"


class DashScopeFlavor:
    """Bodies of the multimodal-generation endpoint."""

    async def read(self, request: web.Request) -> GenRequest:
        return parse_multimodal(await service.read_json(request))

    def error(self, record: dict[str, Any], error: ApiError, echo: dict[str, str] | None) -> bytes:
        return dashscope_error(record["request_id"], error.code, error.message, echo)

    async def success(self, request: web.Request, record: dict[str, Any], gen: GenRequest) -> bytes:
        rid = record["request_id"]
        images = [{"image": service.image_url(request, gen, rid, i)} for i in range(1, gen.n + 1)]
        return self._body(record, gen, images)

    def no_image(self, record: dict[str, Any], gen: GenRequest) -> bytes:
        return self._body(record, gen, [])

    @staticmethod
    def _body(record: dict[str, Any], gen: GenRequest, images: list[dict[str, str]]) -> bytes:
        output: dict[str, Any] = {
            "choices": [
                {
                    "finish_reason": "stop",
                    "message": {"content": images, "role": "assistant"},
                }
            ]
        }
        if gen.model not in EDIT_MODELS:
            count = len(images)
            output["task_metric"] = {"FAILED": gen.n - count, "SUCCEEDED": count, "TOTAL": gen.n}
        usage = {"height": gen.height, "image_count": len(images), "width": gen.width}
        return dumps({"output": output, "usage": usage, "request_id": record["request_id"]})


FLAVOR = DashScopeFlavor()


async def multimodal_generation(request: web.Request) -> web.StreamResponse:
    state = request.app[service.STATE]
    record = state.new_record("dashscope", request.method, request.path)
    return await service.serve_sync(state, request, record, FLAVOR, faults.SYNC_FAULTS)


async def _error(
    state: SimState, request: web.Request, record: dict[str, Any], error: ApiError
) -> web.StreamResponse:
    if record["outcome"] is None:
        record["outcome"] = error.outcome
    record["error_code"] = error.code
    echo = dict(request.headers) if state.config.echo_headers else None
    body = dashscope_error(record["request_id"], error.code, error.message, echo)
    return await faults.send(state, request, record, error.status, body, headers=error.headers)


async def image_synthesis(request: web.Request) -> web.StreamResponse:
    """Async submit. Transport faults act on the submit response; ``malformed_json``,
    ``slow_drip`` and ``reset`` damage it *after* the task was created (the task runs on);
    ``task_failed`` and ``no_image`` act on the task's result."""
    state = request.app[service.STATE]
    config = state.config
    record = state.new_record("dashscope-async", request.method, request.path)
    echo = dict(request.headers) if config.echo_headers else None
    try:
        if not service.authorized(config, request):
            raise service.unauthorized()
        if request.headers.get(ASYNC_HEADER, "").strip().lower() != "enable":
            raise ApiError(
                403, "AccessDenied", "current user api does not support synchronous calls"
            )
        gen = parse_image_synthesis(await service.read_json(request))
        service.describe(record, gen)
        seconds, fault = service.draw(state, request, record, gen, faults.ASYNC_FAULTS)
        if fault is not None:
            record["outcome"] = "fault"
        if fault in faults.IMMEDIATE:
            return await service.immediate_fault(state, request, record, fault, FLAVOR, echo)
        if fault == "error_5xx":
            status, code, message = INTERNAL_ERROR
            raise ApiError(status, code, message, outcome="fault")
        if fault == "gateway_504":
            return await faults.send(
                state, request, record, 504, gateway_page(504, echo), content_type="text/html"
            )
        task = _admit(state, record, gen, fault, seconds)
    except ApiError as error:
        return await _error(state, request, record, error)
    record["task_id"] = task.task_id
    record["polls"] = 0
    if fault is None:
        record["outcome"] = "ok"
    state.tasks[task.task_id] = task
    body = dumps(
        {
            "output": {"task_status": "PENDING", "task_id": task.task_id},
            "request_id": record["request_id"],
        }
    )
    if fault == "malformed_json":
        body = body[: len(body) // 2]
    response_fault = fault if fault in ("slow_drip", "reset") else None
    return await faults.send(state, request, record, 200, body, fault=response_fault)


def _admit(
    state: SimState, record: dict[str, Any], gen: GenRequest, fault: str | None, seconds: float
) -> Task:
    """Create the task and claim its GPU slot: RUNNING at once if a slot is free, else PENDING
    in the FIFO queue (429 ApiError if the queue is full)."""
    config = state.config
    now = state.epoch()
    task = Task(
        task_id=new_request_id(),
        gen=gen,
        record=record,
        fault=fault,
        generation_s=seconds,
        submit_time=now,
        expires_at=now + config.task_ttl_s * config.time_scale,
    )
    record["task_status"] = "PENDING"

    def on_start(start: float) -> None:
        task.status = record["task_status"] = "RUNNING"
        task.scheduled_time = record["gen_start"] = state.epoch(start)

    def on_end(end: float) -> None:
        task.end_time = record["gen_end"] = state.epoch(end)
        task.status = record["task_status"] = "FAILED" if fault == "task_failed" else "SUCCEEDED"
        finish_timing(record)

    try:
        task.generation = Generation(state.pool, seconds, on_start, on_end).enter()
    except Throttled:
        raise service.throttled(config) from None
    return task


def task_output(request: web.Request, task: Task) -> dict[str, Any]:
    output: dict[str, Any] = {
        "task_id": task.task_id,
        "task_status": task.status,
        "submit_time": dashscope_time(task.submit_time),
    }
    if task.scheduled_time is not None:
        output["scheduled_time"] = dashscope_time(task.scheduled_time)
    if task.end_time is not None:
        output["end_time"] = dashscope_time(task.end_time)
    if task.status == "FAILED":
        output["code"], output["message"] = INTERNAL_ERROR_ALGO
    elif task.status == "SUCCEEDED":
        if task.fault == "no_image":
            output["results"] = []
            output["task_metrics"] = {"TOTAL": 1, "SUCCEEDED": 0, "FAILED": 1}
        else:
            result = {"orig_prompt": task.gen.prompt}
            if task.gen.prompt_extend:
                result["actual_prompt"] = task.gen.prompt + " (extended by the simulator)"
            result["url"] = service.image_url(request, task.gen, task.task_id, 1)
            output["results"] = [result]
            output["task_metrics"] = {"TOTAL": 1, "SUCCEEDED": 1, "FAILED": 0}
    return output


def _lookup(state: SimState, task_id: str) -> Task | None:
    task = state.tasks.get(task_id)
    if task is not None and state.epoch() > task.expires_at:
        return None
    return task


async def get_task(request: web.Request) -> web.StreamResponse:
    state = request.app[service.STATE]
    record = state.new_record("dashscope-async-poll", request.method, request.path)
    task_id = request.match_info["task_id"]
    record["task_id"] = task_id
    if not service.authorized(state.config, request):
        return await _error(state, request, record, service.unauthorized())
    task = _lookup(state, task_id)
    if task is None:
        output: dict[str, Any] = {"task_id": task_id, "task_status": "UNKNOWN"}
    else:
        output = task_output(request, task)
        task.record["polls"] = (task.record["polls"] or 0) + 1
        if task.status in TERMINAL_STATUSES and task.record["final_poll"] is None:
            task.record["final_poll"] = state.epoch()
    body: dict[str, Any] = {"request_id": record["request_id"], "output": output}
    if output["task_status"] == "SUCCEEDED":
        body["usage"] = {"image_count": len(output.get("results", []))}
    record.update(task_status=output["task_status"], outcome="ok")
    if task is not None:
        record.update(model=task.gen.model, width=task.gen.width, height=task.gen.height)
    return await faults.send(state, request, record, 200, dumps(body))


async def cancel_task(request: web.Request) -> web.StreamResponse:
    """Only a PENDING task can be canceled (the refusal's code and text are ours)."""
    state = request.app[service.STATE]
    record = state.new_record("dashscope-async-cancel", request.method, request.path)
    task_id = request.match_info["task_id"]
    record["task_id"] = task_id
    if not service.authorized(state.config, request):
        return await _error(state, request, record, service.unauthorized())
    task = _lookup(state, task_id)
    if task is None or task.generation is None or not task.generation.withdraw():
        error = ApiError(
            400,
            "UnsupportedOperation",
            "Failed to cancel the task, please confirm if the task is in PENDING status.",
        )
        return await _error(state, request, record, error)
    task.status = task.record["task_status"] = "CANCELED"
    task.end_time = state.epoch()
    record.update(task_status="CANCELED", outcome="ok")
    return await faults.send(
        state, request, record, 200, dumps({"request_id": record["request_id"]})
    )
