"""``qwenperf sim``: run the simulator in the foreground until SIGINT/SIGTERM.

The first line printed is the base URL (flushed at once), so a script can read it::

    url=$(qwenperf sim --port 0 --profile flaky | head -n 1)

The API key is read from the environment variable named by ``--api-key-env``, never from the
command line. Model and fault flags override the chosen profile; omitted ones keep its values.
"""

from __future__ import annotations

import argparse
import gc
import os
import signal
import sys
import threading
from collections.abc import Callable
from types import FrameType
from typing import Any

from pytest_qwenperf.simulator.config import FAULTS, PROFILES
from pytest_qwenperf.simulator.server import Simulator

LOOPBACK = ("127.0.0.1", "::1", "localhost")


def _number(
    kind: type[int] | type[float], check: Callable[[float], bool], what: str
) -> Callable[[str], Any]:
    def convert(text: str) -> Any:
        try:
            value = kind(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"must be {what}, got {text!r}") from None
        if value != value or value in (float("inf"), float("-inf")) or not check(value):
            raise argparse.ArgumentTypeError(f"must be {what}, got {text!r}")
        return value

    convert.__name__ = what  # argparse names the type in some messages
    return convert


_PORT = _number(int, lambda v: 0 <= v <= 65535, "a port number 0..65535 (0 = any free port)")
_NON_NEGATIVE_INT = _number(int, lambda v: v >= 0, "an integer >= 0")
_INT = _number(int, lambda v: True, "an integer")
_POSITIVE = _number(float, lambda v: v > 0, "a number > 0")
_NON_NEGATIVE = _number(float, lambda v: v >= 0, "a number >= 0")
_RATE = _number(float, lambda v: 0 <= v <= 1, "a probability within [0, 1]")

#: (flag, SimConfig field, type, help)
_MODEL_FLAGS: tuple[tuple[str, str, Callable[[str], Any], str], ...] = (
    ("--slots", "slots", _NON_NEGATIVE_INT, "concurrent generations (GPUs); 0 = unlimited"),
    ("--median", "median", _NON_NEGATIVE, "median generation seconds of a 1-megapixel image"),
    ("--sigma", "sigma", _NON_NEGATIVE, "lognormal shape of generation times (0 = fixed)"),
    ("--mp-exponent", "mp_exponent", _NON_NEGATIVE, "time grows as megapixels**this"),
    ("--max-queue", "max_queue", _INT, "queued requests before 429 Throttling; -1 = unlimited"),
    ("--retry-after", "retry_after", _NON_NEGATIVE, "Retry-After seconds of a 429 (scaled)"),
    ("--seed", "seed", _INT, "seed of every random draw"),
    ("--drip-interval", "drip_interval_s", _NON_NEGATIVE, "seconds per byte of slow_drip"),
    ("--task-ttl", "task_ttl_s", _NON_NEGATIVE, "async task lifetime, seconds (scaled)"),
    ("--hang-max", "hang_max_s", _POSITIVE, "wall-clock cap of a hung request, seconds"),
)


class _RefuseKey(argparse.Action):
    """``--api-key`` exists only to refuse it: a key on a command line leaks into ps and
    shell history. The value is never echoed."""

    def __call__(
        self,
        parser: argparse.ArgumentParser,
        namespace: argparse.Namespace,
        values: Any,
        option_string: str | None = None,
    ) -> None:
        parser.error(
            "the API key is never taken on the command line: put it in an environment "
            "variable and pass --api-key-env VAR"
        )


def add_arguments(parser: argparse.ArgumentParser) -> None:
    # no prefix matching: '--api-key sk-...' must never be read as '--api-key-env sk-...'
    parser.allow_abbrev = False
    parser.add_argument("--host", default="127.0.0.1", help="bind address (default: %(default)s)")
    parser.add_argument(
        "--port", type=_PORT, default=8000, help="port; 0 = any free (default: %(default)s)"
    )
    parser.add_argument(
        "--profile",
        choices=sorted(PROFILES),
        default="healthy",
        help="service profile (default: %(default)s)",
    )
    parser.add_argument(
        "--time-scale",
        type=_POSITIVE,
        default=1.0,
        help="multiply every simulated time by this (default: %(default)s)",
    )
    parser.add_argument(
        "--api-key-env",
        metavar="VAR",
        help="require 'Authorization: Bearer <key>', the key read from environment variable VAR",
    )
    parser.add_argument("--api-key", action=_RefuseKey, help=argparse.SUPPRESS)
    parser.add_argument(
        "--echo-headers",
        action="store_true",
        default=None,
        help="echo request headers in error bodies (secret-leak canary tests only)",
    )
    model = parser.add_argument_group("service model (overrides the profile)")
    for flag, field, kind, text in _MODEL_FLAGS:
        metavar = "N" if kind in (_NON_NEGATIVE_INT, _INT) else "S"
        model.add_argument(flag, dest=field, type=kind, default=None, metavar=metavar, help=text)
    fault_group = parser.add_argument_group("fault probabilities per request (sum <= 1)")
    for name in FAULTS:
        flag = "--" + name.replace("_", "-") + "-rate"
        fault_group.add_argument(flag, dest=f"{name}_rate", type=_RATE, default=None, metavar="P")


def overrides_from(args: argparse.Namespace) -> dict[str, Any]:
    """SimConfig overrides for the flags that were given (the rest keep the profile's values)."""
    names = [field for _, field, _, _ in _MODEL_FLAGS] + [f"{name}_rate" for name in FAULTS]
    overrides = {
        name: getattr(args, name) for name in names if getattr(args, name, None) is not None
    }
    overrides["time_scale"] = args.time_scale
    if args.echo_headers:
        overrides["echo_headers"] = True
    return overrides


def _fail(message: str, code: int = 2) -> int:
    print(f"qwenperf sim: error: {message}", file=sys.stderr, flush=True)
    return code


def run(args: argparse.Namespace) -> int:
    overrides = overrides_from(args)
    if args.api_key_env:
        key = os.environ.get(args.api_key_env, "")
        if not key:
            return _fail(
                f"--api-key-env: environment variable {args.api_key_env!r} is not set or empty"
            )
        overrides["api_key"] = key
    try:
        sim = Simulator(args.profile, host=args.host, port=args.port, **overrides)
    except ValueError as exc:
        return _fail(str(exc))
    try:
        sim.start()
    except OSError as exc:
        return _fail(f"cannot listen on {args.host}:{args.port}: {exc.strerror or exc}", 1)
    # the process is ours: keep start-up objects out of the collector's way, so that cyclic
    # GC passes during a load test stay short (timing accuracy)
    gc.freeze()
    stop = threading.Event()

    def on_signal(signum: int, frame: FrameType | None) -> None:
        stop.set()

    previous = {sig: signal.signal(sig, on_signal) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        print(sim.url, flush=True)
        config = sim.config
        auth = "bearer key required" if config.api_key else "no auth"
        print(
            f"qwenperf sim: profile={args.profile} time_scale={config.time_scale:g} "
            f"slots={config.slots or 'unlimited'} median={config.median:g}s {auth}; "
            f"DashScope base {sim.url}/api/v1, OpenAI base {sim.url}/v1; Ctrl-C stops",
            flush=True,
        )
        if args.host not in LOOPBACK:
            print(f"qwenperf sim: warning: listening on {args.host}, not loopback", file=sys.stderr)
        while not stop.wait(0.2):
            pass
    finally:
        sim.stop()
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    print("qwenperf sim: stopped", flush=True)
    return 0
