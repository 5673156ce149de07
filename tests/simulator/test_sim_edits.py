"""``POST /v1/images/edits`` on the wire (requests, multipart via ``files=``): fields, image
parts, limits, every refusal with its status and envelope, auth, faults, the service model
and the ground truth."""

from __future__ import annotations

import base64
import socket
import struct
import time
from collections.abc import Iterator
from typing import Any

import pytest
import requests
from simtest_util import decode_png, records

from pytest_qwenperf.simulator import Simulator
from pytest_qwenperf.simulator.form import MAX_FORM_BYTES
from pytest_qwenperf.simulator.png import png_bytes
from pytest_qwenperf.simulator.validation import EDIT_MAX_IMAGE_BYTES, EDIT_MAX_IMAGES

EDITS = "/v1/images/edits"
GENERATIONS = "/v1/images/generations"
KEY = "sk-edit-sim-key"
PNG = png_bytes(16, 12)
#: only the magic bytes matter to the format check
JPEG = b"\xff\xd8\xff\xe0\x00\x10JFIF\x00\x01" + bytes(64)
WEBP = b"RIFF" + struct.pack("<I", 76) + b"WEBPVP8 " + bytes(64)
GIF = b"GIF89a" + bytes(64)

Files = list[tuple[str, tuple[str, bytes]]]


def _files(*images: bytes, name: str = "image[]") -> Files:
    return [(name, (f"in-{i}.png", data)) for i, data in enumerate(images, 1)]


def _edit(
    http: requests.Session,
    sim: Simulator,
    files: Files | None = None,
    headers: dict[str, str] | None = None,
    **fields: str,
) -> requests.Response:
    fields.setdefault("prompt", "make the sky purple")
    return http.post(
        sim.url + EDITS,
        data=fields,
        files=_files(PNG, name="image") if files is None else files,
        headers=headers,
        timeout=30,
    )


def _openai_error(rsp: requests.Response, status: int, param: str | None) -> dict[str, Any]:
    assert rsp.status_code == status, rsp.text
    assert rsp.headers["Content-Type"].startswith("application/json")
    assert rsp.headers["x-request-id"]
    assert "Traceback" not in rsp.text
    body = rsp.json()
    assert set(body) == {"error"}
    error: dict[str, Any] = body["error"]
    assert set(error) == {"message", "type", "param", "code"}
    assert error["param"] == param, error
    assert error["message"]
    return error


def test_single_image_url_response_and_ground_truth(sim: Simulator, http: requests.Session) -> None:
    rsp = _edit(http, sim, model="qwen-image-edit", size="640x480")
    assert rsp.status_code == 200, rsp.text
    body = rsp.json()
    assert set(body) == {"created", "data"}
    assert isinstance(body["created"], int)
    (item,) = body["data"]
    assert item["b64_json"] is None
    assert item["revised_prompt"] is None
    request_id = rsp.headers["x-request-id"]
    assert item["url"].endswith(f"/640x480/{request_id}-1.png")
    image = http.get(item["url"], timeout=10)
    assert image.headers["Content-Type"] == "image/png"
    assert decode_png(image.content).shape == (480, 640, 3)
    (record,) = records(sim)
    expected = {
        "request_id": request_id,
        "api": "openai",
        "method": "POST",
        "path": EDITS,
        "model": "qwen-image-edit",
        "status": 200,
        "outcome": "ok",
        "fault": None,
        "error_code": None,
        "width": 640,
        "height": 480,
        "n": 1,
        "images": 1,
        "prompt_chars": len("make the sky purple"),
    }
    assert {key: record[key] for key in expected} == expected
    assert record["drawn_generation_s"] > 0
    assert record["generation_s"] == pytest.approx(record["drawn_generation_s"], abs=0.05)
    assert record["arrival"] <= record["gen_start"] <= record["gen_end"] <= record["sent"]


def test_repeated_image_brackets_all_formats_b64_json(
    sim: Simulator, http: requests.Session
) -> None:
    rsp = _edit(
        http,
        sim,
        files=_files(PNG, JPEG, WEBP),
        model="Qwen/Qwen-Image-Edit-2511",
        n="2",
        size="512x256",
        response_format="b64_json",
    )
    assert rsp.status_code == 200, rsp.text
    data = rsp.json()["data"]
    assert len(data) == 2
    for item in data:
        assert item["url"] is None
        assert decode_png(base64.b64decode(item["b64_json"])).shape == (256, 512, 3)
    (record,) = records(sim)
    assert (record["model"], record["images"], record["n"]) == ("Qwen/Qwen-Image-Edit-2511", 3, 2)


