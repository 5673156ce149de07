"""The API key never leaks: a canary key through a whole hostile session, every output grepped.

The simulator here requires the canary key and echoes every request's headers (Authorization
included) into its error bodies, as a buggy or hostile server might. A suite runs against it
in a subprocess with every report on, ``-vv -l`` (locals in tracebacks), DEBUG logging to the
terminal and to a file, pytest's own JUnit with all captured output, a failing SLA, a failing
session SLA, 500s (JSON and HTML bodies, every API), a 401 (the simulator's key is changed for
one test), retries, and tests that raise while the plugin's own objects are their locals. Then
every byte of stdout, stderr and every file the run produced is searched for the key.
"""

from __future__ import annotations

import os
import socket
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from hardening_util import canary_key, files_containing, leak_fragments

from pytest_qwenperf import LoadConfig, run_load
from pytest_qwenperf.engine.executor import ExecContext
from pytest_qwenperf.engine.runner import build_adapter
from pytest_qwenperf.engine.watchdog import Watchdog
from pytest_qwenperf.settings import resolve_settings
from pytest_qwenperf.simulator import FAULTS, Simulator

NO_FAULTS = {f"{name}_rate": 0.0 for name in FAULTS}

SUITE_CONFTEST = """
import os

import pytest
import requests

SIM = os.environ["CANARY_SIM_ROOT"]
NO_FAULTS = {NO_FAULTS!r}


def configure(**overrides):
    response = requests.post(SIM + "/_sim/config", json=overrides, timeout=5)
    response.raise_for_status()


@pytest.fixture
def sim():
    yield configure
    # Back to healthy, and to the session's key (read inline: no local holds it).
    configure(api_key=os.environ["QWENPERF_API_KEY"], **NO_FAULTS)
"""

SUITE = """
import logging
import os

import pytest

from pytest_qwenperf import LoadConfig, run_load

log = logging.getLogger("canary-suite")


@pytest.mark.qwenperf(requests=6, workers=3)
@pytest.mark.sla(p95="30s", error_rate="0%")
def test_healthy_passes(qwenperf):
    result = qwenperf.run()
    print("result:", result)
    log.info("target %r results %r", qwenperf.target, qwenperf.results)


@pytest.mark.qwenperf(requests=4, workers=2)
@pytest.mark.sla(p95="1ms")
def test_sla_breached(qwenperf):
    qwenperf.run()


@pytest.mark.qwenperf(requests=4, workers=2)
@pytest.mark.sla(error_5xx_rate="0%")
@pytest.mark.parametrize("api", ["dashscope", "dashscope-async", "openai"])
def test_500_with_headers_echoed(qwenperf, sim, api):
    sim(error_5xx_rate=1.0)
    result = qwenperf.run(api=api)
    print([s.error_message for s in result.samples])


@pytest.mark.qwenperf(requests=4, workers=2, retries=1)
@pytest.mark.sla(error_5xx_rate="0%")
def test_gateway_html_with_headers_echoed_and_retried(qwenperf, sim):
    sim(gateway_502_rate=1.0)
    result = qwenperf.run()
    print([a for s in result.samples for a in s.attempts])


@pytest.mark.qwenperf(requests=3, workers=3)
@pytest.mark.sla(error_4xx_rate="0%")
def test_data_inspection_400_echoed(qwenperf, sim):
    sim(data_inspection_rate=1.0)
    qwenperf.run()


@pytest.mark.qwenperf(requests=3, workers=3)
@pytest.mark.sla(error_4xx_rate="0%")
@pytest.mark.parametrize("api", ["dashscope", "openai"])
def test_401_wrong_key(qwenperf, sim, api):
    sim(api_key="sk-the-server-wants-another-key")
    result = qwenperf.run(api=api)
    assert [s.status for s in result.samples] == [401] * 3


@pytest.mark.qwenperf(requests=3, workers=3)
def test_raises_with_our_objects_as_locals(qwenperf, request, sim):
    sim(error_5xx_rate=0.5)
    result = qwenperf.run()
    plugin = request.config.pluginmanager.get_plugin("qwenperf-session")
    settings = plugin.settings
    target = qwenperf.target
    samples = result.samples
    raise RuntimeError(f"deliberate failure with our objects as locals: {{result!r}}")


@pytest.mark.qwenperf(requests=3, workers=3)
def test_assertion_rewrite_shows_the_result(qwenperf, sim):
    sim(error_5xx_rate=1.0)
    result = qwenperf.run()
    assert result.success_rate == 1.0, result


def test_library_run_load_callback_error(sim):
    # The documented library API, with the key taken straight from the environment.
    sim(error_5xx_rate=1.0)

    def boom(sample):
        raise ValueError(f"callback refuses {{sample!r}}")

    run_load(
        LoadConfig(url=os.environ["CANARY_SIM_ROOT"], api_key=os.environ["QWENPERF_API_KEY"],
                   requests=2, workers=2),
        on_sample=boom,
    )
"""


