"""Every fault kind is reachable (by rate and by the X-Sim-Fault header), looks on the wire
like what it models, and shows up in the ground truth. Hung requests never block stop()."""

from __future__ import annotations

import contextlib
import json
import threading
import time
from collections.abc import Callable
from typing import Any

import pytest
import requests
from simtest_util import t2i_body

from pytest_qwenperf.simulator import FAULTS, FORCE_HEADER, Simulator

SYNC = "/api/v1/services/aigc/multimodal-generation/generation"
ASYNC = "/api/v1/services/aigc/text2image/image-synthesis"
OPENAI = "/v1/images/generations"
ASYNC_BODY = {"model": "qwen-image-plus", "input": {"prompt": "p"}, "parameters": {}}


def _wait_for(check: Callable[[], bool], timeout: float = 5.0) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            raise AssertionError("condition not reached in time")
        time.sleep(0.01)


def _expect_wire(fault: str, send: Callable[..., requests.Response], api: str) -> None:
    """Send one request and check the client-side picture of ``fault``."""
    if fault == "hang":
        with pytest.raises(requests.ReadTimeout):
            send(timeout=0.3)
        return
    if fault == "reset":
        with pytest.raises(requests.exceptions.RequestException):
            send(timeout=10)
        return
    rsp = send(timeout=10)
    if fault in ("gateway_502", "gateway_503", "gateway_504"):
        assert rsp.status_code == int(fault[-3:])
        assert rsp.headers["Content-Type"].startswith("text/html")
        with pytest.raises(json.JSONDecodeError):
            json.loads(rsp.content)
    elif fault == "error_5xx":
        assert rsp.status_code == 500
        body = rsp.json()
        assert (body["error"]["type"] if api == "openai" else body["code"]) in (
            "server_error",
            "InternalError",
        )
    elif fault == "data_inspection":
        assert rsp.status_code == 400
        body = rsp.json()
        code = body["error"]["code"] if api == "openai" else body["code"]
        assert code in ("content_policy_violation", "DataInspectionFailed")
    elif fault == "malformed_json":
        assert rsp.status_code == 200
        with pytest.raises(json.JSONDecodeError):
            json.loads(rsp.content)
    elif fault == "no_image":
        assert rsp.status_code == 200
        body = rsp.json()
        if api == "openai":
            assert body["data"] == []
        else:
            assert body["output"]["choices"][0]["message"]["content"] == []
    elif fault == "slow_drip":
        assert rsp.status_code == 200
        assert rsp.json()  # complete and valid, only slow
    else:
        raise AssertionError(f"untested fault {fault}")


SYNC_FAULTS = [f for f in FAULTS if f != "task_failed"]


@pytest.mark.parametrize("fault", SYNC_FAULTS)
@pytest.mark.parametrize("api", ["dashscope", "openai"])
def test_sync_fault_by_rate(make_sim: Any, http: requests.Session, fault: str, api: str) -> None:
    sim: Simulator = make_sim(**{f"{fault}_rate": 1.0, "drip_interval_s": 0.5})
    path, body = (OPENAI, {"prompt": "x"}) if api == "openai" else (SYNC, t2i_body())

    def send(**kw: Any) -> requests.Response:
        return http.post(sim.url + path, json=body, **kw)

    _expect_wire(fault, send, api)
    _wait_for(lambda: sim.stats()[0]["status"] is not None or sim.stats()[0]["disconnected"])
    (record,) = sim.stats()
    assert (record["api"], record["fault"], record["outcome"]) == (api, fault, "fault")
    if fault in ("hang", "reset"):
        assert record["status"] is None
        assert record["disconnected"] is not None
    if fault in ("error_5xx", "gateway_504", "malformed_json", "no_image", "slow_drip", "reset"):
        assert record["gen_end"] is not None  # acted out after the generation
    if fault == "slow_drip":
        # ~300 bytes at 0.5 ms each: the body took a while to arrive
        assert record["server_s"] > record["generation_s"] + 0.05