def test_repeated_plain_image_field_and_auto_size(sim: Simulator, http: requests.Session) -> None:
    rsp = _edit(http, sim, files=_files(PNG, PNG, name="image"), size="auto")
    assert rsp.status_code == 200, rsp.text
    (item,) = rsp.json()["data"]
    assert "/1024x1024/" in item["url"]
    (record,) = records(sim)
    # no model field: the default edit model
    assert (record["model"], record["images"]) == ("qwen-image-edit", 2)
    assert (record["width"], record["height"]) == (1024, 1024)


@pytest.mark.parametrize(
    "model",
    ["qwen-image-edit", "qwen-image-edit-plus", "qwen-image-edit-max", "Qwen/Qwen-Image-Edit-2511"],
)
def test_edit_models_accepted(sim: Simulator, http: requests.Session, model: str) -> None:
    rsp = _edit(http, sim, model=model)
    assert rsp.status_code == 200, rsp.text
    assert records(sim)[0]["model"] == model


def test_extra_fields_mask_and_unknown_parts_are_tolerated(
    sim: Simulator, http: requests.Session
) -> None:
    files = [
        *_files(PNG, name="image"),
        ("mask", ("mask.png", PNG)),
        ("markup", ("notes.bin", b"\x00\xff" * 100)),
    ]
    rsp = _edit(
        http,
        sim,
        files=files,
        negative_prompt="blurry",
        seed="42",
        num_inference_steps="8",
        guidance_scale="4.0",
        quality="high",
    )
    assert rsp.status_code == 200, rsp.text
    assert records(sim)[0]["images"] == 1  # the mask is not an input image


TOO_MANY = _files(*[PNG] * (EDIT_MAX_IMAGES + 1))


@pytest.mark.parametrize(
    ("fields", "files", "param", "code"),
    [
        pytest.param(
            {"prompt": None}, None, "prompt", "missing_required_parameter", id="no-prompt"
        ),
        pytest.param({"prompt": "  "}, None, "prompt", "invalid_value", id="blank-prompt"),
        pytest.param({}, [], "image", "missing_required_parameter", id="no-image"),
        pytest.param({}, [("image", ("in.png", GIF))], "image", "invalid_image_format", id="gif"),
        pytest.param(
            {}, _files(PNG, b"just text"), "image", "invalid_image_format", id="text-as-image"
        ),
        pytest.param({}, [("image", ("in.png", b""))], "image", "invalid_image_format", id="empty"),
        pytest.param({}, TOO_MANY, "image", "too_many_images", id="17-images"),
        pytest.param({"n": "0"}, None, "n", "invalid_value", id="n-0"),
        pytest.param({"n": "11"}, None, "n", "invalid_value", id="n-11"),
        pytest.param({"n": "two"}, None, "n", "invalid_value", id="n-text"),
        pytest.param({"size": "1024*1024"}, None, "size", "invalid_value", id="size-star"),
        pytest.param({"size": "128x128"}, None, "size", "invalid_value", id="size-small"),
        pytest.param(
            {"response_format": "file"}, None, "response_format", "invalid_value", id="format"
        ),
    ],
)
def test_validation_errors(
    sim: Simulator,
    http: requests.Session,
    fields: dict[str, str | None],
    files: Files | None,
    param: str,
    code: str,
) -> None:
    data = {"prompt": "edit it", **fields}
    parts: list[tuple[str, tuple[str | None, bytes | str]]] = [
        (key, (None, value)) for key, value in data.items() if value is not None
    ]  # text fields as parts, so that a request without images is multipart too
    parts += _files(PNG, name="image") if files is None else files
    rsp = http.post(sim.url + EDITS, files=parts, timeout=30)
    error = _openai_error(rsp, 400, param)
    assert error["type"] == "invalid_request_error"
    assert error["code"] == code
    (record,) = records(sim)
    assert (record["status"], record["outcome"]) == (400, "invalid")
    assert record["drawn_generation_s"] is None  # refused before any GPU time