@pytest.fixture
def canary() -> str:
    return canary_key()


@pytest.fixture
def echo_sim(canary: str) -> Iterator[Simulator]:
    # fixed profile, 10 ms generations (wall clock, since the plugin gets a URL)
    with Simulator(
        profile="fixed", time_scale=0.001, median=10.0, seed=3, api_key=canary, echo_headers=True
    ) as simulator:
        yield simulator


def test_canary_key_appears_in_no_output(
    pytester: pytest.Pytester,
    monkeypatch: pytest.MonkeyPatch,
    canary: str,
    echo_sim: Simulator,
) -> None:
    pytester.makeconftest(SUITE_CONFTEST.format(NO_FAULTS=NO_FAULTS))
    pytester.makepyfile(test_canary_suite=SUITE.format())
    out = pytester.mkdir("out")
    summary = out / "step-summary.md"
    monkeypatch.setenv("QWENPERF_API_KEY", canary)
    monkeypatch.setenv("CANARY_SIM_ROOT", echo_sim.url)
    monkeypatch.setenv("GITHUB_STEP_SUMMARY", str(summary))
    result = pytester.runpytest_subprocess(
        f"--qwenperf-url={echo_sim.url}",
        "--qwenperf-api=dashscope",
        "--qwenperf-timeout=5s",
        "--qwenperf-session-sla=error_rate<=0%",
        "--qwenperf-json=out/perf.json",
        "--qwenperf-junit=out/perf-junit.xml",
        "--qwenperf-csv=out/samples.csv",
        "--qwenperf-markdown=out/summary.md",
        "--junitxml=out/pytest-junit.xml",
        "-o",
        "junit_logging=all",
        "-vv",
        "-l",
        "-rA",
        "--showlocals",
        "--tb=long",
        "--log-level=DEBUG",
        "-o",
        "log_cli=true",
        "-o",
        "log_cli_level=DEBUG",
        "--log-file=out/pytest.log",
        "--log-file-level=DEBUG",
        "-p",
        "no:cacheprovider",
        timeout=120,
    )
    stdout, stderr = result.stdout.str(), result.stderr.str()
    # The run did what it was meant to: failures, 401s, 500s, reports.
    assert result.ret == pytest.ExitCode.TESTS_FAILED, stdout[-3000:] + stderr[-3000:]
    outcomes = result.parseoutcomes()
    assert outcomes.get("passed") == 1, outcomes
    assert outcomes.get("failed") == 11, outcomes
    for name in ("perf.json", "perf-junit.xml", "samples.csv", "summary.md", "pytest-junit.xml"):
        assert (out / name).stat().st_size > 0, name
    assert summary.stat().st_size > 0
    assert "InvalidApiKey" in (out / "perf.json").read_text("utf-8")
    # The echo arrived, with the (masked) Authorization header in the part of it that was kept.
    assert "Bearer ***" in (out / "samples.csv").read_text("utf-8")
    assert "urllib3.connectionpool" in (out / "pytest.log").read_text("utf-8")  # logs captured
    assert "deliberate failure with our objects as locals" in stdout
    # ... and the key is nowhere.
    needles = leak_fragments(canary)
    leaks = {
        "stdout": [n for n in needles if n in stdout],
        "stderr": [n for n in needles if n in stderr],
    }
    leaks = {k: v for k, v in leaks.items() if v}
    leaks.update(files_containing(pytester.path, needles))
    if leaks:
        lines = [ln for ln in (stdout + stderr).splitlines() if any(n in ln for n in needles)]
        pytest.fail(f"the canary key leaked into {leaks}; lines:\n" + "\n".join(lines[:10]))


