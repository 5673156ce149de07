"""Hardening tests: secrets, faults, interrupts, bad input, leaks, hanging servers, TLS.

Every test here talks to 127.0.0.1 only, bounds every loop in count and time, and stops
every server or process it starts. The environment is cleaned so that a CI job's own
``GITHUB_STEP_SUMMARY`` or API key can never reach (or be written by) these tests.
"""

from __future__ import annotations

import pytest

_ENV = ("GITHUB_STEP_SUMMARY", "QWENPERF_URL", "QWENPERF_API_KEY", "DASHSCOPE_API_KEY")


@pytest.fixture(autouse=True)
def _clean_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in _ENV:
        monkeypatch.delenv(name, raising=False)
