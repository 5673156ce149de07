"""OpenAI-style image generation: ``POST {root}/v1/images/generations`` (vLLM-Omni, SGLang).

``size`` is given DashScope-style (``"1328*1328"``) and sent as ``"1328x1328"``. A response
``data[]`` item with a ``url`` or a ``b64_json`` counts as an image.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from pytest_qwenperf.metrics.sample import Outcome
from pytest_qwenperf.protocols.base import (
    Adapter,
    Call,
    Failed,
    HttpRequest,
    HttpResponse,
    Step,
    Succeeded,
    auth_headers,
    image_ref,
    success_json,
)
from pytest_qwenperf.protocols.urls import OPENAI_PREFIX, base_url

GENERATIONS_PATH = "/images/generations"


class OpenAIImagesAdapter(Adapter):
    name = "openai"

    def __init__(
        self,
        url: str,
        *,
        model: str,
        api_key: str | None = None,
        size: str | None = None,
        images: Sequence[str] = (),
        parameters: Mapping[str, Any] | None = None,
    ) -> None:
        if images:
            raise ValueError(
                "image edit is not supported on the OpenAI images API here; use api='dashscope'"
            )
        self._url = base_url(url, OPENAI_PREFIX) + GENERATIONS_PATH
        self._model = model
        self._headers = auth_headers(api_key)
        self._size = size.replace("*", "x") if size else None
        self._parameters = dict(parameters or {})

    @property
    def endpoint(self) -> str:
        return self._url

    def build_body(self, prompt: str) -> dict[str, Any]:
        body: dict[str, Any] = {"model": self._model, "prompt": prompt, "n": 1}
        if self._size:
            body["size"] = self._size
        body.update(self._parameters)
        return body

    def new_call(self, prompt: str) -> Call:
        return _OpenAICall(HttpRequest("POST", self._url, self._headers, self.build_body(prompt)))


class _OpenAICall(Call):
    def __init__(self, request: HttpRequest) -> None:
        self._request = request

    def first_request(self) -> HttpRequest:
        return self._request

    def handle(self, response: HttpResponse) -> Step:
        decoded = success_json(response)
        if isinstance(decoded, Failed):
            return decoded
        data, request_id = decoded
        images: list[str] = []
        items = data.get("data") if isinstance(data, dict) else None
        for item in items if isinstance(items, list) else ():
            if not isinstance(item, dict):
                continue
            if isinstance(item.get("url"), str) and item["url"]:
                images.append(image_ref(item["url"]))
            elif isinstance(item.get("b64_json"), str) and item["b64_json"]:
                images.append(f"b64_json:({len(item['b64_json'])} chars)")
        if not images:
            return Failed(
                Outcome.INVALID_RESPONSE,
                200,
                "NoImage",
                "200 response without an image",
                request_id,
            )
        return Succeeded(image_urls=tuple(images), request_id=request_id)
