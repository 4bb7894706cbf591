"""Image files for the tests that read images."""

from __future__ import annotations

import struct
import zlib

import qrcode
from PIL import Image


def png_claiming_size(path, width: int, height: int) -> None:
    """A tiny PNG file whose header claims a huge picture (a "decompression bomb")."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        crc = zlib.crc32(kind + data) & 0xFFFFFFFF
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", crc)

    header = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    path.write_bytes(
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(b""))
        + chunk(b"IEND", b"")
    )


def qr_sheet(path, payloads: list[str], per_row: int = 3) -> None:
    """One image holding a QR code of each payload, row by row (zbar reads them in order)."""
    tiles = [qrcode.make(payload).get_image().convert("L") for payload in payloads]
    side = max(tile.width for tile in tiles) + 20
    rows = -(-len(tiles) // per_row)
    sheet = Image.new("L", (per_row * side, rows * side), 255)
    for index, tile in enumerate(tiles):
        sheet.paste(tile, ((index % per_row) * side, (index // per_row) * side))
    sheet.save(path)
