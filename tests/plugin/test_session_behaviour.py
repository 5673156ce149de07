"""Header, image budget, live progress and the README's main command, end to end."""

from __future__ import annotations

import json
import shutil
import threading
import time
from pathlib import Path

import pytest

from pytest_qwenperf import progress
from pytest_qwenperf.metrics.sample import Outcome, Sample
from pytest_qwenperf.simulator.png import png_bytes

EXAMPLES = Path(__file__).parent.parent.parent / "examples"


def test_header_names_the_target(pytester: pytest.Pytester) -> None:
    pytester.makepyfile("def test_nothing(): pass")
    result = pytester.runpytest("--qwenperf-workers=10", "--qwenperf-sim-profile=degraded")
    result.stdout.fnmatch_lines(
        [
            "qwenperf: target: simulator (degraded, time scale 0.01) | api dashscope | "
            "model qwen-image | 10 workers (closed loop) | timeout 120 s | gate point | "
            "durations in simulated seconds"
        ]
    )


def test_header_warns_when_tls_verification_is_off(pytester: pytest.Pytester) -> None:
    pytester.makepyfile("def test_nothing(): pass")
    result = pytester.runpytest("--qwenperf-url=https://127.0.0.1:9/api/v1", "--qwenperf-insecure")
    result.stdout.fnmatch_lines(
        ["qwenperf: target: https://127.0.0.1:9/api/v1 *TLS verification is OFF*"]
    )


def test_image_budget_stops_a_run_before_it_sends_anything(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        """
        def test_first(qwenperf):
            assert qwenperf.run(requests=6).n == 6

        def test_second(qwenperf):
            qwenperf.run(requests=5, warmup=1)
        """
    )
    result = pytester.runpytest("--qwenperf-sim-profile=fixed", "--qwenperf-max-images=10")
    result.assert_outcomes(passed=1, failed=1)
    result.stdout.fnmatch_lines(
        [
            "*this run would request 6 images (5 measured + 1 warm-up), but 6 of the 10 allowed "
            "by --qwenperf-max-images are already used; nothing was sent*"
        ]
    )
    # the refused run is not in the summary: only the first run was measured
    result.stdout.fnmatch_lines(["*test_first*c=4*6*"])
    result.stdout.no_fnmatch_line("*test_second*c=4*")


class FakeTerminal:
    isatty = True

    def __init__(self) -> None:
        self.writes: list[str] = []

    def write(self, text: str, flush: bool = False) -> None:
        self.writes.append(text)


def sample(index: int, latency: float, outcome: Outcome = Outcome.OK) -> Sample:
    return Sample(
        index=index, prompt="p", intended_start=0.0, start=0.0, end=latency, outcome=outcome
    )


def test_live_progress_on_a_terminal(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(progress, "SHOW_AFTER_S", 0.05)
    monkeypatch.setattr(progress, "UPDATE_EVERY_S", 0.02)
    terminal = FakeTerminal()
    with progress.live_progress(terminal, "test_x", 4, time_scale=0.01) as on_sample:
        assert on_sample is not None
        on_sample(sample(0, 0.1))
        on_sample(sample(1, 0.2))
        on_sample(sample(2, 0.3, Outcome.TIMEOUT))
        deadline = time.monotonic() + 5
        while not terminal.writes and time.monotonic() < deadline:
            time.sleep(0.01)
    lines = [w for w in terminal.writes if w.strip()]
    assert lines, "no progress line was written"
    # simulated seconds: 0.1 s wall at time scale 0.01 is 10 s; one failure counts as inf
    assert "qwenperf test_x: 3/4 done, 1 failed, p95 so far inf" in lines[-1]
    assert all(w.startswith("\r") for w in terminal.writes)
    assert terminal.writes[-1].strip() == ""  # the line is erased when the run ends
    assert not [t for t in threading.enumerate() if t.name == "qwenperf-progress"]


def test_no_live_progress_without_a_terminal() -> None:
    terminal = FakeTerminal()
    terminal.isatty = False
    with progress.live_progress(terminal, "test_x", 4, time_scale=1.0) as on_sample:
        assert on_sample is None
    assert terminal.writes == []


def copy_examples(pytester: pytest.Pytester) -> None:
    shutil.copy(EXAMPLES / "test_qwen_image_perf.py", pytester.path)
    shutil.copytree(EXAMPLES / "assets", pytester.path / "assets")


def test_readme_main_command_passes_against_the_healthy_simulator(
    pytester: pytest.Pytester,
) -> None:
    copy_examples(pytester)
    result = pytester.runpytest_subprocess("--qwenperf-workers=10", "-p", "no:cacheprovider")
    assert result.ret == pytest.ExitCode.OK, result.stdout.str()
    result.assert_outcomes(passed=5)
    result.stdout.fnmatch_lines(["qwenperf: target: simulator (healthy*"])


def test_readme_main_command_fails_against_the_degraded_simulator(
    pytester: pytest.Pytester,
) -> None:
    copy_examples(pytester)
    result = pytester.runpytest_subprocess(
        "--qwenperf-workers=10", "--qwenperf-sim-profile=degraded", "-p", "no:cacheprovider"
    )
    assert result.ret == pytest.ExitCode.TESTS_FAILED
    outcomes = result.parseoutcomes()
    assert outcomes.get("failed", 0) >= 4, result.stdout.str()
    result.stdout.fnmatch_lines(["*SLA breached: p95 = * > 60 s (n=*"])


EDIT_SUITE = """
import pytest

@pytest.mark.qwenperf(api="openai", model="qwen-image-edit", images=["in.png"], requests=3)
@pytest.mark.sla(success_rate="100%")
def test_openai_edit(qwenperf):
    result = qwenperf.run()
    assert [s.outcome.value for s in result.samples] == ["ok"] * 3
"""


def test_image_edit_on_the_openai_api_uploads_the_file(pytester: pytest.Pytester) -> None:
    """images= with api='openai': the local file is uploaded (multipart) to the embedded
    simulator's /v1/images/edits, which checks it is a real image."""
    pytester.path.joinpath("in.png").write_bytes(png_bytes(64, 48))
    pytester.makepyfile(test_edit=EDIT_SUITE)
    result = pytester.runpytest(
        "--qwenperf-sim-profile=fixed", "--qwenperf-json=perf.json", "-p", "no:cacheprovider"
    )
    result.assert_outcomes(passed=1)
    (run,) = json.loads(pytester.path.joinpath("perf.json").read_text("utf-8"))["runs"]
    assert run["result"]["config"]["endpoint"].endswith("/v1/images/edits")
    assert run["result"]["config"]["images"] == 1
    assert run["result"]["n"] == 3
