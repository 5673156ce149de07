"""The README stays true: every option, ini key, metric and outcome class is documented."""

from __future__ import annotations

from pathlib import Path

import pytest

from pytest_qwenperf.metrics.result import METRIC_NAMES
from pytest_qwenperf.metrics.sample import Outcome
from pytest_qwenperf.settings import MARKER_KEYS, OPTIONS, OptionSpec

README = (Path(__file__).parent.parent / "README.md").read_text(encoding="utf-8")


@pytest.mark.parametrize("spec", OPTIONS, ids=lambda spec: spec.key)
def test_every_option_is_in_the_readme_and_states_its_default(spec: OptionSpec) -> None:
    option = spec.option
    assert f"`{option}" in README, f"{option} is not documented in README.md"
    assert "Default" in spec.help, f"{option}'s help does not state its default"


def test_metrics_outcomes_and_marker_keywords_are_documented() -> None:
    for name in METRIC_NAMES:
        assert name in README, name
    for outcome in Outcome:
        assert f"`{outcome.value}`" in README, outcome
    for key in MARKER_KEYS:
        assert f"{key}=" in README, key


def test_readme_marks_the_two_commands_ci_runs() -> None:
    for block in ("main-command", "test-command"):
        assert f"<!-- {block} -->" in README
        assert f"<!-- /{block} -->" in README
