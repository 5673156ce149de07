"""The request pipeline shared by the synchronous APIs (DashScope multimodal and OpenAI).

auth -> body and validation -> draws (generation time, fault) -> immediate faults ->
admission to the GPU queue (429 when full) -> generation -> late faults or the image response.
A :class:`Flavor` reads the API's request body (JSON, or multipart for the OpenAI image edit)
and supplies its response bodies; the pipeline owns timing and ground truth.
"""

from __future__ import annotations

import asyncio
import hmac
import json
import math
from typing import Any, Protocol

from aiohttp import web

from pytest_qwenperf.simulator import faults
from pytest_qwenperf.simulator.config import SimConfig
from pytest_qwenperf.simulator.envelopes import (
    DATA_INSPECTION_FAILED,
    INTERNAL_ERROR,
    INVALID_API_KEY,
    THROTTLING,
    ApiError,
    gateway_page,
    invalid,
)
from pytest_qwenperf.simulator.model import (
    Generation,
    Throttled,
    draw_fault,
    generation_seconds,
    request_rng,
)
from pytest_qwenperf.simulator.state import SimState, finish_timing
from pytest_qwenperf.simulator.validation import GenRequest

STATE = web.AppKey("qwenperf_sim_state", SimState)
MAX_BODY_BYTES = 64 * 1024 * 1024  # three 10 MB data: URLs in base64 fit


class Flavor(Protocol):
    """How one API reads its request body and spells its response bodies."""

    async def read(self, request: web.Request) -> GenRequest:
        """Read and validate the request body (ApiError when it is refused)."""
        ...

    def error(
        self, record: dict[str, Any], error: ApiError, echo: dict[str, str] | None
    ) -> bytes: ...

    async def success(
        self, request: web.Request, record: dict[str, Any], gen: GenRequest
    ) -> bytes: ...

    def no_image(self, record: dict[str, Any], gen: GenRequest) -> bytes: ...


def authorized(config: SimConfig, request: web.Request) -> bool:
    if not config.api_key:
        return True
    given = request.headers.get("Authorization", "")
    return hmac.compare_digest(given.encode(), f"Bearer {config.api_key}".encode())


def unauthorized() -> ApiError:
    status, code, message = INVALID_API_KEY
    return ApiError(status, code, message, openai_code="invalid_api_key", outcome="unauthorized")


def throttled(config: SimConfig) -> ApiError:
    status, code, message = THROTTLING
    error = ApiError(status, code, message, openai_type="requests", outcome="throttled")
    error.headers = retry_after_headers(config)
    return error


def retry_after_headers(config: SimConfig) -> dict[str, str]:
    """``Retry-After`` in whole seconds (HTTP allows no fraction, so >= 1 even when scaled
    below a second) plus ``retry-after-ms`` with the exact scaled value (OpenAI SDK reads it)."""
    scaled = config.retry_after * config.time_scale
    return {
        "Retry-After": str(max(1, math.ceil(scaled))),
        "retry-after-ms": str(max(0, round(scaled * 1000))),
    }


async def read_json(request: web.Request) -> Any:
    try:
        raw = await request.read()
    except web.HTTPRequestEntityTooLarge as exc:
        raise ApiError(413, "BadRequest.TooLarge", "The request body is too large.") from exc
    try:
        return json.loads(raw)
    except (ValueError, UnicodeDecodeError) as exc:
        raise invalid("The request body is not valid JSON.", openai_code="invalid_json") from exc


def image_url(request: web.Request, gen: GenRequest, request_id: str, index: int) -> str:
    """Where the simulator serves the image: ``/_sim/images/{w}x{h}/{request_id}-{i}.png``."""
    origin = f"{request.scheme}://{request.host}"
    return f"{origin}/_sim/images/{gen.width}x{gen.height}/{request_id}-{index}.png"


def describe(record: dict[str, Any], gen: GenRequest) -> None:
    record.update(
        model=gen.model,
        width=gen.width,
        height=gen.height,
        n=gen.n,
        images=gen.images,
        prompt_chars=len(gen.prompt),
    )


