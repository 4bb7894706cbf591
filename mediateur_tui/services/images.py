"""Read pass QR codes and barcodes from image files (phone photos, scans) with pyzbar.

PIL and pyzbar are imported when an image is read, not with this module: the session screen
imports it, and the app's start must not pay for them."""

from __future__ import annotations

import warnings
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

from mediateur_tui.domain.errors import UserError

if TYPE_CHECKING:
    from PIL import Image

MAX_SIDE = 2400  # larger photos are scaled down: zbar is faster and no less accurate
MAX_PIXELS = 60_000_000  # read from the header before anything is decoded (a phone takes 50 MP)


class ImageReadError(UserError):
    """An image that cannot be read, with a French message."""


def decode_image(path: Path) -> list[str]:
    """The text of every QR code or barcode found in the image, in reading order, no repeats."""
    from PIL import Image, ImageOps, UnidentifiedImageError

    zbar_decode, symbologies = _zbar()
    try:
        with warnings.catch_warnings():  # PIL's own warnings (English): large image, bad EXIF…
            warnings.simplefilter("ignore")
            with Image.open(path) as opened:
                _refuse_too_large(opened, path)
                opened.draft("L", (MAX_SIDE, MAX_SIDE))  # a JPEG decodes at a fraction of its size
                image = ImageOps.exif_transpose(opened).convert("L")
    except FileNotFoundError as error:
        raise ImageReadError(f"Fichier introuvable : {path}") from error
    except (UnidentifiedImageError, OSError) as error:
        raise ImageReadError(f"Ce fichier n'est pas une image lisible : {path.name}") from error
    except Image.DecompressionBombError as error:  # not an OSError: would crash the caller
        raise ImageReadError(f"Image trop grande pour être lue : {path.name}") from error
    image.thumbnail((MAX_SIDE, MAX_SIDE))
    for attempt in _attempts(image):
        found = _decode(attempt, zbar_decode, symbologies)
        if found:
            return found
    return []


def _zbar() -> tuple[Callable[..., Any], list[Any]]:
    """zbar's decoder and the symbologies of a pass: QR codes or Code 128 barcodes. Asking zbar
    for these only is faster, and keeps its other decoders from printing warnings on the
    terminal that the app draws on."""
    try:
        from pyzbar.pyzbar import ZBarSymbol
        from pyzbar.pyzbar import decode as zbar_decode
    except ImportError as error:  # the system library libzbar0 is missing
        raise ImageReadError(
            "La lecture d'images demande la bibliothèque zbar : "
            f"installez le paquet libzbar0 ({error})."
        ) from error
    return zbar_decode, [ZBarSymbol.QRCODE, ZBarSymbol.CODE128]


def _refuse_too_large(image: Image.Image, path: Path) -> None:
    width, height = image.size
    if width * height > MAX_PIXELS:
        raise ImageReadError(
            f"Image trop grande pour être lue : {path.name} ({width} × {height} pixels ; "
            f"{MAX_PIXELS // 1_000_000} millions au plus). Réduisez-la ou photographiez le pass "
            "de plus près."
        )


def _attempts(image: Image.Image) -> Iterator[Image.Image]:
    """The image as is, then cleaned-up versions that help zbar with noisy photos."""
    from PIL import Image, ImageFilter, ImageOps

    yield image
    yield image.filter(ImageFilter.MedianFilter(3))
    yield ImageOps.autocontrast(image.filter(ImageFilter.GaussianBlur(1)))
    if max(image.size) < MAX_SIDE // 2:
        yield image.resize((image.width * 2, image.height * 2), Image.Resampling.LANCZOS)


def _decode(
    image: Image.Image, zbar_decode: Callable[..., Any], symbologies: list[Any]
) -> list[str]:
    texts: list[str] = []
    found = zbar_decode(image, symbols=symbologies)
    symbols = sorted(found, key=lambda s: (s.rect.top, s.rect.left))
    for symbol in symbols:
        text = symbol.data.decode("utf-8", errors="replace")
        if text not in texts:
            texts.append(text)
    return texts
