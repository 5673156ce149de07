"""One planned request from first byte to final outcome: polls, retries, deadline -> Sample."""

from __future__ import annotations

import dataclasses
import email.utils
import random
import threading
import time
from dataclasses import dataclass, field
from datetime import datetime, timezone

from pytest_qwenperf.engine.config import LoadConfig
from pytest_qwenperf.engine.transport import InFlight, Stopped, Transport, TransportError
from pytest_qwenperf.engine.watchdog import Watchdog
from pytest_qwenperf.metrics.sample import Attempt, Outcome, Sample
from pytest_qwenperf.protocols.base import Adapter, Failed, PollAgain, Step, Succeeded
from pytest_qwenperf.redact import redact

#: Statuses a retry is allowed for (besides connection errors): throttling and gateway errors.
RETRY_STATUSES = frozenset({429, 502, 503, 504})
#: Hard bound on HTTP exchanges per request (polls included); the deadline normally ends first.
MAX_EXCHANGES = 10_000


@dataclass(frozen=True)
class ExecContext:
    adapter: Adapter
    config: LoadConfig
    #: Monotonic time of the run's start: every Sample time is relative to it.
    t0: float
    stop: threading.Event
    watchdog: Watchdog
    #: Absolute monotonic run deadline, or None.
    run_deadline: float | None
    #: The API key and friends: never in a repr (pytest -l prints this object's locals).
    secrets: tuple[str | None, ...] = field(repr=False)


def parse_retry_after(value: str | None, now_wall: float | None = None) -> float | None:
    """Seconds from a ``Retry-After`` header (delta-seconds or an HTTP date), or None."""
    if not value:
        return None
    value = value.strip()
    try:
        seconds = float(value)
    except ValueError:
        try:
            when: datetime = email.utils.parsedate_to_datetime(value)
        except (TypeError, ValueError, IndexError):
            return None
        if when.tzinfo is None:
            when = when.replace(tzinfo=timezone.utc)
        now = time.time() if now_wall is None else now_wall
        seconds = when.timestamp() - now
    if seconds != seconds:  # NaN
        return None
    return max(0.0, seconds)


def backoff_delay(
    config: LoadConfig, retry_number: int, retry_after: float | None, rng: random.Random
) -> float:
    """Seconds to wait before retry ``retry_number`` (0-based).

    Retry-After, when the server sent one, is honoured up to ``retry_after_cap``; otherwise
    exponential backoff with full jitter: uniform(0, min(cap, base * 2**n)).
    """
    if retry_after is not None:
        return min(retry_after, config.retry_after_cap)
    ceiling = min(config.retry_backoff_cap, config.retry_backoff_base * (2.0**retry_number))
    return rng.uniform(0.0, max(0.0, ceiling))


def _redacted(step: Failed, secrets: tuple[str | None, ...]) -> Failed:
    """``step`` with the service's code and message redacted and truncated: they may echo
    request headers or URLs."""
    return dataclasses.replace(
        step,
        error_code=redact(step.error_code, secrets, 100) if step.error_code else None,
        message=redact(step.message, secrets) if step.message else None,
    )


def is_retryable(step: Failed) -> bool:
    if step.outcome is Outcome.CONNECTION_ERROR:
        return True
    return step.status in RETRY_STATUSES


def execute(
    ctx: ExecContext,
    transport: Transport,
    rng: random.Random,
    *,
    index: int,
    intended_start: float,
    warmup: bool,
) -> Sample | None:
    """Run one planned request; None when the run was stopped while it was in flight."""
    config = ctx.config
    prompt = config.prompts[index % len(config.prompts)]
    start = time.monotonic()
    deadline = start + config.timeout
    cut_by_run_deadline = False
    if ctx.run_deadline is not None and ctx.run_deadline < deadline:
        deadline = ctx.run_deadline
        cut_by_run_deadline = True
    handle = InFlight(deadline)
    ctx.watchdog.register(handle)
    try:
        call = ctx.adapter.new_call(prompt)
        request = call.first_request()
        attempts: list[Attempt] = []
        attempt_start = start
        retries_done = 0
        received = 0
        request_id: str | None = None
        task_id: str | None = None
        polls = 0
        now = start
        step: Step
        for _ in range(MAX_EXCHANGES):
            retry_after: float | None = None
            try:
                response, n = transport.send(request, handle)
                received += n
                step = call.handle(response)
                if isinstance(step, Failed):
                    step = _redacted(step, ctx.secrets)
                    retry_after = parse_retry_after(response.header("retry-after"))
            except Stopped:
                return None
            except TransportError as exc:
                received += exc.bytes_received
                step = Failed(exc.outcome, None, None, exc.message)
            if isinstance(step, PollAgain):
                task_id = step.task_id or task_id
                request_id = request_id or step.request_id
                request = step.request
                polls += 1
                wait = min(step.after_s, max(0.0, deadline - time.monotonic()))
                if ctx.stop.wait(wait):
                    return None
                if time.monotonic() >= deadline:
                    step = Failed(
                        Outcome.TIMEOUT,
                        None,
                        None,
                        f"deadline reached while the task was still running ({polls} polls)",
                    )
                else:
                    continue
            now = time.monotonic()
            if isinstance(step, Succeeded):
                attempts.append(Attempt(Outcome.OK, attempt_start - ctx.t0, now - ctx.t0, 200))
                break
            assert isinstance(step, Failed)
            attempts.append(
                Attempt(
                    step.outcome, attempt_start - ctx.t0, now - ctx.t0, step.status, step.error_code
                )
            )
            if retries_done < config.retries and is_retryable(step):
                delay = backoff_delay(config, retries_done, retry_after, rng)
                if now + delay < deadline:
                    if ctx.stop.wait(delay):
                        return None
                    retries_done += 1
                    attempt_start = time.monotonic()
                    # Re-send the last request: the submit/generation call, or for a task
                    # already submitted the poll (never a second paid generation for it).
                    continue
            break
        else:
            step = Failed(Outcome.PROTOCOL_ERROR, None, None, "too many HTTP exchanges")
            now = time.monotonic()
        end = now  # the same instant as the last attempt's end
    finally:
        ctx.watchdog.unregister(handle)

    extra: dict[str, object] = {}
    if isinstance(step, Succeeded | Failed) and step.request_id:
        request_id = step.request_id
    if request_id:
        extra["request_id"] = request_id
    if task_id:
        extra["task_id"] = task_id
    if polls:
        extra["polls"] = polls
    rel_intended, rel_start, rel_end = intended_start - ctx.t0, start - ctx.t0, end - ctx.t0
    if isinstance(step, Succeeded):
        return Sample(
            index=index,
            prompt=prompt,
            outcome=Outcome.OK,
            status=step.status,
            attempts=tuple(attempts),
            image_urls=step.image_urls,
            bytes_received=received,
            service_submit_time=step.service_submit_time,
            service_scheduled_time=step.service_scheduled_time,
            service_end_time=step.service_end_time,
            service_queue_s=step.service_queue_s,
            service_generation_s=step.service_generation_s,
            warmup=warmup,
            extra=extra,
            intended_start=rel_intended,
            start=rel_start,
            end=rel_end,
        )
    if step.outcome is Outcome.TIMEOUT and cut_by_run_deadline:
        extra["cut_by_run_deadline"] = True
    return Sample(
        index=index,
        prompt=prompt,
        outcome=step.outcome,
        status=step.status,
        error_code=step.error_code,
        error_message=step.message,
        attempts=tuple(attempts),
        bytes_received=received,
        warmup=warmup,
        extra=extra,
        intended_start=rel_intended,
        start=rel_start,
        end=rel_end,
    )
