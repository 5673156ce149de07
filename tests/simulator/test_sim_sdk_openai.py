"""The official openai SDK (``base_url=sim.url + "/v1"``) works unchanged, errors included:
``images.generate`` and ``images.edit`` (multipart upload)."""

from __future__ import annotations

import base64
from pathlib import Path

import openai
import pytest
import requests
from simtest_util import decode_png, records

from pytest_qwenperf.simulator import Simulator
from pytest_qwenperf.simulator.png import png_bytes

KEY = "sk-openai-sim-key"


@pytest.fixture
def client(make_sim: object) -> openai.OpenAI:
    sim = make_sim(api_key=KEY)  # type: ignore[operator]
    client = openai.OpenAI(base_url=sim.url + "/v1", api_key=KEY, max_retries=0, timeout=30)
    client.sim = sim  # type: ignore[attr-defined]
    return client


def _sim(client: openai.OpenAI) -> Simulator:
    sim: Simulator = client.sim  # type: ignore[attr-defined]
    return sim


def test_generate_url(client: openai.OpenAI, http: requests.Session) -> None:
    result = client.images.generate(model="qwen-image", prompt="a red fox", size="1024x768", n=2)
    assert len(result.data) == 2
    for item in result.data:
        assert item.url is not None
        assert item.b64_json is None
        assert decode_png(http.get(item.url, timeout=10).content).shape == (768, 1024, 3)
    (record,) = records(_sim(client), "openai")
    assert record["request_id"] == result._request_id  # joined through x-request-id
    assert (record["width"], record["height"], record["n"]) == (1024, 768, 2)


def test_generate_b64_json(client: openai.OpenAI) -> None:
    result = client.images.generate(
        model="Qwen/Qwen-Image", prompt="a red fox", size="512x256", response_format="b64_json"
    )
    (item,) = result.data
    assert item.url is None
    assert item.b64_json is not None
    assert decode_png(base64.b64decode(item.b64_json)).shape == (256, 512, 3)


def test_wrong_key_is_authentication_error(client: openai.OpenAI) -> None:
    bad = openai.OpenAI(base_url=str(client.base_url), api_key="sk-wrong", max_retries=0)
    with pytest.raises(openai.AuthenticationError) as info:
        bad.images.generate(model="qwen-image", prompt="x")
    assert info.value.status_code == 401
    assert info.value.code == "invalid_api_key"
    assert "sk-wrong" not in str(info.value)  # the key is never echoed by default
    bad.close()


def test_bad_size_is_bad_request(client: openai.OpenAI) -> None:
    with pytest.raises(openai.BadRequestError) as info:
        client.images.generate(model="qwen-image", prompt="x", size="12x12")  # type: ignore[arg-type]
    assert info.value.status_code == 400
    assert info.value.param == "size"


def test_missing_prompt_and_unknown_model(client: openai.OpenAI) -> None:
    with pytest.raises(openai.BadRequestError) as info:
        client.post("/images/generations", body={"model": "qwen-image"}, cast_to=object)
    assert info.value.param == "prompt"
    with pytest.raises(openai.NotFoundError) as missing:
        client.images.generate(model="dall-e-3", prompt="x")
    assert missing.value.code == "model_not_found"


def test_server_error_and_throttling(client: openai.OpenAI) -> None:
    sim = _sim(client)
    sim.configure(error_5xx_rate=1.0)
    with pytest.raises(openai.InternalServerError) as info:
        client.images.generate(model="qwen-image", prompt="x")
    assert info.value.status_code == 500
    sim.configure(error_5xx_rate=0.0, slots=1, max_queue=0)
    # forced hang holds no slot, so occupy the slot with a slow generation instead
    sim.configure(median=200.0, time_scale=0.01)
    slow = openai.OpenAI(base_url=str(client.base_url), api_key=KEY, max_retries=0, timeout=0.5)
    with pytest.raises(openai.APITimeoutError):
        slow.images.generate(model="qwen-image", prompt="occupies the only slot")
    slow.close()
    with pytest.raises(openai.RateLimitError) as limited:
        client.images.generate(model="qwen-image", prompt="x")
    assert limited.value.status_code == 429
    assert limited.value.response.headers["Retry-After"] == "1"
    outcomes = [r["outcome"] for r in sim.stats()]
    assert outcomes == ["fault", "disconnected", "throttled"]


# --- images.edit: multipart POST /v1/images/edits ----------------------------------------------

EDIT_INPUT = png_bytes(32, 24)


def test_edit_one_image_from_a_file(
    client: openai.OpenAI, http: requests.Session, tmp_path: Path
) -> None:
    path = tmp_path / "input.png"
    path.write_bytes(EDIT_INPUT)
    with path.open("rb") as image:
        result = client.images.edit(
            model="qwen-image-edit", image=image, prompt="make the cat orange"
        )
    (item,) = result.data
    assert item.url is not None
    assert item.b64_json is None
    assert decode_png(http.get(item.url, timeout=10).content).shape == (1024, 1024, 3)
    (record,) = records(_sim(client), "openai")
    assert record["request_id"] == result._request_id
    assert (record["path"], record["model"], record["images"]) == (
        "/v1/images/edits",
        "qwen-image-edit",
        1,
    )


def test_edit_two_images_as_a_list(client: openai.OpenAI) -> None:
    # the SDK sends a list as repeated image[] parts
    result = client.images.edit(
        model="Qwen/Qwen-Image-Edit-2511",
        image=[("a.png", EDIT_INPUT), ("b.png", EDIT_INPUT)],
        prompt="put the cat of image 1 on the sofa of image 2",
        n=2,
        size="512x768",
        response_format="b64_json",
    )
    assert len(result.data) == 2
    for item in result.data:
        assert item.b64_json is not None
        assert decode_png(base64.b64decode(item.b64_json)).shape == (768, 512, 3)
    (record,) = records(_sim(client), "openai")
    assert (record["images"], record["n"], record["width"]) == (2, 2, 512)


def test_edit_raw_bytes(client: openai.OpenAI) -> None:
    result = client.images.edit(model="qwen-image-edit-plus", image=EDIT_INPUT, prompt="x")
    assert result.data[0].url is not None


def test_edit_bad_image_unknown_model_and_auth(client: openai.OpenAI) -> None:
    with pytest.raises(openai.BadRequestError) as info:
        client.images.edit(model="qwen-image-edit", image=("a.png", b"GIF89a..."), prompt="x")
    assert info.value.status_code == 400
    assert info.value.param == "image"
    assert info.value.code == "invalid_image_format"
    with pytest.raises(openai.BadRequestError) as size:
        client.images.edit(model="qwen-image-edit", image=EDIT_INPUT, prompt="x", size="1x1")
    assert size.value.param == "size"
    with pytest.raises(openai.NotFoundError) as missing:
        client.images.edit(model="dall-e-2", image=EDIT_INPUT, prompt="x")
    assert missing.value.code == "model_not_found"
    bad = openai.OpenAI(base_url=str(client.base_url), api_key="sk-wrong", max_retries=0)
    with pytest.raises(openai.AuthenticationError):
        bad.images.edit(model="qwen-image-edit", image=EDIT_INPUT, prompt="x")
    bad.close()
    sim = _sim(client)
    sim.configure(error_5xx_rate=1.0)
    with pytest.raises(openai.InternalServerError):
        client.images.edit(model="qwen-image-edit", image=EDIT_INPUT, prompt="x")
    outcomes = [r["outcome"] for r in records(sim, "openai")]
    assert outcomes == ["invalid", "invalid", "invalid", "unauthorized", "fault"]
