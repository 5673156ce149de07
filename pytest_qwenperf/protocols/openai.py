"""OpenAI-style images: ``POST {root}/v1/images/generations`` (JSON) and, for an image edit,
``POST {root}/v1/images/edits`` (multipart/form-data; vLLM-Omni serves Qwen-Image-Edit there).

``size`` is given DashScope-style (``"1328*1328"``) and sent as ``"1328x1328"``. A response
``data[]`` item with a ``url`` or a ``b64_json`` counts as an image.

An edit uploads its input images, as the official SDK does: one image as the form field
``image``, several as repeated ``image[]``. They arrive here as ``data:`` URIs (the plugin
turns local files into those); an http(s) URL cannot be uploaded and is refused.
"""

from __future__ import annotations

import base64
import binascii
import json
import mimetypes
import urllib.parse
from collections.abc import Mapping, Sequence
from typing import Any

from urllib3 import encode_multipart_formdata

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
EDITS_PATH = "/images/edits"
#: One uploaded input image: (filename, bytes, MIME type), as urllib3's multipart encoder takes it.
ImagePart = tuple[str, bytes, str]


def decode_data_uri(uri: str) -> tuple[str, bytes]:
    """The MIME type and bytes of a ``data:`` URI; ValueError when it is not one."""
    if not uri.startswith("data:") or "," not in uri:
        raise ValueError("not a data: URI")
    meta, _, payload = uri[len("data:") :].partition(",")
    params = meta.split(";")
    mime = params[0] or "text/plain"
    if "base64" in params[1:]:
        try:
            return mime, base64.b64decode(payload, validate=True)
        except (binascii.Error, ValueError):
            raise ValueError("its base64 data is not valid") from None
    return mime, urllib.parse.unquote_to_bytes(payload)


def upload_parts(images: Sequence[str]) -> tuple[ImagePart, ...]:
    """Input images (data: URIs) as multipart file parts; ValueError naming the bad one."""
    parts = []
    for index, image in enumerate(images, 1):
        if image.startswith(("http://", "https://")):
            raise ValueError(
                f"image {index} is a URL; the OpenAI edits API uploads the image itself, so "
                "give a local file or a data: URI"
            )
        try:
            mime, data = decode_data_uri(image)
        except ValueError as exc:
            raise ValueError(f"image {index} cannot be uploaded: {exc}") from None
        extension = mimetypes.guess_extension(mime) or ".png"
        parts.append((f"image-{index}{extension}", data, mime))
    return tuple(parts)


def _form_value(value: Any) -> str:
    return value if isinstance(value, str) else json.dumps(value)


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
        self._uploads = upload_parts(images)
        path = EDITS_PATH if self._uploads else GENERATIONS_PATH
        self._url = base_url(url, OPENAI_PREFIX) + path
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

    def build_form(self, prompt: str) -> tuple[bytes, str]:
        """An edit's multipart body and its Content-Type: the JSON body's fields as text
        fields, then the images."""
        fields: list[tuple[str, Any]] = [
            (key, _form_value(value)) for key, value in self.build_body(prompt).items()
        ]
        name = "image" if len(self._uploads) == 1 else "image[]"
        fields += [(name, part) for part in self._uploads]
        return encode_multipart_formdata(fields)

    def new_call(self, prompt: str) -> Call:
        if not self._uploads:
            body = self.build_body(prompt)
            return _OpenAICall(HttpRequest("POST", self._url, self._headers, body))
        content, content_type = self.build_form(prompt)
        headers = {**self._headers, "Content-Type": content_type}
        return _OpenAICall(HttpRequest("POST", self._url, headers, content=content))


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
