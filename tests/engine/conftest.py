"""Engine tests: every test must leave no thread behind (servers and engine alike)."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator

import pytest


def wait_for_threads(before: set[threading.Thread], timeout: float = 5.0) -> set[threading.Thread]:
    """Threads alive now that were not alive before (after waiting up to ``timeout``)."""
    limit = time.monotonic() + timeout
    while True:
        extra = {t for t in threading.enumerate() if t not in before and t.is_alive()}
        if not extra or time.monotonic() >= limit:
            return extra
        time.sleep(0.02)


@pytest.fixture(autouse=True)
def no_thread_left() -> Iterator[None]:
    before = set(threading.enumerate())
    yield
    left = wait_for_threads(before)
    assert not left, f"threads left running: {sorted(t.name for t in left)}"
