"""Report tests never append to a real GitHub job summary (CI sets GITHUB_STEP_SUMMARY)."""

from __future__ import annotations

import pytest


@pytest.fixture(autouse=True)
def _no_real_step_summary(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("GITHUB_STEP_SUMMARY", raising=False)