@pytest.mark.parametrize(
    "url",
    [
        "https://user:{key}@127.0.0.1:1/api/v1",
        "https://{key}@127.0.0.1:1/api/v1",
        "https://127.0.0.1:1/api/v1?api_key={key}",
        "https://127.0.0.1:1/api/v1?x=1&key={key}",
        "https://127.0.0.1:1/api/v1#{key}",
        "ftp://user:{key}@127.0.0.1/?key={key}",
        "127.0.0.1:1/api/v1?key={key}",
        "https://user:{key}@127.0.0.1:abc/api/v1",
    ],
)
@pytest.mark.parametrize("layer", ["option", "env", "ini"])
def test_url_with_a_secret_is_refused_without_echoing_it(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch, url: str, layer: str
) -> None:
    key = canary_key()
    value = url.format(key=key)
    pytester.makepyfile("def test_nothing(): pass")
    args: list[str] = []
    if layer == "option":
        args.append(f"--qwenperf-url={value}")
    elif layer == "env":
        monkeypatch.setenv("QWENPERF_URL", value)
    else:
        pytester.makeini(f"[pytest]\nqwenperf_url = {value}\n")
    result = pytester.runpytest(*args)
    out = result.stdout.str() + result.stderr.str()
    assert result.ret == pytest.ExitCode.USAGE_ERROR, out
    assert "qwenperf_url" in out or "QWENPERF_URL" in out or "--qwenperf-url" in out
    assert not [n for n in leak_fragments(key) if n in out], out
    assert "Traceback" not in out


def test_url_with_malformed_host_and_credentials_is_a_usage_error(
    pytester: pytest.Pytester,
) -> None:
    """``http://[::1`` makes urllib raise a plain ValueError: it must still be a usage error."""
    key = canary_key()
    pytester.makepyfile("def test_nothing(): pass")
    result = pytester.runpytest(f"--qwenperf-url=http://user:{key}@[::1/api/v1")
    out = result.stdout.str() + result.stderr.str()
    assert result.ret == pytest.ExitCode.USAGE_ERROR, out
    assert "--qwenperf-url" in out
    assert "INTERNALERROR" not in out
    assert key not in out


def test_reprs_of_every_object_holding_the_key_hide_it(tmp_path: Path) -> None:
    """What ``-l`` would print for each of our objects that holds the key."""
    key = canary_key()
    settings = resolve_settings(cli={}, env={"QWENPERF_API_KEY": key}, ini={})
    config = LoadConfig(url="http://127.0.0.1:1", api_key=key)
    adapter = build_adapter(config)
    request = adapter.new_call("a cat").first_request()
    ctx = ExecContext(
        adapter=adapter,
        config=config,
        t0=0.0,
        stop=threading.Event(),
        watchdog=Watchdog(threading.Event()),
        run_deadline=None,
        secrets=(key,),
    )
    shown = {
        "Settings": repr(settings),
        "LoadConfig": repr(config),
        "adapter": repr(adapter),
        "HttpRequest": repr(request),
        "ExecContext": repr(ctx),
    }
    leaked = sorted(name for name, text in shown.items() if key in text)
    assert not leaked, {name: shown[name] for name in leaked}


def test_refused_connection_message_has_no_key() -> None:
    key = canary_key()
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    sock.close()
    result = run_load(
        LoadConfig(url=f"http://127.0.0.1:{port}", api_key=key, requests=2, workers=2, timeout=2)
    )
    text = repr(result) + str(result.to_dict())
    assert result.samples[0].outcome.value == "connection_error"
    assert key not in text
    assert os.environ.get("QWENPERF_API_KEY") is None  # the autouse fixture cleaned it
