"""The embedded Qwen-Image simulator: DashScope sync, DashScope async tasks and OpenAI images
over real HTTP on loopback, with a GPU queue model, fault injection and ground truth.

    from pytest_qwenperf.simulator import Simulator

    with Simulator(profile="healthy", time_scale=0.01, seed=1) as sim:
        ...  # DashScope base: sim.url + "/api/v1"; OpenAI base: sim.url + "/v1"
        sim.stats()

No pytest import here: the simulator is a library and the ``qwenperf sim`` command.
"""

from __future__ import annotations

from pytest_qwenperf.simulator.config import FAULTS, PROFILES, SimConfig, build_config
from pytest_qwenperf.simulator.faults import FORCE_HEADER
from pytest_qwenperf.simulator.server import Simulator
from pytest_qwenperf.simulator.state import RECORD_KEYS

__all__ = [
    "FAULTS",
    "FORCE_HEADER",
    "PROFILES",
    "RECORD_KEYS",
    "SimConfig",
    "Simulator",
    "build_config",
]
