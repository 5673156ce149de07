"""Bounded reading of the ``multipart/form-data`` body of ``POST /v1/images/edits``.

The body is streamed with aiohttp's :meth:`~aiohttp.web.BaseRequest.multipart` reader, never
buffered whole: text fields are kept (they are small), image parts are only counted and their
first bytes kept for the format check, so 16 images of 50 MiB never sit in memory. The whole
body is capped at :data:`MAX_FORM_BYTES` (413 beyond it), the number of parts at
:data:`MAX_PARTS`. A body that is not multipart/form-data, or that aiohttp cannot parse, is a
400 with the OpenAI envelope (never a 500).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from aiohttp import BodyPartReader, web
from aiohttp.http_exceptions import HttpProcessingError

from pytest_qwenperf.simulator.envelopes import ApiError
from pytest_qwenperf.simulator.validation import EDIT_MAX_IMAGES, SNIFF_BYTES, UploadedImage

#: the whole request body (parts, headers and boundaries); 413 beyond it
MAX_FORM_BYTES = 64 * 1024 * 1024
#: parts of any kind in one body (images, mask, text fields, unknown fields)
MAX_PARTS = 256
#: field names of the image parts: one ``image``, or repeated ``image[]`` (the openai SDK's
#: array encoding) or repeated ``image``
IMAGE_FIELDS = frozenset({"image", "image[]"})
#: the text fields the endpoint reads; other fields are read to their end and dropped
TEXT_FIELDS = frozenset({"prompt", "model", "n", "size", "response_format"})
_CHUNK = 256 * 1024


@dataclass
class EditForm:
    """What the body held: the known text fields (last one wins) and the image parts."""

    fields: dict[str, str] = field(default_factory=dict)
    images: list[UploadedImage] = field(default_factory=list)


def _bad_form(message: str, code: str) -> ApiError:
    return ApiError(400, "InvalidParameter", message, openai_code=code)


def too_large() -> ApiError:
    return ApiError(
        413,
        "BadRequest.TooLarge",
        f"The request body is too large: at most {MAX_FORM_BYTES // (1024 * 1024)} MiB.",
        openai_code="request_too_large",
    )


def _check_total(request: web.Request) -> None:
    # bytes received from the socket so far: headers and boundaries included
    if request.content.total_bytes > MAX_FORM_BYTES:
        raise too_large()


async def read_edit_form(request: web.Request) -> EditForm:
    """Read the whole multipart body within the limits (ApiError 400/413 otherwise)."""
    if request.content_type != "multipart/form-data":
        given = request.headers.get("Content-Type", "none")
        raise _bad_form(
            f"Invalid Content-Type header ({given}), expected multipart/form-data: this endpoint "
            "takes the prompt and the image files as multipart/form-data fields.",
            "invalid_content_type",
        )
    length = request.content_length
    if length is not None and length > MAX_FORM_BYTES:
        raise too_large()
    try:
        return await _read_parts(request)
    except (ValueError, RuntimeError, AssertionError, HttpProcessingError) as exc:
        # aiohttp's complaints about a broken body: no boundary, bad boundary, early EOF,
        # header lines too long or too many, undecodable charset
        raise _bad_form(
            f"The multipart/form-data body could not be parsed: {exc}", "invalid_multipart"
        ) from exc


async def _read_parts(request: web.Request) -> EditForm:
    form = EditForm()
    reader = await request.multipart()
    parts = 0
    while True:
        part = await reader.next()
        _check_total(request)
        if part is None:
            return form
        parts += 1
        if parts > MAX_PARTS:
            raise _bad_form(f"Too many multipart fields: at most {MAX_PARTS}.", "too_many_fields")
        if not isinstance(part, BodyPartReader):
            raise _bad_form(
                "Nested multipart bodies are not supported in multipart/form-data fields.",
                "invalid_multipart",
            )
        name = part.name or ""
        if name in IMAGE_FIELDS:
            if len(form.images) >= EDIT_MAX_IMAGES:
                raise ApiError(
                    400,
                    "InvalidParameter",
                    f"Too many images: at most {EDIT_MAX_IMAGES}.",
                    param="image",
                    openai_code="too_many_images",
                )
            form.images.append(await _read_image(request, part, name))
        elif name in TEXT_FIELDS:
            form.fields[name] = await _read_text(request, part, name)
        else:
            # mask (accepted, ignored), negative_prompt, seed, num_inference_steps, ...
            await _drain(request, part)


async def _read_image(request: web.Request, part: BodyPartReader, name: str) -> UploadedImage:
    head = b""
    size = 0
    while chunk := await part.read_chunk(_CHUNK):
        size += len(chunk)
        if len(head) < SNIFF_BYTES:
            head += chunk[: SNIFF_BYTES - len(head)]
        _check_total(request)
    return UploadedImage(field=name, filename=part.filename, size=size, head=head)


async def _read_text(request: web.Request, part: BodyPartReader, name: str) -> str:
    data = bytearray()
    while chunk := await part.read_chunk(_CHUNK):
        data += chunk
        _check_total(request)
    try:
        return data.decode(part.get_charset(default="utf-8"))
    except (UnicodeDecodeError, LookupError) as exc:
        raise ApiError(
            400,
            "InvalidParameter",
            f"Invalid '{name}': the field is not valid text ({exc}).",
            param=name,
            openai_code="invalid_value",
        ) from exc


async def _drain(request: web.Request, part: BodyPartReader) -> None:
    while await part.read_chunk(_CHUNK):
        _check_total(request)
