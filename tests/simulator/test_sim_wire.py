"""Wire formats and validation with raw HTTP: envelopes, sizes, n, prompt, models, async
lifecycle, cancel, UNKNOWN, timestamps, admin endpoints. Never a 500 for bad input."""

from __future__ import annotations

import re
import time
from typing import Any

import pytest
import requests
from simtest_util import records, t2i_body

from pytest_qwenperf.simulator import Simulator
from pytest_qwenperf.simulator.validation import CURRENT_SIZES, OLDER_SIZES

SYNC = "/api/v1/services/aigc/multimodal-generation/generation"
ASYNC = "/api/v1/services/aigc/text2image/image-synthesis"
OPENAI = "/v1/images/generations"
ASYNC_HEADERS = {"X-DashScope-Async": "enable"}
TIMESTAMP = re.compile(r"^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}\.\d{3}$")


def _dashscope_error(response: requests.Response, status: int, code: str) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["Content-Type"].startswith("application/json")
    body: dict[str, Any] = response.json()
    assert set(body) == {"request_id", "code", "message"}, body
    assert body["code"] == code, body
    assert body["request_id"] == response.headers["x-request-id"]
    return body


@pytest.mark.parametrize("size", CURRENT_SIZES + OLDER_SIZES)
def test_both_dashscope_size_sets_accepted(
    sim: Simulator, http: requests.Session, size: str
) -> None:
    body = http.post(sim.url + SYNC, json=t2i_body(size=size), timeout=10).json()
    width, height = (int(side) for side in size.split("*"))
    assert (body["usage"]["width"], body["usage"]["height"]) == (width, height)
    assert body["output"]["task_metric"] == {"FAILED": 0, "SUCCEEDED": 1, "TOTAL": 1}


def test_default_size_and_extra_parameters_tolerated(
    sim: Simulator, http: requests.Session
) -> None:
    body = t2i_body(size=None, result_format="message", stream=False, seed=42, some_new_flag=1)
    rsp = http.post(sim.url + SYNC, json=body, timeout=10)
    assert rsp.status_code == 200
    assert (rsp.json()["usage"]["width"], rsp.json()["usage"]["height"]) == (1664, 928)
    assert rsp.headers["x-request-id"] == rsp.json()["request_id"]


@pytest.mark.parametrize(
    ("body", "status", "code"),
    [
        (t2i_body(size="1024*1024"), 400, "InvalidParameter"),
        (t2i_body(size="big"), 400, "InvalidParameter"),
        (t2i_body(n=2), 400, "InvalidParameter"),
        (t2i_body(seed=-1), 400, "InvalidParameter"),
        (t2i_body(prompt=""), 400, "InvalidParameter"),
        ({**t2i_body(), "model": "qwen-nonexistent"}, 400, "InvalidParameter"),
        ({**t2i_body(), "model": ""}, 400, "BadRequest.EmptyModel"),
        ({"model": "qwen-image", "parameters": {}}, 400, "BadRequest.EmptyInput"),
        ({**t2i_body(), "parameters": []}, 400, "InvalidParameter"),
        ({"model": "qwen-image", "input": {"messages": []}}, 400, "InvalidParameter"),
        (
            {"model": "qwen-image", "input": {"messages": [{"role": "user", "content": []}]}},
            400,
            "InvalidParameter",
        ),
        (
            {
                "model": "qwen-image",
                "input": {
                    "messages": [{"role": "user", "content": [{"text": "a"}, {"text": "b"}]}]
                },
            },
            400,
            "InvalidParameter",
        ),
        (
            {
                "model": "qwen-image-edit",
                "input": {"messages": [{"role": "user", "content": [{"text": "no image"}]}]},
            },
            400,
            "InvalidParameter",
        ),
        (
            {
                "model": "qwen-image-edit-plus",
                "input": {
                    "messages": [
                        {
                            "role": "user",
                            "content": [*[{"image": "https://x/i.png"}] * 4, {"text": "t"}],
                        }
                    ]
                },
            },
            400,
            "InvalidParameter",
        ),
        ([1, 2, 3], 400, "InvalidParameter"),
    ],
)
def test_sync_validation_envelopes(
    sim: Simulator, http: requests.Session, body: Any, status: int, code: str
) -> None:
    _dashscope_error(http.post(sim.url + SYNC, json=body, timeout=10), status, code)
    (record,) = sim.stats()
    assert (record["outcome"], record["status"], record["error_code"]) == ("invalid", status, code)


