"""Root conftest: our own tests drive the plugin through pytest's ``pytester`` fixture."""

from __future__ import annotations

import pytest

pytest_plugins = ["pytester"]

#: Variables the plugin reads from the environment. A developer's or CI's own values
#: (a real endpoint, a real key, the job summary of this very CI job) must never reach the
#: plugin sessions our tests start; a test that wants one sets it itself.
PLUGIN_ENV = ("QWENPERF_URL", "QWENPERF_API_KEY", "DASHSCOPE_API_KEY", "GITHUB_STEP_SUMMARY")


@pytest.fixture(autouse=True)
def _isolated_plugin_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in PLUGIN_ENV:
        monkeypatch.delenv(name, raising=False)
