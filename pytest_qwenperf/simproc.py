"""The embedded simulator as a child process of the test session.

The plugin runs ``qwenperf sim`` in its own process rather than a thread of pytest's: the
simulator's event loop and the load generator's threads then do not compete for one
interpreter lock, so the client self-check measures the client alone and simulated-time
figures carry no cross-talk. The child prints its URL on its first line; it is ended with
SIGINT (then SIGKILL) when the session ends, and on Linux also dies with its parent.
"""

from __future__ import annotations

import contextlib
import os
import queue
import signal
import subprocess
import sys
import tempfile
import threading
from collections.abc import Sequence
from typing import IO

#: Environment variable through which the key reaches the child (never its command line).
KEY_ENV = "QWENPERF_SIM_API_KEY"
START_TIMEOUT_S = 30.0
STOP_TIMEOUT_S = 5.0


class SimulatorStartError(RuntimeError):
    """The simulator process did not come up; the message carries its own error output."""


def _die_with_parent() -> None:  # pragma: no cover - runs in the child before exec
    """Linux: have the kernel send SIGTERM to the child when pytest dies, even by SIGKILL."""
    try:
        import ctypes

        libc = ctypes.CDLL(None, use_errno=True)
        pr_set_pdeathsig = 1
        libc.prctl(pr_set_pdeathsig, signal.SIGTERM)
    except (OSError, AttributeError):
        pass


class SimulatorProcess:
    """``qwenperf sim`` on 127.0.0.1 and a free port, for the length of a session."""

    def __init__(
        self,
        profile: str,
        time_scale: float,
        api_key: str | None = None,
        extra_args: Sequence[str] = (),
    ) -> None:
        """``extra_args``: more ``qwenperf sim`` flags (``--slots 0 --median 1``...); given
        after the profile and time scale, they win over them."""
        self.profile = profile
        self.time_scale = time_scale
        self._api_key = api_key
        self._extra_args = tuple(extra_args)
        self.url: str | None = None
        self.pid: int | None = None
        self._proc: subprocess.Popen[str] | None = None
        self._stderr: IO[str] | None = None
        self._drain: threading.Thread | None = None

    def start(self) -> str:
        command = [
            sys.executable, "-m", "pytest_qwenperf.cli", "sim",
            "--host", "127.0.0.1", "--port", "0",
            "--profile", self.profile, "--time-scale", repr(self.time_scale),
            *self._extra_args,
        ]  # fmt: skip
        env = dict(os.environ)
        env.pop(KEY_ENV, None)
        if self._api_key:
            env[KEY_ENV] = self._api_key
            command += ["--api-key-env", KEY_ENV]
        # Closed in stop(): it holds the child's error output for the life of the session.
        self._stderr = tempfile.TemporaryFile(mode="w+", encoding="utf-8")  # noqa: SIM115
        self._proc = subprocess.Popen(
            command,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=self._stderr,
            text=True,
            env=env,
            preexec_fn=_die_with_parent if sys.platform == "linux" else None,
        )
        self.pid = self._proc.pid
        lines: queue.Queue[str] = queue.Queue()
        stdout = self._proc.stdout
        assert stdout is not None

        def drain() -> None:
            # The first line is the URL; anything after is read and dropped so that the
            # child can never block on a full pipe. The pipe closes at the child's exit.
            with stdout:
                for line in stdout:
                    lines.put(line)

        self._drain = threading.Thread(target=drain, name="qwenperf-sim-stdout", daemon=True)
        self._drain.start()
        try:
            first = lines.get(timeout=START_TIMEOUT_S).strip()
        except queue.Empty:
            first = ""
        if not first.startswith("http://"):
            detail = self._child_error()
            self.stop()
            raise SimulatorStartError(
                f"the embedded simulator did not start within {START_TIMEOUT_S:g} s"
                + (f": {detail}" if detail else "")
            )
        self.url = first.rstrip("/")
        return self.url

    def _child_error(self) -> str:
        if self._stderr is None:
            return ""
        with contextlib.suppress(OSError, ValueError):
            self._stderr.seek(0)
            return " | ".join(self._stderr.read().strip().splitlines()[-5:])
        return ""

    def stop(self) -> None:
        """End the child (SIGINT, then SIGKILL) and wait for it; idempotent."""
        proc, self._proc = self._proc, None
        if proc is not None and proc.poll() is None:
            proc.send_signal(signal.SIGINT)
            try:
                proc.wait(timeout=STOP_TIMEOUT_S)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(timeout=STOP_TIMEOUT_S)
        if self._drain is not None:
            self._drain.join(timeout=STOP_TIMEOUT_S)
            self._drain = None
        if self._stderr is not None:
            self._stderr.close()
            self._stderr = None
