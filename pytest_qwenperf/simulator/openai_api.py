"""OpenAI-style ``POST /v1/images/generations`` (JSON) and ``POST /v1/images/edits``
(multipart/form-data, the image-edit models; vLLM-Omni serves the same path), record api
``openai``. Both run the same pipeline (:func:`service.serve_sync`) and answer the same shape;
only the way the body is read differs.

The request id is sent in the ``x-request-id`` header (the OpenAI SDK reads it there); the
body has no id. ``response_format`` ``url`` points at the simulator's image route, ``b64_json``
embeds the PNG.
"""

from __future__ import annotations

import base64
import time
from typing import Any

from aiohttp import web

from pytest_qwenperf.simulator import faults, service
from pytest_qwenperf.simulator.envelopes import ApiError, dumps, openai_error, openai_error_for
from pytest_qwenperf.simulator.form import read_edit_form
from pytest_qwenperf.simulator.png import png_bytes_async
from pytest_qwenperf.simulator.validation import GenRequest, parse_openai, parse_openai_edit


class OpenAIFlavor:
    """``/v1/images/generations``: a JSON body."""

    async def read(self, request: web.Request) -> GenRequest:
        return parse_openai(await service.read_json(request))

    def error(self, record: dict[str, Any], error: ApiError, echo: dict[str, str] | None) -> bytes:
        message, type_, code = openai_error_for(error)
        return openai_error(message, type_, code, error.param, echo)

    async def success(self, request: web.Request, record: dict[str, Any], gen: GenRequest) -> bytes:
        rid = record["request_id"]
        data: list[dict[str, Any]] = []
        if gen.response_format == "b64_json":
            encoded = base64.b64encode(await png_bytes_async(gen.width, gen.height)).decode("ascii")
            data = [{"b64_json": encoded, "url": None, "revised_prompt": None}] * gen.n
        else:
            data = [
                {
                    "url": service.image_url(request, gen, rid, i),
                    "b64_json": None,
                    "revised_prompt": None,
                }
                for i in range(1, gen.n + 1)
            ]
        return dumps({"created": int(time.time()), "data": data})

    def no_image(self, record: dict[str, Any], gen: GenRequest) -> bytes:
        return dumps({"created": int(time.time()), "data": []})


class OpenAIEditFlavor(OpenAIFlavor):
    """``/v1/images/edits``: a multipart/form-data body (see :mod:`.form`); the responses and
    errors are those of generations."""

    async def read(self, request: web.Request) -> GenRequest:
        form = await read_edit_form(request)
        return parse_openai_edit(form.fields, form.images)


FLAVOR = OpenAIFlavor()
EDIT_FLAVOR = OpenAIEditFlavor()


async def images_generations(request: web.Request) -> web.StreamResponse:
    state = request.app[service.STATE]
    record = state.new_record("openai", request.method, request.path)
    return await service.serve_sync(state, request, record, FLAVOR, faults.SYNC_FAULTS)


async def images_edits(request: web.Request) -> web.StreamResponse:
    state = request.app[service.STATE]
    record = state.new_record("openai", request.method, request.path)
    return await service.serve_sync(state, request, record, EDIT_FLAVOR, faults.SYNC_FAULTS)