def test_not_multipart_bodies(sim: Simulator, http: requests.Session) -> None:
    rsp = http.post(sim.url + EDITS, json={"prompt": "x", "image": "data:..."}, timeout=10)
    error = _openai_error(rsp, 400, None)
    assert "multipart/form-data" in error["message"]
    assert "application/json" in error["message"]
    rsp = http.post(sim.url + EDITS, data=b"prompt=x", timeout=10)  # no Content-Type at all
    assert "multipart/form-data" in _openai_error(rsp, 400, None)["message"]
    rsp = http.post(
        sim.url + EDITS, data={"prompt": "x"}, timeout=10
    )  # application/x-www-form-urlencoded
    assert "multipart/form-data" in _openai_error(rsp, 400, None)["message"]
    assert [r["outcome"] for r in records(sim)] == ["invalid"] * 3


@pytest.mark.parametrize(
    ("content_type", "body"),
    [
        pytest.param("multipart/form-data", b"--x\r\n\r\n", id="no-boundary"),
        pytest.param("multipart/form-data; boundary=xyz", b"garbage", id="no-start-boundary"),
        pytest.param(
            "multipart/form-data; boundary=xyz",
            b'--xyz\r\nContent-Disposition: form-data; name="prompt"\r\n\r\nhello',
            id="truncated",
        ),
        pytest.param(
            "multipart/form-data; boundary=xyz",
            b"--xyz\r\n" + b"X-Long: " + b"a" * 20_000 + b"\r\n\r\nx\r\n--xyz--\r\n",
            id="header-too-long",
        ),
        pytest.param("multipart/form-data; boundary=xyz", b"", id="empty"),
    ],
)
def test_malformed_multipart_is_400(
    sim: Simulator, http: requests.Session, content_type: str, body: bytes
) -> None:
    rsp = http.post(sim.url + EDITS, data=body, headers={"Content-Type": content_type}, timeout=10)
    error = _openai_error(rsp, 400, None)
    assert error["type"] == "invalid_request_error"
    # the server is still well after it
    assert _edit(http, sim).status_code == 200


def test_unknown_and_text_to_image_models_are_404(sim: Simulator, http: requests.Session) -> None:
    for model in ("dall-e-2", "qwen-image", "qwen-image-plus", "Qwen/Qwen-Image"):
        error = _openai_error(_edit(http, sim, model=model), 404, None)
        assert error["code"] == "model_not_found"
        assert model in error["message"]
        assert "qwen-image-edit" in error["message"]  # says which models this endpoint takes
    # and generations does not take an edit model
    rsp = http.post(
        sim.url + GENERATIONS, json={"prompt": "x", "model": "qwen-image-edit"}, timeout=10
    )
    assert _openai_error(rsp, 404, None)["code"] == "model_not_found"


def test_auth_like_generations(make_sim: Any, http: requests.Session) -> None:
    sim = make_sim(api_key=KEY)
    for headers in ({}, {"Authorization": "Bearer sk-wrong"}, {"Authorization": KEY}):
        error = _openai_error(_edit(http, sim, headers=headers), 401, None)
        assert error["code"] == "invalid_api_key"
        assert "sk-wrong" not in error["message"]
    ok = _edit(http, sim, headers={"Authorization": f"Bearer {KEY}"})
    assert ok.status_code == 200, ok.text
    assert [r["outcome"] for r in records(sim)] == ["unauthorized"] * 3 + ["ok"]


def test_image_over_50_mib_is_400(sim: Simulator, http: requests.Session) -> None:
    big = PNG + bytes(EDIT_MAX_IMAGE_BYTES + 1 - len(PNG))
    error = _openai_error(_edit(http, sim, files=_files(big, name="image")), 400, "image")
    assert error["code"] == "image_too_large"
    assert "50 MiB" in error["message"]
    exactly = PNG + bytes(EDIT_MAX_IMAGE_BYTES - len(PNG))
    assert _edit(http, sim, files=_files(exactly, name="image")).status_code == 200


