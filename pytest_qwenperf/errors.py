"""Exceptions shared by every layer (pytest-free; the plugin translates them)."""

from __future__ import annotations


class ConfigError(ValueError):
    """A configuration value is wrong.

    The message names where the value came from (``"sla marker"``, ``"--qwenperf-sla"``,
    ``"ini qwenperf_sla"``, ...), the value itself (``!r``), what was wrong and how to fix it,
    so the plugin can show it as a usage error or a test error without a traceback.
    """
