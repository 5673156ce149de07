"""Example perf suite for a Qwen-Image service.

Run it against the embedded simulator (no GPU, no key, no bill):

    pytest examples --qwenperf-workers=10

The SLAs are written for a production Qwen-Image deployment (seconds of GPU time per image);
the simulator reproduces such timings in simulated seconds. Point it at DashScope with
``QWENPERF_URL=https://dashscope.aliyuncs.com QWENPERF_API_KEY=...`` or at an
OpenAI-compatible server with ``--qwenperf-url=http://gpu-box:8000/v1``.
"""

from __future__ import annotations

import pytest

CHINESE_PROMPTS = [
    "一只坐在窗台上的橘猫，午后阳光，胶片质感",
    "水墨风格的江南水乡，小桥流水人家，远处有薄雾笼罩的青山",
    "春节海报，红色背景，金色的“福”字居中，周围有烟花和灯笼",
    "一位穿着汉服的女孩站在樱花树下，微风吹起花瓣，浅景深，人像摄影",
]
ENGLISH_PROMPTS = [
    "A red bicycle leaning against a brick wall, morning light",
    "Product photo of a ceramic coffee mug on a marble counter, soft studio lighting",
    "An astronaut tending a vegetable garden inside a glass dome on Mars, photorealistic",
    "Minimalist poster with the words 'OPEN SOURCE SUMMIT 2026' in bold sans-serif type",
]


@pytest.mark.qwenperf(requests=40, size="1328*1328")
@pytest.mark.sla(p95="60s", timeout_rate="5%", error_5xx_rate="2%")
def test_text_to_image_square(qwenperf):
    """Square 1:1 images with the built-in bilingual prompt mix."""
    result = qwenperf.run()
    assert result.n == 40


@pytest.mark.qwenperf(requests=30, size="1664*928", prompts=CHINESE_PROMPTS)
@pytest.mark.sla(p95="60s", timeout_rate="5%", error_5xx_rate="2%")
def test_text_to_image_16_9_chinese(qwenperf):
    """Wide 16:9 images (the DashScope default size), Chinese prompts."""
    qwenperf.run()


@pytest.mark.qwenperf(requests=30, size="928*1664", prompts=ENGLISH_PROMPTS)
@pytest.mark.sla(p95="60s", timeout_rate="5%", success_rate="95%")
def test_text_to_image_9_16_english(qwenperf):
    """Tall 9:16 images, English prompts."""
    qwenperf.run()


@pytest.mark.qwenperf(api="dashscope-async", requests=20, size="1328*1328")
@pytest.mark.sla(p95="75s", success_rate="95%")
def test_async_task(qwenperf):
    """DashScope async task API: submit, then poll at the SDK's cadence until SUCCEEDED.

    The latency includes the poll granularity, as a real client experiences it.
    """
    qwenperf.run()


@pytest.mark.qwenperf(requests=20, model="qwen-image-edit-plus", images=["assets/input.png"])
@pytest.mark.sla(p95="60s", error_5xx_rate="2%", timeout_rate="5%")
def test_image_edit(qwenperf):
    """Qwen-Image-Edit: one input image (a local file sent as a data: URI) plus a prompt."""
    qwenperf.run(
        prompts=["把背景换成海边日落，保留主体", "Make it look like a watercolor painting"]
    )
