"""The official dashscope SDK, pointed at the simulator by ``dashscope.base_http_api_url``,
works unchanged: sync text-to-image and edit, async submit + poll, and its error paths."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from http import HTTPStatus

import dashscope
import pytest
import requests
from dashscope.common.error import InvalidTask
from simtest_util import decode_png, records, t2i_body

from pytest_qwenperf.simulator import Simulator

KEY = "sk-sim-test-key"
MESSAGES = [{"role": "user", "content": [{"text": "an orange cat sitting on a sofa"}]}]


@pytest.fixture
def keyed(make_sim: object) -> Iterator[Simulator]:
    """A simulator that requires KEY, with the SDK pointed at it."""
    sim = make_sim(api_key=KEY)  # type: ignore[operator]
    previous = dashscope.base_http_api_url
    dashscope.base_http_api_url = sim.url + "/api/v1"
    try:
        yield sim
    finally:
        dashscope.base_http_api_url = previous


def test_sync_text_to_image(keyed: Simulator, http: requests.Session) -> None:
    rsp = dashscope.MultiModalConversation.call(
        api_key=KEY,
        model="qwen-image-plus",
        messages=MESSAGES,
        result_format="message",
        stream=False,
        watermark=False,
        prompt_extend=True,
        negative_prompt="blurry",
        size="1328*1328",
    )
    assert rsp.status_code == HTTPStatus.OK, rsp
    url = rsp.output.choices[0].message.content[0]["image"]
    assert rsp.usage["width"] == 1328
    assert rsp.usage["height"] == 1328
    assert url.endswith(f"/{rsp.request_id}-1.png")
    image = http.get(url, timeout=10)
    assert image.headers["Content-Type"] == "image/png"
    assert decode_png(image.content).shape == (1328, 1328, 3)
    (record,) = records(keyed, "dashscope")
    assert record["request_id"] == rsp.request_id
    assert record["outcome"] == "ok"
    assert record["status"] == 200
    assert record["images"] == 0  # text-to-image: no input image


def test_sync_image_edit_with_three_images(keyed: Simulator) -> None:
    content = [
        {"image": "https://example.invalid/input1.png"},
        {"image": "https://example.invalid/input2.png"},
        {"image": "data:image/png;base64,iVBORw0KGgo="},
        {"text": "the girl of image 1 wears the dress of image 2 in the pose of image 3"},
    ]
    rsp = dashscope.MultiModalConversation.call(
        api_key=KEY,
        model="qwen-image-edit-plus",
        messages=[{"role": "user", "content": content}],
        n=2,
        size="1024*1536",
        watermark=False,
    )
    assert rsp.status_code == HTTPStatus.OK, rsp
    images = rsp.output.choices[0].message.content
    assert [list(item) for item in images] == [["image"], ["image"]]
    assert rsp.usage["image_count"] == 2
    assert (rsp.usage["width"], rsp.usage["height"]) == (1024, 1536)
    (record,) = records(keyed, "dashscope")
    assert (record["images"], record["n"]) == (3, 2)  # input images, output images


def test_async_submit_and_poll(keyed: Simulator, http: requests.Session) -> None:
    # the SDK polls at once, then after 1 s: at time_scale 0.001 the task is done by then
    rsp = dashscope.ImageSynthesis.call(
        api_key=KEY, model="qwen-image-plus", prompt="a healing hand-drawn poster", size="1664*928"
    )
    assert rsp.status_code == HTTPStatus.OK, rsp
    assert rsp.output.task_status == "SUCCEEDED"
    (result,) = rsp.output.results
    assert result.url.endswith(".png")
    assert decode_png(http.get(result.url, timeout=10).content).shape == (928, 1664, 3)
    (task,) = records(keyed, "dashscope-async")
    assert task["task_id"] == rsp.output.task_id
    assert task["task_status"] == "SUCCEEDED"
    assert task["polls"] >= 1
    assert task["final_poll"] >= task["gen_end"] >= task["gen_start"] >= task["arrival"]
    polls = records(keyed, "dashscope-async-poll")
    assert [p["task_id"] for p in polls] == [task["task_id"]] * len(polls)


def test_wrong_key_is_401_invalid_api_key(keyed: Simulator) -> None:
    rsp = dashscope.MultiModalConversation.call(
        api_key="sk-wrong", model="qwen-image-plus", messages=MESSAGES
    )
    assert rsp.status_code == 401
    assert rsp.code == "InvalidApiKey"
    assert rsp.message == "Invalid API-key provided."
    assert rsp.request_id
    with pytest.raises(InvalidTask):
        dashscope.ImageSynthesis.call(api_key="sk-wrong", model="qwen-image-plus", prompt="x")
    assert {r["outcome"] for r in keyed.stats()} == {"unauthorized"}


def test_bad_size_is_400_invalid_parameter(keyed: Simulator) -> None:
    rsp = dashscope.MultiModalConversation.call(
        api_key=KEY, model="qwen-image-plus", messages=MESSAGES, size="1024*1024"
    )
    assert rsp.status_code == 400
    assert rsp.code == "InvalidParameter"
    assert "1328*1328" in rsp.message  # names the allowed sizes


def test_internal_error_is_500(keyed: Simulator) -> None:
    keyed.configure(error_5xx_rate=1.0)
    rsp = dashscope.MultiModalConversation.call(
        api_key=KEY, model="qwen-image-plus", messages=MESSAGES
    )
    assert rsp.status_code == 500
    assert rsp.code == "InternalError"
    (record,) = keyed.stats()
    assert (record["fault"], record["status"], record["outcome"]) == ("error_5xx", 500, "fault")


def test_task_failed(keyed: Simulator) -> None:
    keyed.configure(task_failed_rate=1.0)
    rsp = dashscope.ImageSynthesis.call(api_key=KEY, model="qwen-image", prompt="a poster")
    assert rsp.status_code == HTTPStatus.OK
    assert rsp.output.task_status == "FAILED"
    assert rsp.output.code == "InternalError.Algo"
    assert rsp.output.message
    (task,) = records(keyed, "dashscope-async")
    assert (task["fault"], task["task_status"]) == ("task_failed", "FAILED")


def test_throttling_429_with_retry_after(make_sim: object, http: requests.Session) -> None:
    # one slot, no queue: while one generation runs, the next request is refused
    sim = make_sim("overloaded", slots=1, max_queue=0, time_scale=0.05)  # type: ignore[operator]
    busy = threading.Thread(
        target=http.post,
        args=(sim.url + "/api/v1/services/aigc/multimodal-generation/generation",),
        kwargs={"json": t2i_body(), "timeout": 30},
    )
    busy.start()
    try:
        _wait_running(http, sim)
        previous = dashscope.base_http_api_url
        dashscope.base_http_api_url = sim.url + "/api/v1"
        try:
            rsp = dashscope.MultiModalConversation.call(
                api_key=KEY, model="qwen-image-plus", messages=MESSAGES
            )
        finally:
            dashscope.base_http_api_url = previous
        assert rsp.status_code == 429
        assert rsp.code == "Throttling"
        raw = http.post(
            sim.url + "/api/v1/services/aigc/multimodal-generation/generation",
            json=t2i_body(),
            timeout=10,
        )
        assert raw.status_code == 429
        assert int(raw.headers["Retry-After"]) >= 1
        assert raw.headers["retry-after-ms"] == "100"  # overloaded retry_after 2 s x 0.05
    finally:
        busy.join(30)
    throttled = [r for r in sim.stats() if r["outcome"] == "throttled"]
    assert len(throttled) == 2
    assert {r["status"] for r in throttled} == {429}


def _wait_running(http: requests.Session, sim: Simulator) -> None:
    for _ in range(500):
        if http.get(sim.url + "/_sim/health", timeout=5).json()["running"] >= 1:
            return
        threading.Event().wait(0.01)
    raise AssertionError("the first generation never started")