@pytest.mark.parametrize("fault", FAULTS)
def test_async_fault_by_header(sim: Simulator, http: requests.Session, fault: str) -> None:
    headers = {"X-DashScope-Async": "enable", FORCE_HEADER: fault}

    def send(**kw: Any) -> requests.Response:
        return http.post(sim.url + ASYNC, json=ASYNC_BODY, headers=headers, **kw)

    if fault in ("task_failed", "no_image"):
        task_id = send(timeout=10).json()["output"]["task_id"]
        _wait_for(lambda: sim.stats()[0]["task_status"] in ("FAILED", "SUCCEEDED"))
        output = http.get(f"{sim.url}/api/v1/tasks/{task_id}", timeout=10).json()["output"]
        if fault == "task_failed":
            assert output["task_status"] == "FAILED"
            assert output["code"]
        else:
            assert output["task_status"] == "SUCCEEDED"
            assert output["results"] == []
    else:
        _expect_wire(fault, send, "dashscope")
    _wait_for(lambda: sim.stats()[0]["status"] is not None or sim.stats()[0]["disconnected"])
    record = sim.stats()[0]
    assert (record["api"], record["fault"], record["outcome"]) == (
        "dashscope-async",
        fault,
        "fault",
    )


def test_forced_none_and_unknown_fault_name(make_sim: Any, http: requests.Session) -> None:
    sim: Simulator = make_sim(error_5xx_rate=1.0)
    ok = http.post(sim.url + SYNC, json=t2i_body(), headers={FORCE_HEADER: "none"}, timeout=10)
    assert ok.status_code == 200
    bad = http.post(
        sim.url + SYNC, json=t2i_body(), headers={FORCE_HEADER: "task_failed"}, timeout=10
    )
    assert bad.status_code == 400
    assert "X-Sim-Fault" in bad.json()["message"]


def test_stop_returns_promptly_with_hung_requests(make_sim: Any) -> None:
    sim: Simulator = make_sim(hang_rate=1.0)
    errors: list[BaseException] = []

    def client() -> None:
        try:
            requests.post(sim.url + SYNC, json=t2i_body(), timeout=30)
        except requests.RequestException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=client) for _ in range(5)]
    for thread in threads:
        thread.start()
    _wait_for(lambda: len(sim.stats()) == 5)
    started = time.monotonic()
    sim.stop()
    assert time.monotonic() - started < 3.0
    for thread in threads:
        thread.join(10)
    assert len(errors) == 5  # each client saw its connection end, none hangs on
    sim.stop()  # idempotent


def test_hang_is_capped_by_hang_max(make_sim: Any, http: requests.Session) -> None:
    sim: Simulator = make_sim(hang_rate=1.0, hang_max_s=0.2)
    started = time.monotonic()
    with pytest.raises(requests.exceptions.ConnectionError):
        http.post(sim.url + SYNC, json=t2i_body(), timeout=10)
    assert time.monotonic() - started < 5.0


def test_flaky_profile_mixes_faults_reproducibly(make_sim: Any, http: requests.Session) -> None:
    def faults_of(sim: Simulator) -> list[str | None]:
        with requests.Session() as session:
            for _ in range(40):
                with contextlib.suppress(requests.RequestException):
                    session.post(sim.url + SYNC, json=t2i_body(), timeout=0.5)
        return [r["fault"] for r in sim.stats()]

    flaky = {"error_5xx_rate": 0.1, "gateway_502_rate": 0.1, "no_image_rate": 0.1}
    fast = {"time_scale": 0.0001, **flaky}
    first = faults_of(make_sim(seed=7, **fast))
    second = faults_of(make_sim(seed=7, **fast))
    other = faults_of(make_sim(seed=8, **fast))
    assert first == second
    assert first != other
    assert {"error_5xx", "gateway_502", "no_image", None} == set(first)
