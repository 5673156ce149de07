"""The PNGs are real: an independent decoder reads them back at the requested size."""

from __future__ import annotations

import pytest
import requests
from simtest_util import decode_png

from pytest_qwenperf.simulator import Simulator
from pytest_qwenperf.simulator.png import png_bytes


@pytest.mark.parametrize(
    ("width", "height"), [(1, 1), (3, 2), (1664, 928), (928, 1664), (2048, 2048)]
)
def test_png_decodes_at_the_requested_size(width: int, height: int) -> None:
    data = png_bytes(width, height)
    pixels = decode_png(data)
    assert pixels.shape == (height, width, 3)
    # the gradient: red grows left to right, green top to bottom, blue constant
    assert pixels[0, 0].tolist() == [0, 0, 160]
    assert pixels[-1, -1].tolist() == [255 if width > 1 else 0, 255 if height > 1 else 0, 160]
    assert len(data) < 64 * 1024  # filtered and well compressed
    assert png_bytes(width, height) is data  # cached per size


def test_png_rejects_absurd_sizes() -> None:
    with pytest.raises(ValueError, match="PNG size"):
        png_bytes(0, 10)


def test_image_route(sim: Simulator, http: requests.Session) -> None:
    ok = http.get(sim.url + "/_sim/images/640x480/abc-1.png", timeout=10)
    assert ok.status_code == 200
    assert ok.headers["Content-Type"] == "image/png"
    assert decode_png(ok.content).shape == (480, 640, 3)
    for bad in ("/_sim/images/0x480/a.png", "/_sim/images/99999x2/a.png", "/_sim/images/8x8/a.gif"):
        assert http.get(sim.url + bad, timeout=10).status_code == 404
