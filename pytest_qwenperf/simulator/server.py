"""``Simulator``: the aiohttp app on a loopback port, served from a background thread."""

from __future__ import annotations

import asyncio
import contextlib
import socket
import threading
from types import TracebackType
from typing import Any

from aiohttp import web

from pytest_qwenperf.simulator.app import build_app
from pytest_qwenperf.simulator.config import SimConfig, build_config
from pytest_qwenperf.simulator.state import SimState

_START_TIMEOUT_S = 30.0
_STOP_TIMEOUT_S = 10.0
#: how long stop() lets in-flight handlers finish after cancelling them
_SHUTDOWN_GRACE_S = 0.25


class Simulator:
    """A Qwen-Image service simulator (DashScope sync + async tasks, OpenAI images).

    >>> with Simulator(profile="healthy", time_scale=0.01, seed=1) as sim:  # doctest: +SKIP
    ...     base = sim.url + "/api/v1"

    ``profile`` names a :data:`~pytest_qwenperf.simulator.config.PROFILES` entry; keyword
    overrides are :class:`~pytest_qwenperf.simulator.config.SimConfig` fields (unknown ->
    ValueError). ``port=0`` picks a free port. :meth:`stop` is idempotent and cancels hung and
    in-flight requests, so it returns promptly.
    """

    def __init__(
        self, profile: str = "healthy", *, host: str = "127.0.0.1", port: int = 0, **overrides: Any
    ) -> None:
        self.profile = profile
        self.host = host
        self._state = SimState(build_config(profile, **overrides), profile)
        self._requested_port = port
        self.port: int | None = None
        self._thread: threading.Thread | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._runner: web.AppRunner | None = None
        self._ready = threading.Event()
        self._error: BaseException | None = None
        self._lock = threading.Lock()

    # lifecycle ---------------------------------------------------------------------------
    def __enter__(self) -> Simulator:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    @property
    def running(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    @property
    def url(self) -> str:
        """``http://127.0.0.1:<port>`` (no trailing slash); only valid after :meth:`start`."""
        if self.port is None:
            raise RuntimeError(
                "the simulator is not started; call start() or use it in a with-block"
            )
        host = "127.0.0.1" if self.host in ("", "0.0.0.0") else self.host
        if ":" in host:
            host = f"[{host}]"
        return f"http://{host}:{self.port}"

    def start(self) -> Simulator:
        """Bind, start the server thread, return once it accepts connections."""
        with self._lock:
            if self._thread is not None:
                return self
            sock = _bind(self.host, self._requested_port)
            self.port = sock.getsockname()[1]
            self._ready.clear()
            self._error = None
            self._thread = threading.Thread(
                target=self._run, args=(sock,), name=f"qwenperf-sim-{self.port}", daemon=True
            )
            self._thread.start()
        if not self._ready.wait(_START_TIMEOUT_S):
            self.stop()
            raise RuntimeError("the simulator did not start in time")
        if self._error is not None:
            error = self._error
            self.stop()
            raise RuntimeError(f"the simulator failed to start: {error}") from error
        return self

    def stop(self) -> None:
        """Stop serving and join the thread (idempotent; safe if never started)."""
        with self._lock:
            thread, loop = self._thread, self._loop
            self._thread = None
        if thread is None:
            return
        if loop is not None:
            with contextlib.suppress(RuntimeError):  # loop already closed
                loop.call_soon_threadsafe(loop.stop)
        thread.join(_STOP_TIMEOUT_S)

    def _run(self, sock: socket.socket) -> None:
        loop = asyncio.new_event_loop()
        self._loop = loop
        self._state.loop = loop
        asyncio.set_event_loop(loop)
        try:
            try:
                loop.run_until_complete(self._serve(sock))
            except BaseException as exc:  # report to start(), which raises it
                self._error = exc
                sock.close()
                return
            finally:
                self._ready.set()
            loop.run_forever()
        finally:
            with contextlib.suppress(Exception):
                loop.run_until_complete(self._shutdown())
            with contextlib.suppress(Exception):
                loop.run_until_complete(loop.shutdown_asyncgens())
                loop.run_until_complete(loop.shutdown_default_executor())
            self._state.loop = None
            loop.close()

    async def _serve(self, sock: socket.socket) -> None:
        runner = web.AppRunner(
            build_app(self._state),
            handle_signals=False,
            access_log=None,
            handler_cancellation=True,
            shutdown_timeout=_SHUTDOWN_GRACE_S,
        )
        await runner.setup()
        self._runner = runner
        site = web.SockSite(runner, sock, backlog=4096)
        await site.start()

    async def _shutdown(self) -> None:
        state = self._state
        pending = list(state.handlers)
        for task in pending:
            task.cancel()
        if pending:
            await asyncio.wait(pending, timeout=_SHUTDOWN_GRACE_S)
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    # live control and ground truth -------------------------------------------------------
    @property
    def config(self) -> SimConfig:
        """The current parameters (a frozen snapshot)."""
        return self._state.config

    def configure(self, **overrides: Any) -> SimConfig:
        """Change parameters while running (thread-safe); unknown key or bad value -> ValueError."""
        return self._state.configure(**overrides)

    def stats(self) -> list[dict[str, Any]]:
        """Ground truth: one record per request seen (copies; see docs/simulator.md)."""
        return self._state.stats()

    def reset_stats(self) -> None:
        self._state.reset_stats()

    def __repr__(self) -> str:
        where = self.url if self.port is not None else "not started"
        return f"<Simulator profile={self.profile!r} {where}>"


def _bind(host: str, port: int) -> socket.socket:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((host, port))
    except OSError:
        sock.close()
        raise
    return sock
