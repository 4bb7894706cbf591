"""Files for the printer: one CSV line per pass, and optional QR sheets (one PNG per carnet).

Each pass carries its QR payload, signed by the region's key in service:
`PN1:<PROGRAMME>:<CODE13>:<YYYYMMDD>:<SIG>` while it is the region's first key, else
`PN2:<KID>:<PROGRAMME>:<CODE13>:<YYYYMMDD>:<SIG>` (docs/protocol.md, "Conventions").
"""

from __future__ import annotations

import csv
import io
from datetime import date
from pathlib import Path

import qrcode
from PIL import Image, ImageDraw

from mediateur_tui.domain.codes import format_code
from mediateur_tui.domain.formatting import format_date
from mediateur_tui.domain.scan_input import build_payload, signed_message
from mediateur_tui.domain.signatures import sign
from mediateur_tui.hub.database import Hub
from mediateur_tui.hub.registry import Issued
from mediateur_tui.protocol.files import private_text_file, write_file

CSV_HEADER = ("carnet", "position", "code", "qr_payload", "valid_until")
SHEET_COLUMNS = 5
_CAPTION_HEIGHT = 40


def pass_payload(hub: Hub, programme_id: str, code: str, valid_until: date) -> str:
    """The QR payload of one pass, signed by the key in service (PN2 naming it, after a
    rotation)."""
    kid = hub.payload_kid
    signature = sign(hub.region_key, signed_message(programme_id, code, valid_until, kid))
    return build_payload(programme_id, code, valid_until, signature, kid)


def write_printer_csv(issued: Issued, hub: Hub, out_dir: Path) -> Path:
    """carnet;position;code;qr_payload;valid_until — one line per pass, UTF-8."""
    programme = issued.programme
    first, last = issued.carnets[0].id, issued.carnets[-1].id
    path = out_dir / f"carnets-{programme.id}-{first}-{last}.csv"
    out_dir.mkdir(parents=True, exist_ok=True)
    with private_text_file(path) as handle:
        writer = csv.writer(handle, delimiter=";")
        writer.writerow(CSV_HEADER)
        for carnet in issued.carnets:
            for position, code in enumerate(carnet.codes, start=1):
                payload = pass_payload(hub, programme.id, code, programme.valid_until)
                writer.writerow(
                    (
                        carnet.id,
                        position,
                        format_code(code),
                        payload,
                        format_date(programme.valid_until),
                    )
                )
    return path


def write_qr_sheets(issued: Issued, hub: Hub, out_dir: Path) -> list[Path]:
    """One PNG per carnet: its QR codes in a grid, each with its printed code underneath."""
    programme = issued.programme
    folder = out_dir / "planches-qr"
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for carnet in issued.carnets:
        images = [
            _captioned(pass_payload(hub, programme.id, code, programme.valid_until), code)
            for code in carnet.codes
        ]
        width, height = images[0].size
        rows = -(-len(images) // SHEET_COLUMNS)
        sheet = Image.new("L", (width * SHEET_COLUMNS, height * rows), color=255)
        for index, image in enumerate(images):
            sheet.paste(image, ((index % SHEET_COLUMNS) * width, (index // SHEET_COLUMNS) * height))
        path = folder / f"carnet-{carnet.id}.png"
        png = io.BytesIO()
        sheet.save(png, format="PNG")
        write_file(path, png.getvalue())
        paths.append(path)
    return paths


def _captioned(payload: str, code: str) -> Image.Image:
    qr = qrcode.QRCode(border=4, box_size=6)
    qr.add_data(payload)
    qr.make(fit=True)
    picture = qr.make_image().get_image().convert("L")
    framed = Image.new("L", (picture.width, picture.height + _CAPTION_HEIGHT), color=255)
    framed.paste(picture, (0, 0))
    ImageDraw.Draw(framed).text(
        (picture.width // 2, picture.height + _CAPTION_HEIGHT // 3),
        format_code(code),
        fill=0,
        anchor="mt",
        font_size=16,
    )
    return framed