def test_malformed_json_and_wrong_paths(sim: Simulator, http: requests.Session) -> None:
    rsp = http.post(sim.url + SYNC, data=b"{not json", timeout=10)
    _dashscope_error(rsp, 400, "InvalidParameter")
    rsp = http.post(sim.url + OPENAI, data=b"\xff\xfe", timeout=10)
    assert rsp.status_code == 400
    assert set(rsp.json()["error"]) == {
        "message",
        "type",
        "param",
        "code",
    }
    _dashscope_error(http.get(sim.url + "/api/v1/nope", timeout=10), 404, "InvalidURL")
    _dashscope_error(http.get(sim.url + SYNC, timeout=10), 405, "InvalidURL")
    rsp = http.post(sim.url + "/v1/images/variations", json={}, timeout=10)
    assert rsp.status_code == 404
    assert "Invalid URL" in rsp.json()["error"]["message"]


def test_async_requires_header_and_async_model(sim: Simulator, http: requests.Session) -> None:
    body = {"model": "qwen-image-plus", "input": {"prompt": "p"}, "parameters": {}}
    denied = _dashscope_error(
        http.post(sim.url + ASYNC, json=body, timeout=10), 403, "AccessDenied"
    )
    assert "synchronous" in denied["message"]
    max_model = {**body, "model": "qwen-image-max"}
    rsp = http.post(sim.url + ASYNC, json=max_model, headers=ASYNC_HEADERS, timeout=10)
    assert "asynchronous" in _dashscope_error(rsp, 403, "AccessDenied")["message"]
    rsp = http.post(sim.url + ASYNC, json={**body, "input": {}}, headers=ASYNC_HEADERS, timeout=10)
    _dashscope_error(rsp, 400, "InvalidParameter")


def _poll(http: requests.Session, sim: Simulator, task_id: str) -> dict[str, Any]:
    rsp = http.get(f"{sim.url}/api/v1/tasks/{task_id}", timeout=10)
    assert rsp.status_code == 200
    body: dict[str, Any] = rsp.json()
    return body


def _submit(http: requests.Session, sim: Simulator, **params: Any) -> str:
    body = {
        "model": "qwen-image",
        "input": {"prompt": "a poster", "negative_prompt": "blur"},
        "parameters": {"size": "1328*1328", "n": 1, **params},
    }
    rsp = http.post(sim.url + ASYNC, json=body, headers=ASYNC_HEADERS, timeout=10)
    assert rsp.status_code == 200, rsp.text
    output = rsp.json()["output"]
    assert output["task_status"] == "PENDING"
    task_id: str = output["task_id"]
    return task_id


def test_async_lifecycle_pending_running_succeeded(make_sim: Any, http: requests.Session) -> None:
    sim = make_sim("fixed", slots=1, median=0.3, time_scale=1.0)
    first = _submit(http, sim)
    second = _submit(http, sim)  # waits behind the first in the FIFO queue
    assert _poll(http, sim, first)["output"]["task_status"] == "RUNNING"
    pending = _poll(http, sim, second)["output"]
    assert pending["task_status"] == "PENDING"
    assert TIMESTAMP.match(pending["submit_time"])
    assert "scheduled_time" not in pending
    seen: list[str] = []
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        body = _poll(http, sim, second)
        status = body["output"]["task_status"]
        if not seen or seen[-1] != status:
            seen.append(status)
        if status == "SUCCEEDED":
            break
        time.sleep(0.05)
    assert seen[-2:] == ["RUNNING", "SUCCEEDED"]
    output = body["output"]
    for key in ("submit_time", "scheduled_time", "end_time"):
        assert TIMESTAMP.match(output[key]), output
    assert output["submit_time"] <= output["scheduled_time"] <= output["end_time"]
    assert output["results"][0]["orig_prompt"] == "a poster"
    assert body["usage"] == {"image_count": 1}
    task = next(r for r in records(sim, "dashscope-async") if r["task_id"] == second)
    # FIFO: the second task started when the first ended
    assert task["queue_wait_s"] == pytest.approx(0.3, abs=0.1)


