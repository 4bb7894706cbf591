"""The fonts every printed document is set in, for both programs (the site's slips and the
region's statements): Noto Sans, embedded in each PDF, so that every name prints
(`Nguyễn Thị Łucja`, not `Nguy■n Th■ ■ucja` as with reportlab's built-in Helvetica).

The TrueType files come with the `pymupdf-fonts` package: nothing is fetched at run time.
"""

from __future__ import annotations

import io
from functools import cache
from typing import Any

REGULAR = "NotoSans"
BOLD = "NotoSans-Bold"


@cache
def register_fonts() -> None:
    """Registers REGULAR and BOLD with reportlab, `<b>` of REGULAR being BOLD (once)."""
    from pymupdf_fonts import fontbuffers
    from reportlab.pdfbase import pdfmetrics
    from reportlab.pdfbase.ttfonts import TTFont

    for name, code in ((REGULAR, "notos"), (BOLD, "notosbo")):
        pdfmetrics.registerFont(TTFont(name, io.BytesIO(fontbuffers[code]())))
    pdfmetrics.registerFontFamily(
        REGULAR, normal=REGULAR, bold=BOLD, italic=REGULAR, boldItalic=BOLD
    )


def sample_styles() -> Any:  # reportlab's StyleSheet1
    """reportlab's sample style sheet, set in REGULAR, and BOLD where it was bold."""
    from reportlab.lib.styles import getSampleStyleSheet

    register_fonts()
    styles = getSampleStyleSheet()
    for style in styles.byName.values():
        font = getattr(style, "fontName", None)
        if font is not None:
            style.fontName = BOLD if "Bold" in font else REGULAR
    return styles
