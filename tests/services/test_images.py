"""Reading pass QR codes from image files with pyzbar (docs/passes.md)."""

from __future__ import annotations

import io
import random
import warnings

import pytest
import qrcode
from image_files import png_claiming_size
from PIL import Image, ImageFilter

from mediateur_tui.services.images import ImageReadError, decode_image

# Real-looking payloads: a 130-character base32 signature, as the demo region makes.
SIGNATURE = (
    "HMIYLVFMNAEK7T5JLV5TLH57URT54QTUSWKP4GMLTXIPIMIZNHV5OL75H4P5P4PSBOUHHTDH5PSUBPEOHFCHVRNMF"
)
PAYLOADS = [
    f"PN1:HDFNUM:7M6ETZWF057JV:20270527:{SIGNATURE}E7XBM2ZBWHAUDI",
    f"PN1:HDFNUM:N5JJX9K1QQXVD:20270527:{SIGNATURE}AAAAAAAAAAAAAA",
    f"PN1:HDFPREC:5TA8KTR9CR067:20261118:{SIGNATURE}QQQQQQQQQQQQQQ",
    "6W0ZMDSGPPR4Y",
]


def qr_image(payload: str) -> Image.Image:
    return qrcode.make(payload).get_image().convert("L")


def test_qr_image_gives_back_the_exact_payload(tmp_path):
    for index, payload in enumerate(PAYLOADS):
        path = tmp_path / f"pass-{index}.png"
        qrcode.make(payload).save(path)
        assert decode_image(path) == [payload]


def test_a_sheet_with_several_codes_gives_all_of_them_in_reading_order(tmp_path):
    tiles = [qr_image(payload) for payload in PAYLOADS]
    side = max(tile.width for tile in tiles) + 40
    sheet = Image.new("L", (2 * side, 3 * side), 255)
    # Two rows of two, then a lone tile far below: row by row, left to right.
    positions = [(0, 0), (side, 0), (0, 2 * side), (side, 2 * side)]
    for tile, position in zip(tiles, positions, strict=True):
        sheet.paste(tile, position)
    path = tmp_path / "planche.png"
    sheet.save(path)
    found = decode_image(path)
    assert sorted(found) == sorted(PAYLOADS)
    assert set(found[:2]) == set(PAYLOADS[:2])
    assert set(found[2:]) == set(PAYLOADS[2:])


def test_the_same_code_twice_on_a_sheet_is_read_once(tmp_path):
    tile = qr_image(PAYLOADS[0])
    sheet = Image.new("L", (tile.width * 2, tile.height), 255)
    sheet.paste(tile, (0, 0))
    sheet.paste(tile, (tile.width, 0))
    path = tmp_path / "double.png"
    sheet.save(path)
    assert decode_image(path) == [PAYLOADS[0]]


def photo_like(payload: str, seed: int = 7) -> Image.Image:
    """A QR code on a grey desk, turned, shrunk, noisy, slightly blurred."""
    tile = qr_image(payload)
    background = Image.new("L", (tile.width + 400, tile.height + 300), 150)
    background.paste(tile, (230, 140))
    turned = background.rotate(15, resample=Image.Resampling.BICUBIC, expand=True, fillcolor=150)
    small = turned.resize(
        (int(turned.width * 0.6), int(turned.height * 0.6)), Image.Resampling.LANCZOS
    )
    rng = random.Random(seed)
    noisy = bytes(max(0, min(255, int(value + rng.gauss(0, 12)))) for value in small.tobytes())
    noisy_image = Image.frombytes("L", small.size, noisy)
    return noisy_image.filter(ImageFilter.GaussianBlur(0.8)).convert("RGB")


def test_a_photo_like_image_is_still_read(tmp_path):
    payload = PAYLOADS[0]
    path = tmp_path / "photo.jpg"
    photo_like(payload).save(path, "JPEG", quality=70)
    with Image.open(path) as saved:
        assert saved.format == "JPEG"
    assert decode_image(path) == [payload]


def test_a_non_image_file_is_refused_in_french(tmp_path):
    path = tmp_path / "notes.png"
    path.write_text("ceci n'est pas une image", encoding="utf-8")
    with pytest.raises(ImageReadError, match="n'est pas une image lisible") as error:
        decode_image(path)
    assert "notes.png" in str(error.value)


def test_an_empty_file_is_refused(tmp_path):
    path = tmp_path / "vide.jpg"
    path.write_bytes(b"")
    with pytest.raises(ImageReadError, match="image lisible"):
        decode_image(path)


def test_a_missing_file_is_refused_in_french(tmp_path):
    path = tmp_path / "absent.png"
    with pytest.raises(ImageReadError, match="Fichier introuvable") as error:
        decode_image(path)
    assert str(path) in str(error.value)


def test_an_image_without_any_code_gives_nothing(tmp_path):
    rng = random.Random(3)
    image = Image.new("L", (320, 240), 200)
    for _ in range(40):
        x, y = rng.randrange(300), rng.randrange(220)
        image.paste(rng.randrange(256), (x, y, x + 20, y + 20))
    path = tmp_path / "paysage.png"
    image.save(path)
    assert decode_image(path) == []


def test_a_truncated_image_is_refused(tmp_path):
    whole = tmp_path / "entier.png"
    qrcode.make(PAYLOADS[0]).save(whole)
    path = tmp_path / "tronque.png"
    path.write_bytes(whole.read_bytes()[:200])
    with pytest.raises(ImageReadError, match="n'est pas une image lisible"):
        decode_image(path)


@pytest.mark.parametrize("kept", [20, 0.5])
@pytest.mark.parametrize("image_format", ["PNG", "JPEG", "GIF", "BMP", "TIFF", "WEBP"])
def test_a_truncated_file_of_any_format_says_it_in_french_and_pil_says_nothing(
    tmp_path, image_format, kept
):
    """PIL warns in English on some damaged files (a TIFF's "Corrupt EXIF data"): printed
    over the terminal the app draws on, or by scan-image."""
    whole = io.BytesIO()
    Image.new("RGB", (300, 300), "white").save(whole, image_format)
    path = tmp_path / f"tronque.{image_format.lower()}"
    data = whole.getvalue()
    path.write_bytes(data[: kept if isinstance(kept, int) else int(len(data) * kept)])
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        with pytest.raises(ImageReadError, match="n'est pas une image lisible"):
            decode_image(path)
    assert [str(warning.message) for warning in caught] == []


def test_a_huge_image_is_refused_with_a_french_message(tmp_path):
    path = tmp_path / "immense.png"
    png_claiming_size(path, 20_000, 20_000)
    with pytest.raises(ImageReadError, match="trop grande") as error:
        decode_image(path)
    assert "immense.png" in str(error.value)
