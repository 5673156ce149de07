"""The plugin is installed, registers its option group and markers, and the CLI answers."""

from __future__ import annotations

import subprocess
import sys

import pytest

from pytest_qwenperf import __version__
from pytest_qwenperf.plugin import QWENPERF_MARKER, SLA_MARKER
from pytest_qwenperf.settings import OPTIONS


def test_help_lists_the_qwenperf_group(pytester: pytest.Pytester) -> None:
    result = pytester.runpytest("--help")
    result.stdout.fnmatch_lines(
        [
            "*Qwen-Image performance gates (pytest-qwenperf)*",
            "*--qwenperf-url*",
            "*--qwenperf-sla*timeout_rate<=5%*",
        ]
    )
    for spec in OPTIONS:
        assert spec.option in result.stdout.str()
        assert spec.ini in result.stdout.str()
    assert result.ret == 0


def test_markers_lists_qwenperf_and_sla(pytester: pytest.Pytester) -> None:
    result = pytester.runpytest("--markers")
    result.stdout.fnmatch_lines([f"@pytest.mark.{QWENPERF_MARKER}", f"@pytest.mark.{SLA_MARKER}"])
    assert result.ret == 0


def test_markers_are_known_under_strict_markers(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        """
        import pytest

        @pytest.mark.qwenperf(requests=1)
        @pytest.mark.sla(p95="1s")
        def test_marked():
            pass
        """
    )
    result = pytester.runpytest("--strict-markers", "-p", "no:cacheprovider")
    result.stdout.no_fnmatch_line("*not found in `markers`*")


@pytest.mark.parametrize("flag", ["--help", "--version"])
def test_cli_answers(flag: str) -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "pytest_qwenperf.cli", flag],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    if flag == "--version":
        assert proc.stdout.strip() == f"qwenperf {__version__}"
    else:
        assert "usage: qwenperf" in proc.stdout
