"""The aiohttp application: API routes, admin routes under ``/_sim/``, error envelopes.

Admin routes (no auth; the server binds to loopback by default):

- ``GET /_sim/stats``: the ground truth, a JSON list of records; ``DELETE`` clears it
- ``POST /_sim/reset``: clear the ground truth
- ``GET /_sim/config``: ``{"profile", "config"}`` (the API key shown as ``***``)
- ``POST /_sim/config``: a JSON object of overrides, applied live; 400 ``{"error"}`` if bad
- ``GET /_sim/health``: ``{"status": "ok", "profile", "running", "queued", "tasks"}``
- ``GET /_sim/images/{W}x{H}/{name}.png``: a real PNG of that size
"""

from __future__ import annotations

import asyncio
import json
import logging
import re
from collections.abc import Awaitable, Callable

from aiohttp import web

from pytest_qwenperf.simulator import dashscope_api, faults, openai_api, service
from pytest_qwenperf.simulator.envelopes import (
    INTERNAL_ERROR,
    INVALID_URL,
    JSON,
    dashscope_error,
    dumps,
    openai_error,
)
from pytest_qwenperf.simulator.png import MAX_SIDE, MIN_SIDE, png_bytes_async
from pytest_qwenperf.simulator.state import SimState

logger = logging.getLogger("pytest_qwenperf.simulator")

DASHSCOPE_PREFIX = "/api/v1"
OPENAI_PREFIX = "/v1"
_IMAGE_NAME = re.compile(r"^[A-Za-z0-9._-]{1,200}\.png$")

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


def _api_of(path: str) -> str | None:
    if path.startswith(DASHSCOPE_PREFIX + "/"):
        return "dashscope"
    if path.startswith(OPENAI_PREFIX + "/"):
        return "openai"
    return None


@web.middleware
async def envelope_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Unknown API routes and unexpected errors get the API's JSON envelope, never a traceback."""
    api = _api_of(request.path)
    handlers = request.app[service.STATE].handlers
    current = asyncio.current_task()
    if current is not None:
        handlers.add(current)
    try:
        return await handler(request)
    except web.HTTPException as exc:
        if api is None or exc.status < 400:
            raise
        state = request.app[service.STATE]
        record = state.new_record(api, request.method, request.path)
        record.update(outcome="invalid", error_code=INVALID_URL[1])
        if api == "dashscope":
            body = dashscope_error(record["request_id"], INVALID_URL[1], INVALID_URL[2])
        else:
            message = f"Invalid URL ({request.method} {request.path})"
            body = openai_error(message, "invalid_request_error", None)
        return await faults.send(state, request, record, exc.status, body)
    except Exception:
        logger.exception("simulator: unexpected error on %s %s", request.method, request.path)
        status, code, message = INTERNAL_ERROR
        if api == "openai":
            body = openai_error(message, "server_error", None)
        else:
            body = dashscope_error("", code, message)
        return web.Response(status=status, body=body, content_type=JSON)
    finally:
        if current is not None:
            handlers.discard(current)


def _json(data: object, status: int = 200) -> web.Response:
    return web.Response(status=status, body=dumps(data), content_type=JSON)


async def get_stats(request: web.Request) -> web.Response:
    return _json(request.app[service.STATE].stats())


async def reset_stats(request: web.Request) -> web.Response:
    request.app[service.STATE].reset_stats()
    return _json({"status": "ok"})


def _config_view(state: SimState) -> dict[str, object]:
    return {"profile": state.profile, "config": state.config.to_dict(redact=True)}


async def get_config(request: web.Request) -> web.Response:
    return _json(_config_view(request.app[service.STATE]))


async def post_config(request: web.Request) -> web.Response:
    state = request.app[service.STATE]
    try:
        overrides = json.loads(await request.read())
    except ValueError:
        return _json({"error": "the body must be a JSON object of simulator parameters"}, 400)
    if not isinstance(overrides, dict):
        return _json({"error": "the body must be a JSON object of simulator parameters"}, 400)
    try:
        state.configure(**overrides)
    except (ValueError, TypeError) as exc:
        return _json({"error": str(exc)}, 400)
    return _json(_config_view(state))


async def health(request: web.Request) -> web.Response:
    state = request.app[service.STATE]
    return _json(
        {
            "status": "ok",
            "profile": state.profile,
            "running": state.pool.running,
            "queued": state.pool.queued,
            "tasks": len(state.tasks),
        }
    )


async def get_image(request: web.Request) -> web.Response:
    width, height = (int(side) for side in request.match_info["size"].split("x"))
    name = request.match_info["name"]
    if not (
        MIN_SIDE <= width <= MAX_SIDE and MIN_SIDE <= height <= MAX_SIDE
    ) or not _IMAGE_NAME.match(name):
        raise web.HTTPNotFound()
    return web.Response(body=await png_bytes_async(width, height), content_type="image/png")


def build_app(state: SimState) -> web.Application:
    app = web.Application(client_max_size=service.MAX_BODY_BYTES, middlewares=[envelope_middleware])
    app[service.STATE] = state
    ds = DASHSCOPE_PREFIX
    app.router.add_post(
        f"{ds}/services/aigc/multimodal-generation/generation", dashscope_api.multimodal_generation
    )
    app.router.add_post(
        f"{ds}/services/aigc/text2image/image-synthesis", dashscope_api.image_synthesis
    )
    app.router.add_get(f"{ds}/tasks/{{task_id}}", dashscope_api.get_task)
    app.router.add_post(f"{ds}/tasks/{{task_id}}/cancel", dashscope_api.cancel_task)
    app.router.add_post(f"{OPENAI_PREFIX}/images/generations", openai_api.images_generations)
    app.router.add_post(f"{OPENAI_PREFIX}/images/edits", openai_api.images_edits)
    app.router.add_get("/_sim/stats", get_stats)
    app.router.add_delete("/_sim/stats", reset_stats)
    app.router.add_post("/_sim/reset", reset_stats)
    app.router.add_get("/_sim/config", get_config)
    app.router.add_post("/_sim/config", post_config)
    app.router.add_get("/_sim/health", health)
    app.router.add_get(r"/_sim/images/{size:\d{1,5}x\d{1,5}}/{name}", get_image)
    return app