def test_body_over_the_cap_is_413(sim: Simulator, http: requests.Session) -> None:
    half = PNG + bytes(MAX_FORM_BYTES // 2)
    # announced by Content-Length: refused before the body is read
    rsp = _edit(http, sim, files=_files(half, half))
    error = _openai_error(rsp, 413, None)
    assert error["code"] == "request_too_large"
    assert "64 MiB" in error["message"]

    def chunked() -> Iterator[bytes]:  # no Content-Length: cut off while streaming
        yield b'--cap\r\nContent-Disposition: form-data; name="image"; filename="a.png"\r\n\r\n'
        yield PNG
        for _ in range(MAX_FORM_BYTES // (1 << 20) + 2):
            yield bytes(1 << 20)
        yield b"\r\n--cap--\r\n"

    rsp = http.post(
        sim.url + EDITS,
        data=chunked(),
        headers={"Content-Type": "multipart/form-data; boundary=cap"},
        timeout=30,
    )
    assert _openai_error(rsp, 413, None)["code"] == "request_too_large"
    assert [r["status"] for r in records(sim)] == [413, 413]


def test_faults_apply_like_generations(make_sim: Any, http: requests.Session) -> None:
    sim = make_sim(error_5xx_rate=1.0)
    error = _openai_error(_edit(http, sim), 500, None)
    assert error["type"] == "server_error"
    sim.configure(error_5xx_rate=0.0)
    rsp = _edit(http, sim, headers={"X-Sim-Fault": "no_image"})
    assert (rsp.status_code, rsp.json()["data"]) == (200, [])
    rsp = _edit(http, sim, headers={"X-Sim-Fault": "gateway_502"})
    assert rsp.status_code == 502
    assert rsp.headers["Content-Type"].startswith("text/html")
    rsp = _edit(http, sim, headers={"X-Sim-Fault": "malformed_json"})
    assert rsp.status_code == 200
    with pytest.raises(requests.exceptions.JSONDecodeError):
        rsp.json()
    with pytest.raises(requests.exceptions.ReadTimeout):
        _edit_with_timeout(http, sim, {"X-Sim-Fault": "hang"}, 0.3)
    faults = [(r["fault"], r["status"]) for r in records(sim)]
    assert faults[:4] == [
        ("error_5xx", 500),
        ("no_image", 200),
        ("gateway_502", 502),
        ("malformed_json", 200),
    ]
    assert faults[4][0] == "hang"  # its record completes when the server sees the disconnect


def _edit_with_timeout(
    http: requests.Session, sim: Simulator, headers: dict[str, str], timeout: float
) -> requests.Response:
    return http.post(
        sim.url + EDITS,
        data={"prompt": "x"},
        files=_files(PNG, name="image"),
        headers=headers,
        timeout=timeout,
    )


def test_queue_and_throttling_like_generations(make_sim: Any, http: requests.Session) -> None:
    sim = make_sim("fixed", slots=1, max_queue=0, median=200.0, time_scale=0.01)
    with pytest.raises(requests.exceptions.ReadTimeout):  # holds the only slot for 2 s
        _edit_with_timeout(http, sim, {}, 0.5)
    rsp = _edit(http, sim)
    error = _openai_error(rsp, 429, None)
    assert error["code"] == "rate_limit_exceeded"
    assert rsp.headers["Retry-After"] == "1"
    assert [r["outcome"] for r in records(sim)] == ["disconnected", "throttled"]


def test_same_draws_as_generations(make_sim: Any, http: requests.Session) -> None:
    """Request k of a seed draws the same generation time on either endpoint: the edit goes
    through the very same service model (megapixels, sigma, time_scale, n)."""
    edit_sim = make_sim(seed=7)
    gen_sim = make_sim(seed=7)
    for size, n in (("1024x1024", "1"), ("512x768", "3")):
        assert _edit(http, edit_sim, size=size, n=n).status_code == 200
        rsp = http.post(
            gen_sim.url + GENERATIONS, json={"prompt": "x", "size": size, "n": int(n)}, timeout=10
        )
        assert rsp.status_code == 200
    edit_drawn = [r["drawn_generation_s"] for r in records(edit_sim)]
    gen_drawn = [r["drawn_generation_s"] for r in records(gen_sim)]
    assert edit_drawn == gen_drawn
    assert all(drawn > 0 for drawn in edit_drawn)


def test_client_leaving_mid_upload_is_recorded(sim: Simulator) -> None:
    head = (
        b"POST /v1/images/edits HTTP/1.1\r\nHost: sim\r\n"
        b"Content-Type: multipart/form-data; boundary=b\r\nContent-Length: 100000\r\n\r\n"
        b'--b\r\nContent-Disposition: form-data; name="image"; filename="a.png"\r\n\r\n'
    )
    with socket.create_connection(("127.0.0.1", sim.port), timeout=10) as conn:
        conn.sendall(head + PNG)
        deadline = time.monotonic() + 5
        while not records(sim) and time.monotonic() < deadline:
            time.sleep(0.01)
    while records(sim)[0]["outcome"] is None and time.monotonic() < deadline:
        time.sleep(0.01)
    (record,) = records(sim)
    assert (record["outcome"], record["status"]) == ("disconnected", None)
    assert record["disconnected"] >= record["arrival"]
    assert record["drawn_generation_s"] is None  # never reached the GPU queue
