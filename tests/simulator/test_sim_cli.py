"""``qwenperf sim``: URL on the first line, serves, stops cleanly on SIGINT; bad values exit 2
with a message and no traceback; the key comes from the environment only."""

from __future__ import annotations

import os
import signal
import subprocess
import sys

import pytest
import requests
from simtest_util import t2i_body

SYNC = "/api/v1/services/aigc/multimodal-generation/generation"
COMMAND = [sys.executable, "-m", "pytest_qwenperf.cli", "sim"]


def _start(*args: str, env: dict[str, str] | None = None) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [*COMMAND, "--port", "0", *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, **(env or {})},
    )


@pytest.mark.parametrize("stop_signal", [signal.SIGINT, signal.SIGTERM])
def test_prints_url_serves_and_stops_on_signal(stop_signal: signal.Signals) -> None:
    proc = _start(
        "--profile", "fixed", "--time-scale", "0.01", "--api-key-env", "QP_SIM_TEST_KEY",
        "--error-5xx-rate", "0",
        env={"QP_SIM_TEST_KEY": "sk-from-env"},
    )  # fmt: skip
    try:
        assert proc.stdout is not None
        url = proc.stdout.readline().strip()
        assert url.startswith("http://127.0.0.1:")
        with requests.Session() as http:
            ok = http.post(
                url + SYNC,
                json=t2i_body(),
                headers={"Authorization": "Bearer sk-from-env"},
                timeout=10,
            )
            assert ok.status_code == 200
            assert http.post(url + SYNC, json=t2i_body(), timeout=10).status_code == 401
            config = http.get(url + "/_sim/config", timeout=10).json()
        assert config["profile"] == "fixed"
        assert config["config"]["time_scale"] == 0.01
        proc.send_signal(stop_signal)
        out, err = proc.communicate(timeout=20)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()
    assert proc.returncode == 0, err
    assert "Traceback" not in err
    assert "sk-from-env" not in out + err


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--slots", "-1"], "--slots: must be an integer >= 0"),
        (["--time-scale", "0"], "--time-scale: must be a number > 0"),
        (["--hang-rate", "1.5"], "--hang-rate: must be a probability"),
        (["--median", "fast"], "--median: must be a number >= 0"),
        (["--profile", "sleepy"], "invalid choice"),
        (["--error-5xx-rate", "0.6", "--hang-rate", "0.6"], "sum must be <= 1"),
        (["--api-key-env", "QP_SIM_SURELY_UNSET"], "QP_SIM_SURELY_UNSET"),
        (["--api-key", "sk-x"], "never taken on the command line"),
        (["--api-key-e", "VAR"], "unrecognized arguments"),
    ],
)
def test_bad_values_exit_2_without_traceback(args: list[str], message: str) -> None:
    env = {k: v for k, v in os.environ.items() if k != "QP_SIM_SURELY_UNSET"}
    proc = subprocess.run(
        [*COMMAND, "--port", "0", *args], capture_output=True, text=True, timeout=60, env=env
    )
    assert proc.returncode == 2, proc
    assert message in proc.stderr
    assert "Traceback" not in proc.stderr
    assert proc.stdout == ""
    assert "sk-x" not in proc.stderr
