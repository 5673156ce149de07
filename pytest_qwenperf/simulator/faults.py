"""Sending responses, with the transport-level faults: slow drip, reset, hang.

Which fault a request gets is drawn in :func:`~pytest_qwenperf.simulator.model.draw_fault`
(or forced with the ``X-Sim-Fault`` request header); this module only acts it out and keeps
the ground-truth record in step (``status`` None when no complete status line + body was
delivered: reset and hang).
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Mapping
from typing import Any

from aiohttp import web

from pytest_qwenperf.simulator.config import FAULTS
from pytest_qwenperf.simulator.envelopes import JSON
from pytest_qwenperf.simulator.state import SimState, finish_timing

FORCE_HEADER = "X-Sim-Fault"

#: faults acted out before queueing (no GPU time is spent)
IMMEDIATE = frozenset({"gateway_502", "gateway_503", "hang", "data_inspection"})
#: faults of the sync APIs (task_failed only exists for async tasks)
SYNC_FAULTS = frozenset(FAULTS) - {"task_failed"}
#: faults of an async submit: all act on the submit response, except task_failed and
#: no_image, which act on the task's result
ASYNC_FAULTS = frozenset(FAULTS)
TASK_FAULTS = frozenset({"task_failed", "no_image"})


def forced_fault(request: web.Request, applicable: frozenset[str]) -> str | None:
    """The fault named in the ``X-Sim-Fault`` header, if any (``none`` forces no fault).

    Raises ValueError for a name that is not a fault of this API.
    """
    name = request.headers.get(FORCE_HEADER)
    if name is None:
        return None
    name = name.strip().lower()
    if name == "none":
        return "none"
    if name not in applicable:
        raise ValueError(
            f"{FORCE_HEADER}: {name!r} is not a fault of this API ({sorted(applicable)})"
        )
    return name


def _mark_sent(state: SimState, record: dict[str, Any], status: int | None) -> None:
    record["status"] = status
    record["sent"] = state.epoch()
    finish_timing(record)


async def send(
    state: SimState,
    request: web.Request,
    record: dict[str, Any],
    status: int,
    body: bytes,
    *,
    content_type: str = JSON,
    headers: Mapping[str, str] | None = None,
    fault: str | None = None,
) -> web.StreamResponse:
    """Send a complete response (or act out ``slow_drip``/``reset`` on it) and record it."""
    all_headers = {"x-request-id": record["request_id"], **(headers or {})}
    if fault == "slow_drip":
        return await _drip(state, request, record, status, body, content_type, all_headers)
    if fault == "reset":
        return await _reset(state, request, record, status, body, content_type, all_headers)
    response = web.Response(status=status, body=body, headers=all_headers)
    response.content_type = content_type
    # recorded first, so the record is complete before the client can see the response; the
    # writes below go straight to the socket buffer (microseconds)
    _mark_sent(state, record, status)
    await response.prepare(request)
    await response.write_eof()
    return response


async def _drip(
    state: SimState,
    request: web.Request,
    record: dict[str, Any],
    status: int,
    body: bytes,
    content_type: str,
    headers: dict[str, str],
) -> web.StreamResponse:
    """Headers at once (with the full Content-Length), then the body one byte per interval."""
    config = state.config
    interval = config.drip_interval_s * config.time_scale
    response = web.StreamResponse(status=status, headers=headers)
    response.content_type = content_type
    response.content_length = len(body)
    await response.prepare(request)
    record["status"] = status
    loop = asyncio.get_running_loop()
    next_write = loop.time()
    try:
        for index in range(len(body)):
            if index == len(body) - 1:
                _mark_sent(state, record, status)  # before the client can have it all
            await response.write(body[index : index + 1])
            next_write += interval
            delay = next_write - loop.time()
            if delay > 0:
                await asyncio.sleep(delay)
        await response.write_eof()
    except ConnectionError:
        record["sent"] = None
        record["disconnected"] = state.epoch()
        finish_timing(record)
    return response


async def _reset(
    state: SimState,
    request: web.Request,
    record: dict[str, Any],
    status: int,
    body: bytes,
    content_type: str,
    headers: dict[str, str],
) -> web.StreamResponse:
    """Status line, headers announcing the full length, half the body, then a TCP abort."""
    response = web.StreamResponse(status=status, headers=headers)
    response.content_type = content_type
    response.content_length = len(body)
    with contextlib.suppress(ConnectionError):
        await response.prepare(request)
        await response.write(body[: len(body) // 2])
    record["status"] = None
    record["disconnected"] = state.epoch()
    finish_timing(record)
    abort(request)
    return response


def abort(request: web.Request) -> None:
    transport = request.transport
    if transport is not None:
        transport.abort()


async def hang(state: SimState, request: web.Request, record: dict[str, Any]) -> web.StreamResponse:
    """Send nothing until the client gives up (the handler is cancelled), the server stops,
    or ``hang_max_s`` wall-clock seconds pass (then the connection is aborted)."""
    record["status"] = None
    try:
        await asyncio.sleep(state.config.hang_max_s)
    except asyncio.CancelledError:
        record["disconnected"] = state.epoch()
        raise
    abort(request)
    record["disconnected"] = state.epoch()
    return web.StreamResponse()