def draw(
    state: SimState,
    request: web.Request,
    record: dict[str, Any],
    gen: GenRequest,
    applicable: frozenset[str],
) -> tuple[float, str | None]:
    """Scaled generation time (all ``n`` images) and the fault of this request."""
    config = state.config
    rng = request_rng(config.seed, record["id"])
    seconds = generation_seconds(config, gen.width, gen.height, rng) * gen.n
    fault = draw_fault(config, rng, applicable)
    try:
        forced = faults.forced_fault(request, applicable)
    except ValueError as exc:
        raise invalid(str(exc)) from exc
    if forced is not None:
        fault = None if forced == "none" else forced
    record["fault"] = fault
    record["drawn_generation_s"] = seconds
    return seconds, fault


def start_generation(state: SimState, record: dict[str, Any], seconds: float) -> Generation:
    """Claim a GPU slot for ``seconds`` (429 :class:`ApiError` when the queue is full)."""

    def on_start(start: float) -> None:
        record["gen_start"] = state.epoch(start)

    def on_end(end: float) -> None:
        record["gen_end"] = state.epoch(end)
        finish_timing(record)

    try:
        return Generation(state.pool, seconds, on_start, on_end).enter()
    except Throttled:
        raise throttled(state.config) from None


async def serve_sync(
    state: SimState,
    request: web.Request,
    record: dict[str, Any],
    flavor: Flavor,
    applicable: frozenset[str],
) -> web.StreamResponse:
    config = state.config
    echo = dict(request.headers) if config.echo_headers else None
    try:
        if not authorized(config, request):
            raise unauthorized()
        try:
            gen = await flavor.read(request)
        except asyncio.CancelledError:  # the client left while sending the body
            record["disconnected"] = state.epoch()
            record["outcome"] = "disconnected"
            raise
        describe(record, gen)
        seconds, fault = draw(state, request, record, gen, applicable)
        if fault is not None:
            record["outcome"] = "fault"
        if fault in faults.IMMEDIATE:
            return await immediate_fault(state, request, record, fault, flavor, echo)
        generation = start_generation(state, record, seconds)
        # The success body does not depend on when the image is ready: build it while the
        # GPU "works", so that when many generations end together the loop only sends.
        body = await flavor.success(request, record, gen) if fault in BODY_FAULTS else None
        try:
            # the generation runs on without us if the client goes away (handler cancelled)
            await generation.done
        except asyncio.CancelledError:
            record["disconnected"] = state.epoch()
            if record["outcome"] is None:
                record["outcome"] = "disconnected"
            raise
        return await late_response(state, request, record, gen, fault, flavor, echo, body)
    except ApiError as error:
        if record["outcome"] is None:
            record["outcome"] = error.outcome
        record["error_code"] = error.code
        return await faults.send(
            state,
            request,
            record,
            error.status,
            flavor.error(record, error, echo),
            headers=error.headers,
        )


async def immediate_fault(
    state: SimState,
    request: web.Request,
    record: dict[str, Any],
    fault: str | None,
    flavor: Flavor,
    echo: dict[str, str] | None,
) -> web.StreamResponse:
    if fault == "hang":
        return await faults.hang(state, request, record)
    if fault == "data_inspection":
        status, code, message = DATA_INSPECTION_FAILED
        raise ApiError(status, code, message, outcome="fault")
    status = 502 if fault == "gateway_502" else 503
    return await faults.send(
        state, request, record, status, gateway_page(status, echo), content_type="text/html"
    )


#: Outcomes of a generation whose response carries the success body (whole or cut).
BODY_FAULTS = frozenset({None, "malformed_json", "slow_drip", "reset"})


async def late_response(
    state: SimState,
    request: web.Request,
    record: dict[str, Any],
    gen: GenRequest,
    fault: str | None,
    flavor: Flavor,
    echo: dict[str, str] | None,
    body: bytes | None = None,
) -> web.StreamResponse:
    """The response once the image is generated, or the fault that replaces it. ``body``:
    the success body, when it was built in advance."""
    if fault == "error_5xx":
        status, code, message = INTERNAL_ERROR
        raise ApiError(status, code, message, openai_type="server_error", outcome="fault")
    if fault == "gateway_504":
        return await faults.send(
            state, request, record, 504, gateway_page(504, echo), content_type="text/html"
        )
    if fault == "no_image":
        return await faults.send(state, request, record, 200, flavor.no_image(record, gen))
    if body is None:
        body = await flavor.success(request, record, gen)
    if fault == "malformed_json":
        body = body[: max(1, len(body) // 2)]
    elif fault is None:
        record["outcome"] = "ok"
    return await faults.send(state, request, record, 200, body, fault=fault)
