"""Configuration precedence, layer by layer: run() > marker > command line > env > ini > default."""

from __future__ import annotations

import pytest

from pytest_qwenperf.plugin import PLUGIN_KEY
from pytest_qwenperf.settings import OPTIONS_BY_KEY


def settings_of(pytester: pytest.Pytester, *args: str) -> dict[str, object]:
    config = pytester.parseconfigure(*args)
    plugin = config.stash[PLUGIN_KEY]
    return {"values": dict(plugin.settings.values), "sources": dict(plugin.settings.sources)}


def test_defaults(pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("QWENPERF_URL", raising=False)
    got = settings_of(pytester)
    values = got["values"]
    assert isinstance(values, dict)
    for key in ("workers", "requests", "timeout", "retries", "warmup", "gate", "model"):
        assert values[key] == OPTIONS_BY_KEY[key].default
    assert values["url"] is None
    assert set(got["sources"].values()) == {"default"}  # type: ignore[union-attr]


def test_ini_beats_default(pytester: pytest.Pytester) -> None:
    pytester.makeini("[pytest]\nqwenperf_workers = 3\nqwenperf_timeout = 45s\n")
    got = settings_of(pytester)
    assert got["values"]["workers"] == 3  # type: ignore[index]
    assert got["values"]["timeout"] == 45.0  # type: ignore[index]
    assert got["sources"]["workers"] == "ini key qwenperf_workers"  # type: ignore[index]


def test_env_beats_ini(pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch) -> None:
    pytester.makeini("[pytest]\nqwenperf_url = http://127.0.0.1:1/api/v1\n")
    monkeypatch.setenv("QWENPERF_URL", "http://127.0.0.1:2/api/v1")
    got = settings_of(pytester)
    assert got["values"]["url"] == "http://127.0.0.1:2/api/v1"  # type: ignore[index]
    assert got["sources"]["url"] == "environment variable QWENPERF_URL"  # type: ignore[index]


def test_cli_beats_env(pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("QWENPERF_URL", "http://127.0.0.1:2/api/v1")
    pytester.makeini("[pytest]\nqwenperf_workers = 3\n")
    got = settings_of(pytester, "--qwenperf-url=http://127.0.0.1:3/v1", "--qwenperf-workers=7")
    assert got["values"]["url"] == "http://127.0.0.1:3/v1"  # type: ignore[index]
    assert got["values"]["workers"] == 7  # type: ignore[index]
    assert got["sources"]["workers"] == "--qwenperf-workers"  # type: ignore[index]


def test_api_key_from_env_with_fallback(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("QWENPERF_API_KEY", raising=False)
    monkeypatch.setenv("DASHSCOPE_API_KEY", "sk-fallback")
    plugin = pytester.parseconfigure().stash[PLUGIN_KEY]
    assert plugin.settings.api_key == "sk-fallback"
    monkeypatch.setenv("QWENPERF_API_KEY", "sk-primary")
    plugin = pytester.parseconfigure().stash[PLUGIN_KEY]
    assert plugin.settings.api_key == "sk-primary"
    assert "sk-primary" not in repr(plugin.settings)


def test_marker_beats_cli_and_run_beats_marker(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        """
        import pytest

        @pytest.mark.qwenperf(requests=3, workers=2)
        def test_layers(qwenperf):
            first = qwenperf.run()
            assert first.n == 3
            assert first.workers == 2
            second = qwenperf.run(requests=2)
            assert second.n == 2
            assert second.workers == 2

        def test_cli_only(qwenperf):
            result = qwenperf.run()
            assert result.n == 4
            assert result.workers == 5
        """
    )
    result = pytester.runpytest(
        "--qwenperf-requests=4", "--qwenperf-workers=5", "--qwenperf-sim-profile=fixed"
    )
    result.assert_outcomes(passed=2)
