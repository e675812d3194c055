"""A tiny PNG encoder (zlib + struct): solid-colour RGB images, cached per size."""

from __future__ import annotations

import functools
import struct
import zlib

COLOUR = (58, 110, 165)  # one fixed colour: the pixels are not what the suite checks


def _chunk(kind: bytes, data: bytes) -> bytes:
    crc = zlib.crc32(kind + data) & 0xFFFFFFFF
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", crc)


@functools.lru_cache(maxsize=16)
def solid_png(width: int, height: int) -> bytes:
    """A valid width x height 8-bit RGB PNG of one colour."""
    if not (0 < width <= 8192 and 0 < height <= 8192):
        raise ValueError(f"unsupported PNG size {width}x{height}")
    row = b"\x00" + bytes(COLOUR) * width  # filter type 0, then the pixels
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)  # 8-bit truecolour
    return b"".join(
        (
            b"\x89PNG\r\n\x1a\n",
            _chunk(b"IHDR", header),
            _chunk(b"IDAT", zlib.compress(row * height, 6)),
            _chunk(b"IEND", b""),
        )
    )


def png_size(data: bytes) -> tuple[int, int] | None:
    """The (width, height) in a PNG's IHDR, or None when `data` is not a PNG."""
    if len(data) < 24 or data[:8] != b"\x89PNG\r\n\x1a\n" or data[12:16] != b"IHDR":
        return None
    width, height = struct.unpack(">II", data[16:24])
    return int(width), int(height)
