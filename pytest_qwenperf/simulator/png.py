"""Real, small PNG files of any size, written with zlib and struct only.

The picture is a gradient (red left to right, green top to bottom). Every row after the first
uses PNG filter 2 ("Up"), so a filtered row is almost all zeros and a 2048x2048 RGB image
compresses to a few kilobytes. Images are cached per size; the event loop should call
:func:`png_bytes_async`, which builds a missing size in a worker thread.
"""

from __future__ import annotations

import asyncio
import struct
import threading
import zlib

MIN_SIDE = 1
MAX_SIDE = 4096

_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def _chunk(kind: bytes, data: bytes) -> bytes:
    crc = zlib.crc32(kind + data) & 0xFFFFFFFF
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", crc)


def _green(y: int, height: int) -> int:
    return (y * 255) // max(height - 1, 1)


_cache: dict[tuple[int, int], bytes] = {}
_cache_lock = threading.Lock()
_CACHE_MAX = 64


def png_bytes(width: int, height: int) -> bytes:
    """A valid 8-bit RGB PNG of ``width`` x ``height`` pixels (cached per size)."""
    key = (width, height)
    cached = _cache.get(key)
    if cached is not None:
        return cached
    data = _build_png(width, height)
    with _cache_lock:
        if len(_cache) >= _CACHE_MAX:
            _cache.pop(next(iter(_cache)))
        _cache[key] = data
    return data


def _build_png(width: int, height: int) -> bytes:
    if not (MIN_SIDE <= width <= MAX_SIDE and MIN_SIDE <= height <= MAX_SIDE):
        raise ValueError(
            f"PNG size must be within {MIN_SIDE}..{MAX_SIDE} per side, got {width}x{height}"
        )
    blue = 160
    first = bytearray()
    for x in range(width):
        first += bytes(((x * 255) // max(width - 1, 1), 0, blue))
    # filter 0 (None) for the first row, then filter 2 (Up): each byte is the difference to the
    # byte above, which is 0 for red and blue and 0 or 1 for green.
    rows = [b"\x00" + bytes(first)]
    same = b"\x02" + bytes(3 * width)
    step = b"\x02" + b"\x00\x01\x00" * width
    previous_green = 0
    for y in range(1, height):
        green = _green(y, height)
        rows.append(
            same if green == previous_green else _step_row(width, green - previous_green, step)
        )
        previous_green = green
    raw = b"".join(rows)
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (
        _SIGNATURE
        + _chunk(b"IHDR", ihdr)
        + _chunk(b"IDAT", zlib.compress(raw, 9))
        + _chunk(b"IEND", b"")
    )


def _step_row(width: int, delta: int, step_of_one: bytes) -> bytes:
    if delta == 1:
        return step_of_one
    return b"\x02" + bytes((0, delta & 0xFF, 0)) * width


async def png_bytes_async(width: int, height: int) -> bytes:
    """:func:`png_bytes` without blocking the event loop when the size is not cached yet."""
    cached = _cache.get((width, height))
    if cached is not None:
        return cached
    loop = asyncio.get_running_loop()
    return await loop.run_in_executor(None, png_bytes, width, height)