def test_unknown_task_and_cancel(make_sim: Any, http: requests.Session) -> None:
    sim = make_sim("fixed", slots=1, median=5.0, time_scale=1.0)
    unknown = _poll(http, sim, "no-such-task")
    assert unknown["output"] == {"task_id": "no-such-task", "task_status": "UNKNOWN"}
    running = _submit(http, sim)
    pending = _submit(http, sim)
    rsp = http.post(f"{sim.url}/api/v1/tasks/{running}/cancel", timeout=10)
    _dashscope_error(rsp, 400, "UnsupportedOperation")
    rsp = http.post(f"{sim.url}/api/v1/tasks/{pending}/cancel", timeout=10)
    assert rsp.status_code == 200
    assert _poll(http, sim, pending)["output"]["task_status"] == "CANCELED"
    health = http.get(sim.url + "/_sim/health", timeout=10).json()
    assert (health["running"], health["queued"]) == (1, 0)


def test_openai_validation(sim: Simulator, http: requests.Session) -> None:
    cases = [
        ({"prompt": "x", "n": 0}, 400, "n"),
        ({"prompt": "x", "n": 11}, 400, "n"),
        ({"prompt": "x", "size": "1024*1024"}, 400, "size"),
        ({"prompt": "x", "response_format": "file"}, 400, "response_format"),
        ({"prompt": ""}, 400, "prompt"),
        ({"model": "qwen-image"}, 400, "prompt"),
    ]
    for body, status, param in cases:
        rsp = http.post(sim.url + OPENAI, json=body, timeout=10)
        assert rsp.status_code == status, (body, rsp.text)
        error = rsp.json()["error"]
        assert error["param"] == param
        assert error["type"] == "invalid_request_error"
        assert rsp.headers["x-request-id"]
    ok = http.post(
        sim.url + OPENAI, json={"prompt": "x", "size": "auto", "quality": "hd"}, timeout=10
    )
    assert ok.status_code == 200
    assert ok.json()["data"][0]["url"].endswith("-1.png")


def test_echo_headers_only_when_enabled(make_sim: Any, http: requests.Session) -> None:
    sim = make_sim(api_key="sk-canary-123")
    headers = {"Authorization": "Bearer sk-canary-WRONG"}
    rsp = http.post(sim.url + SYNC, json=t2i_body(), headers=headers, timeout=10)
    assert rsp.status_code == 401
    assert "sk-canary" not in rsp.text
    sim.configure(echo_headers=True)
    rsp = http.post(sim.url + SYNC, json=t2i_body(), headers=headers, timeout=10)
    assert rsp.status_code == 401
    assert "sk-canary-WRONG" in rsp.json()["message"]
    config = http.get(sim.url + "/_sim/config", timeout=10).json()
    assert config["config"]["api_key"] == "***"
    assert "sk-canary-123" not in str(config)


def test_admin_config_and_stats(sim: Simulator, http: requests.Session) -> None:
    rsp = http.post(
        sim.url + "/_sim/config", json={"median": 2.0, "error_5xx_rate": 0.5}, timeout=10
    )
    assert rsp.status_code == 200
    assert rsp.json()["config"]["median"] == 2.0
    assert sim.config.error_5xx_rate == 0.5
    bad = http.post(sim.url + "/_sim/config", json={"medain": 1}, timeout=10)
    assert bad.status_code == 400
    assert "'medain'" in bad.json()["error"]
    bad = http.post(
        sim.url + "/_sim/config", json={"error_5xx_rate": 0.9, "hang_rate": 0.9}, timeout=10
    )
    assert bad.status_code == 400
    assert "sum" in bad.json()["error"]
    http.post(sim.url + SYNC, json=t2i_body(), timeout=10)
    assert len(http.get(sim.url + "/_sim/stats", timeout=10).json()) == 1
    http.delete(sim.url + "/_sim/stats", timeout=10)
    assert http.get(sim.url + "/_sim/stats", timeout=10).json() == []
    with pytest.raises(ValueError, match="'bogus'"):
        sim.configure(bogus=1)
    with pytest.raises(ValueError, match="'slots'"):
        Simulator(slots=-1)
    with pytest.raises(ValueError, match="profile"):
        Simulator("nope")
