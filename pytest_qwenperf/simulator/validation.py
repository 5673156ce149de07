"""Request validation for the three APIs, like the real service: models, sizes, n, prompt.

Each ``parse_*`` function takes the decoded JSON body (the multipart edit endpoint: its text
fields and image parts) and returns a :class:`GenRequest` or raises
:class:`~pytest_qwenperf.simulator.envelopes.ApiError`. Unknown extra keys in
``parameters`` (``result_format``, ``stream``, ...) are tolerated, as the SDK sends them.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from pytest_qwenperf.simulator.envelopes import ApiError, invalid

PROMPT_MAX_CHARS = 800
NEGATIVE_PROMPT_MAX_CHARS = 500
SEED_MAX = 2147483647

#: current (2026) and older (2025) fixed size sets of qwen-image / -plus / -max; both accepted
CURRENT_SIZES = ("1664*928", "1472*1104", "1328*1328", "1104*1472", "928*1664")
OLDER_SIZES = ("1472*1140", "1140*1472")
DASHSCOPE_SIZES = frozenset(CURRENT_SIZES + OLDER_SIZES)
DEFAULT_SIZE = "1664*928"

T2I_MODELS = frozenset(
    {
        "qwen-image",
        "qwen-image-plus",
        "qwen-image-plus-2026-01-09",
        "qwen-image-max",
        "qwen-image-max-2025-12-30",
    }
)
#: free size within 512*512..2048*2048 total pixels, default 2048*2048, n 1-6
T2I_V2_MODELS = frozenset(
    {
        "qwen-image-2.0",
        "qwen-image-2.0-2026-03-03",
        "qwen-image-2.0-pro",
        "qwen-image-2.0-pro-2026-03-03",
    }
)
#: the only models the async task API accepts (the dated plus snapshot: UNCONFIRMED, accepted)
ASYNC_MODELS = frozenset({"qwen-image", "qwen-image-plus", "qwen-image-plus-2026-01-09"})
EDIT_BASIC_MODELS = frozenset({"qwen-image-edit"})
EDIT_PLUS_MODELS = frozenset(
    {
        "qwen-image-edit-plus",
        "qwen-image-edit-plus-2025-12-15",
        "qwen-image-edit-plus-2025-10-30",
        "qwen-image-edit-max",
        "qwen-image-edit-max-2026-01-16",
    }
)
EDIT_MODELS = EDIT_BASIC_MODELS | EDIT_PLUS_MODELS
SYNC_MODELS = T2I_MODELS | T2I_V2_MODELS | EDIT_MODELS
ALL_MODELS = SYNC_MODELS

OPENAI_MIN_SIDE = 256
OPENAI_MAX_SIDE = 2048
OPENAI_MAX_N = 10
OPENAI_DEFAULT_MODEL = "qwen-image"

_SIZE_RE = re.compile(r"^([1-9][0-9]{0,4})\*([1-9][0-9]{0,4})$")
_OPENAI_SIZE_RE = re.compile(r"^([1-9][0-9]{0,4})x([1-9][0-9]{0,4})$")


@dataclass(frozen=True)
class GenRequest:
    """What the service will generate: one request, ``n`` images of ``width`` x ``height``."""

    model: str
    prompt: str
    width: int
    height: int
    n: int = 1
    images: int = 0
    negative_prompt: str | None = None
    prompt_extend: bool = True
    response_format: str = "url"


def _object(value: Any, what: str) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise invalid(f"{what} must be a JSON object.")
    return value


def _model(body: dict[str, Any]) -> str:
    model = body.get("model")
    if model is None or model == "":
        raise ApiError(
            400, "BadRequest.EmptyModel", 'Required parameter "model" missing from request.'
        )
    if not isinstance(model, str):
        raise invalid("Parameter model must be a string.")
    if model not in ALL_MODELS:
        raise invalid("Model not exist.")
    return model


def _input(body: dict[str, Any]) -> dict[str, Any]:
    if body.get("input") is None:
        raise ApiError(
            400, "BadRequest.EmptyInput", "Required input parameter missing from request."
        )
    return _object(body["input"], "input")


def _parameters(body: dict[str, Any]) -> dict[str, Any]:
    params = body.get("parameters")
    return {} if params is None else _object(params, "parameters")


def _int(params: dict[str, Any], key: str, default: int) -> int:
    value = params.get(key, default)
    if isinstance(value, bool) or not isinstance(value, int):
        raise invalid(f"Parameter {key} must be an integer, got {value!r}.")
    return value


def _common_parameters(params: dict[str, Any]) -> None:
    seed = params.get("seed")
    if seed is not None and (
        isinstance(seed, bool) or not isinstance(seed, int) or not 0 <= seed <= SEED_MAX
    ):
        raise invalid(f"Parameter seed must be an integer in [0, {SEED_MAX}], got {seed!r}.")
    for flag in ("prompt_extend", "watermark"):
        if flag in params and not isinstance(params[flag], bool):
            raise invalid(f"Parameter {flag} must be a boolean, got {params[flag]!r}.")
    negative = params.get("negative_prompt")
    if negative is not None and not isinstance(negative, str):
        raise invalid("Parameter negative_prompt must be a string.")


def _size(value: Any, model: str) -> tuple[int, int]:
    match = _SIZE_RE.match(value) if isinstance(value, str) else None
    if match is None:
        raise invalid(f"The size is not match the format W*H, got {value!r}.")
    width, height = int(match.group(1)), int(match.group(2))
    if model in T2I_V2_MODELS:
        if not 512 * 512 <= width * height <= 2048 * 2048:
            raise invalid(
                f"The size {value} is out of range: total pixels must be 512*512..2048*2048."
            )
    elif model in EDIT_PLUS_MODELS:
        if not (512 <= width <= 2048 and 512 <= height <= 2048):
            raise invalid(f"The size {value} is out of range: each side must be 512..2048.")
    elif value not in DASHSCOPE_SIZES:
        allowed = ", ".join(CURRENT_SIZES + OLDER_SIZES)
        raise invalid(f"The size is not match the allowed size: {allowed}; got {value}.")
    return width, height


def _prompt(value: Any, where: str) -> str:
    if not isinstance(value, str) or not value.strip():
        raise invalid(f"The prompt ({where}) is required and must be a non-empty string.")
    return value[:PROMPT_MAX_CHARS]


def parse_multimodal(body: Any) -> GenRequest:
    """Sync text-to-image or image edit: ``input.messages`` = one user message."""
    body = _object(body, "The request body")
    model = _model(body)
    inp = _input(body)
    params = _parameters(body)
    messages = inp.get("messages")
    if not isinstance(messages, list) or len(messages) != 1:
        raise invalid("input.messages must hold exactly one message (single turn).")
    message = _object(messages[0], "input.messages[0]")
    if message.get("role") != "user":
        raise invalid("The role of the message must be 'user'.")
    content = message.get("content")
    if not isinstance(content, list):
        raise invalid("input.messages[0].content must be a list.")
    texts: list[Any] = []
    images: list[Any] = []
    for item in content:
        item = _object(item, "a content item")
        if "text" in item:
            texts.append(item["text"])
        elif "image" in item:
            images.append(item["image"])
        else:
            raise invalid("A content item must be {'text': ...} or {'image': ...}.")
    if len(texts) != 1:
        raise invalid(f"The content must hold exactly one text item, got {len(texts)}.")
    prompt = _prompt(texts[0], "text")
    _common_parameters(params)
    edit = model in EDIT_MODELS
    if edit:
        if not 1 <= len(images) <= 3:
            raise invalid(f"Image editing takes 1 to 3 images, got {len(images)}.")
        for image in images:
            if not isinstance(image, str) or not image.startswith(("http://", "https://", "data:")):
                raise ApiError(
                    400,
                    "InvalidParameter",
                    "url error, please check url！ For details, see: "
                    "https://help.aliyun.com/zh/model-studio/error-code#error-url",
                )
    elif images:
        raise invalid(f"Model {model} takes no image input.")
    if model in EDIT_BASIC_MODELS:
        n_max = 1
        width, height = 1024, 1024  # this model has no size; output ~1024*1024
    else:
        n_max = 6 if (edit or model in T2I_V2_MODELS) else 1
        default = "1024*1024" if edit else ("2048*2048" if model in T2I_V2_MODELS else DEFAULT_SIZE)
        width, height = _size(params.get("size", default), model)
    n = _int(params, "n", 1)
    if not 1 <= n <= n_max:
        raise invalid(
            f"Parameter n must be {'1' if n_max == 1 else f'1..{n_max}'} for {model}, got {n}."
        )
    return GenRequest(
        model=model,
        prompt=prompt,
        width=width,
        height=height,
        n=n,
        images=len(images),
        negative_prompt=params.get("negative_prompt"),
        prompt_extend=bool(params.get("prompt_extend", True)),
    )


def parse_image_synthesis(body: Any) -> GenRequest:
    """Async task submit: ``input.prompt``; negative_prompt in ``input`` or ``parameters``."""
    body = _object(body, "The request body")
    model = _model(body)
    if model not in ASYNC_MODELS:
        raise ApiError(403, "AccessDenied", "current user api does not support asynchronous calls")
    inp = _input(body)
    params = _parameters(body)
    prompt = _prompt(inp.get("prompt"), "input.prompt")
    _common_parameters(params)
    negative = inp.get("negative_prompt", params.get("negative_prompt"))
    if negative is not None and not isinstance(negative, str):
        raise invalid("Parameter negative_prompt must be a string.")
    width, height = _size(params.get("size", DEFAULT_SIZE), model)
    n = _int(params, "n", 1)
    if n != 1:
        raise invalid(f"Parameter n must be 1 for {model}, got {n}.")
    return GenRequest(
        model=model,
        prompt=prompt,
        width=width,
        height=height,
        negative_prompt=negative,
        prompt_extend=bool(params.get("prompt_extend", True)),
    )


def _openai_invalid(message: str, param: str, code: str = "invalid_value") -> ApiError:
    return ApiError(400, "InvalidParameter", message, param=param, openai_code=code)


def _model_name(model: str) -> str:
    """``Qwen/Qwen-Image-Edit-2511`` -> ``qwen-image-edit-2511`` (org prefix and case dropped)."""
    return model.lower().rsplit("/", 1)[-1]


def openai_model_known(model: str) -> bool:
    """A text-to-image model: what ``/v1/images/generations`` serves."""
    name = _model_name(model)
    return (
        name in T2I_MODELS
        or name in T2I_V2_MODELS
        or (name.startswith("qwen-image") and "edit" not in name)
    )


def openai_edit_model_known(model: str) -> bool:
    """An image-edit model: what ``/v1/images/edits`` serves (the DashScope edit names, any
    other ``qwen-image*edit*`` name, with or without an org prefix)."""
    name = _model_name(model)
    return name in EDIT_MODELS or (name.startswith("qwen-image") and "edit" in name)


def _openai_prompt(body: Mapping[str, Any]) -> str:
    prompt = body.get("prompt")
    if prompt is None:
        raise _openai_invalid(
            "Missing required parameter: 'prompt'.", "prompt", "missing_required_parameter"
        )
    if not isinstance(prompt, str) or not prompt.strip():
        raise _openai_invalid("Invalid 'prompt': must be a non-empty string.", "prompt")
    return prompt


def _openai_model(
    body: Mapping[str, Any], default: str, known: Callable[[str], bool], hint: str = ""
) -> str:
    model = body.get("model") or default
    if not isinstance(model, str) or not known(model):
        raise ApiError(
            404,
            "InvalidParameter",
            f"The model `{model}` does not exist or you do not have access to it.{hint}",
            openai_code="model_not_found",
        )
    return model


def _openai_n(body: Mapping[str, Any]) -> int:
    n = body.get("n", 1)
    if n is None:
        n = 1
    if isinstance(n, bool) or not isinstance(n, int) or not 1 <= n <= OPENAI_MAX_N:
        raise _openai_invalid(
            f"Invalid 'n': must be an integer in 1..{OPENAI_MAX_N}, got {n!r}.", "n"
        )
    return n


def _openai_size(body: Mapping[str, Any]) -> tuple[int, int]:
    size = body.get("size") or "auto"
    if size == "auto":
        return 1024, 1024
    match = _OPENAI_SIZE_RE.match(size) if isinstance(size, str) else None
    if match is None or not all(
        OPENAI_MIN_SIDE <= int(side) <= OPENAI_MAX_SIDE for side in match.groups()
    ):
        raise _openai_invalid(
            f"Invalid value: {size!r}. Supported values are 'auto' or 'WxH' with each side "
            f"within {OPENAI_MIN_SIDE}..{OPENAI_MAX_SIDE}.",
            "size",
        )
    return int(match.group(1)), int(match.group(2))


def _openai_response_format(body: Mapping[str, Any]) -> str:
    response_format = body.get("response_format") or "url"
    if response_format not in ("url", "b64_json"):
        raise _openai_invalid(
            f"Invalid value: {response_format!r}. Supported values are: 'url' and 'b64_json'.",
            "response_format",
        )
    return str(response_format)


def parse_openai(body: Any) -> GenRequest:
    """``POST /v1/images/generations``: prompt, model, n, size ``WxH``/auto, response_format."""
    if not isinstance(body, dict):
        raise _openai_invalid("The request body must be a JSON object.", "body", "invalid_type")
    return _openai_request(body, OPENAI_DEFAULT_MODEL, openai_model_known)


def _openai_request(
    body: Mapping[str, Any],
    default_model: str,
    known: Callable[[str], bool],
    hint: str = "",
    images: Sequence[UploadedImage] | None = None,
) -> GenRequest:
    """The fields both OpenAI endpoints share, checked in the order the errors are reported:
    prompt, model, (an edit's images), n, size, response_format."""
    prompt = _openai_prompt(body)
    model = _openai_model(body, default_model, known, hint)
    if images is not None:
        _edit_images(images)
    n = _openai_n(body)
    width, height = _openai_size(body)
    return GenRequest(
        model=model,
        prompt=prompt,
        width=width,
        height=height,
        n=n,
        images=len(images or ()),
        response_format=_openai_response_format(body),
    )


# --- POST /v1/images/edits (multipart) ------------------------------------------------------

OPENAI_EDIT_DEFAULT_MODEL = "qwen-image-edit"
#: image parts per request, bytes per image part
EDIT_MAX_IMAGES = 16
EDIT_MAX_IMAGE_BYTES = 50 * 1024 * 1024
#: enough leading bytes to tell PNG, JPEG and WebP apart
SNIFF_BYTES = 12
_EDIT_MODEL_HINT = (
    " This endpoint edits images: use an image-edit model (qwen-image-edit, "
    "qwen-image-edit-plus, qwen-image-edit-max, Qwen/Qwen-Image-Edit-2511, ...)."
)
_DIGITS_RE = re.compile(r"^[0-9]{1,9}$")


def sniff_image_format(head: bytes) -> str | None:
    """``png``, ``jpeg`` or ``webp`` by the file's magic bytes; None for anything else."""
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return "png"
    if head.startswith(b"\xff\xd8\xff"):
        return "jpeg"
    if len(head) >= 12 and head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return "webp"
    return None


@dataclass(frozen=True)
class UploadedImage:
    """One image part of a multipart edit request: what validation needs, not its bytes."""

    field: str
    filename: str | None
    size: int
    head: bytes


def _edit_images(images: Sequence[UploadedImage]) -> None:
    if not images:
        raise _openai_invalid(
            "Missing required parameter: 'image' (one or more image files, as 'image' or "
            "'image[]').",
            "image",
            "missing_required_parameter",
        )
    if len(images) > EDIT_MAX_IMAGES:
        raise _openai_invalid(
            f"Too many images: at most {EDIT_MAX_IMAGES}, got {len(images)}.",
            "image",
            "too_many_images",
        )
    for index, image in enumerate(images, 1):
        if image.size > EDIT_MAX_IMAGE_BYTES:
            raise _openai_invalid(
                f"Image {index} ({image.filename or image.field}) is {image.size} bytes; "
                f"each image must be at most {EDIT_MAX_IMAGE_BYTES // (1024 * 1024)} MiB.",
                "image",
                "image_too_large",
            )
        if sniff_image_format(image.head) is None:
            raise _openai_invalid(
                f"Invalid image file for image {index} ({image.filename or image.field}): "
                "unsupported format; supported formats are PNG, JPEG and WebP.",
                "image",
                "invalid_image_format",
            )


def parse_openai_edit(fields: Mapping[str, str], images: Sequence[UploadedImage]) -> GenRequest:
    """``POST /v1/images/edits``: the multipart text fields (prompt, model, n, size,
    response_format; others ignored) and the image parts already read from the body."""
    body: dict[str, Any] = dict(fields)
    n = body.get("n")
    if isinstance(n, str) and _DIGITS_RE.match(n.strip()):
        body["n"] = int(n)
    elif n == "":
        body["n"] = None
    return _openai_request(
        body, OPENAI_EDIT_DEFAULT_MODEL, openai_edit_model_known, _EDIT_MODEL_HINT, images
    )
