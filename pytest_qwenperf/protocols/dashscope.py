"""DashScope synchronous multimodal generation: text-to-image and image edit (1-3 images).

``POST {root}/api/v1/services/aigc/multimodal-generation/generation``; one HTTP exchange.
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
    auth_headers,
    image_ref,
    success_json,
    with_service_times,
)
from pytest_qwenperf.protocols.urls import DASHSCOPE_PREFIX, base_url

GENERATION_PATH = "/services/aigc/multimodal-generation/generation"
MAX_EDIT_IMAGES = 3


class DashScopeAdapter(Adapter):
    """Sync ``multimodal-generation``: text-to-image, or image edit when ``images`` is set."""

    name = "dashscope"

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
        if len(images) > MAX_EDIT_IMAGES:
            raise ValueError(
                f"image edit takes 1 to {MAX_EDIT_IMAGES} input images, got {len(images)}"
            )
        self._url = base_url(url, DASHSCOPE_PREFIX) + GENERATION_PATH
        self._model = model
        self._headers = auth_headers(api_key)
        self._images = tuple(images)
        params: dict[str, Any] = dict(parameters or {})
        if size is not None:
            params["size"] = size
        self._parameters = params

    @property
    def endpoint(self) -> str:
        return self._url

    def build_body(self, prompt: str) -> dict[str, Any]:
        content: list[dict[str, str]] = [{"image": image} for image in self._images]
        content.append({"text": prompt})
        return {
            "model": self._model,
            "input": {"messages": [{"role": "user", "content": content}]},
            "parameters": dict(self._parameters),
        }

    def new_call(self, prompt: str) -> Call:
        return _SyncCall(HttpRequest("POST", self._url, self._headers, self.build_body(prompt)))


class _SyncCall(Call):
    def __init__(self, request: HttpRequest) -> None:
        self._request = request

    def first_request(self) -> HttpRequest:
        return self._request

    def handle(self, response: HttpResponse) -> Step:
        return interpret_generation(response)


def interpret_generation(response: HttpResponse) -> Step:
    """A multimodal-generation response as a final step."""
    decoded = success_json(response)
    if isinstance(decoded, Failed):
        return decoded
    data, header_id = decoded
    if not isinstance(data, dict):
        return Failed(Outcome.INVALID_RESPONSE, 200, "InvalidJSON", "JSON body is not an object")
    request_id = data.get("request_id") if isinstance(data.get("request_id"), str) else None
    request_id = request_id or header_id
    output = data.get("output")
    urls: list[str] = []
    if isinstance(output, dict):
        for choice in output.get("choices") or ():
            message = choice.get("message") if isinstance(choice, dict) else None
            content = message.get("content") if isinstance(message, dict) else None
            for item in content or ():
                image = item.get("image") if isinstance(item, dict) else None
                if isinstance(image, str) and image:
                    urls.append(image_ref(image))
    if not urls:
        code = data.get("code")
        return Failed(
            Outcome.INVALID_RESPONSE,
            200,
            str(code) if code else "NoImage",
            str(data.get("message") or "200 response without an image"),
            request_id,
        )
    return with_service_times(tuple(urls), output if isinstance(output, dict) else {}, request_id)
