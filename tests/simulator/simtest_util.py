"""Helpers shared by the simulator tests (imported by name; the prefix avoids collisions)."""

from __future__ import annotations

import struct
import zlib
from typing import Any

import numpy as np

from pytest_qwenperf.simulator import Simulator


def t2i_body(
    prompt: str = "a cat", size: str | None = "1328*1328", **params: Any
) -> dict[str, Any]:
    """A DashScope sync text-to-image request body."""
    parameters: dict[str, Any] = dict(params)
    if size is not None:
        parameters["size"] = size
    return {
        "model": "qwen-image-plus",
        "input": {"messages": [{"role": "user", "content": [{"text": prompt}]}]},
        "parameters": parameters,
    }


def records(sim: Simulator, api: str | None = None) -> list[dict[str, Any]]:
    return [r for r in sim.stats() if api is None or r["api"] == api]


def decode_png(data: bytes) -> np.ndarray[Any, Any]:
    """A minimal independent PNG decoder (8-bit RGB, non-interlaced): parse the chunks, check
    the CRCs, inflate IDAT and undo all five scanline filters. Returns an HxWx3 array."""
    assert data[:8] == b"\x89PNG\r\n\x1a\n", "not a PNG signature"
    pos, idat, header = 8, b"", None
    while pos < len(data):
        (length,) = struct.unpack(">I", data[pos : pos + 4])
        kind = data[pos + 4 : pos + 8]
        chunk = data[pos + 8 : pos + 8 + length]
        (crc,) = struct.unpack(">I", data[pos + 8 + length : pos + 12 + length])
        assert zlib.crc32(kind + chunk) & 0xFFFFFFFF == crc, f"bad CRC in {kind!r}"
        if kind == b"IHDR":
            header = struct.unpack(">IIBBBBB", chunk)
        elif kind == b"IDAT":
            idat += chunk
        elif kind == b"IEND":
            break
        pos += 12 + length
    assert header is not None, "no IHDR"
    width, height, depth, color, _, _, interlace = header
    assert (depth, color, interlace) == (8, 2, 0), header
    raw = zlib.decompress(idat)
    stride = 3 * width
    assert len(raw) == height * (stride + 1)
    out = np.zeros((height, stride), dtype=np.int32)
    prev = np.zeros(stride, dtype=np.int32)
    for y in range(height):
        kind_byte = raw[y * (stride + 1)]
        line = np.frombuffer(raw, np.uint8, stride, y * (stride + 1) + 1).astype(np.int32)
        if kind_byte == 0:
            row = line
        elif kind_byte == 2:  # Up
            row = (line + prev) & 0xFF
        elif kind_byte == 1:  # Sub: running sum per channel
            row = (np.cumsum(line.reshape(width, 3), axis=0) & 0xFF).reshape(stride)
        else:  # Average and Paeth, byte by byte (our encoder does not use them)
            row = _unfilter_slow(int(kind_byte), line, prev)
        out[y] = row
        prev = row
    return out.reshape(height, width, 3).astype(np.uint8)


def _unfilter_slow(kind: int, line: np.ndarray[Any, Any], prev: np.ndarray[Any, Any]) -> Any:
    row = np.zeros(len(line), dtype=np.int32)
    for x in range(len(line)):
        a = int(row[x - 3]) if x >= 3 else 0
        b = int(prev[x])
        c = int(prev[x - 3]) if x >= 3 else 0
        if kind == 3:
            pred = (a + b) // 2
        else:
            p = a + b - c
            pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
            pred = a if pa <= pb and pa <= pc else (b if pb <= pc else c)
        row[x] = (int(line[x]) + pred) & 0xFF
    return row
