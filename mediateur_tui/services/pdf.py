"""Writing an A4 PDF (reportlab) the way every printed document of the site is written: the
same margins and fonts (pdf_fonts.py), and the file replaced whole (a cut never leaves half
a slip or receipt)."""

from __future__ import annotations

import io
from collections.abc import Callable
from pathlib import Path
from typing import Any

from mediateur_tui.domain.site_identity import SiteIdentity
from mediateur_tui.pdf_fonts import REGULAR, register_fonts
from mediateur_tui.protocol.files import write_file


def write_a4_pdf(
    path: Path,
    story: list[Any],
    title: str,
    author: str,
    footer: Callable[[Any, Any], None] | None = None,
) -> Path:
    """Builds `story` (reportlab flowables) into `path`; `footer(canvas, doc)` on every page."""
    from reportlab.lib.pagesizes import A4
    from reportlab.lib.units import mm
    from reportlab.platypus import SimpleDocTemplate

    register_fonts()
    content = io.BytesIO()
    document = SimpleDocTemplate(
        content,
        pagesize=A4,
        initialFontName=REGULAR,
        leftMargin=15 * mm,
        rightMargin=15 * mm,
        topMargin=15 * mm,
        bottomMargin=18 * mm,
        title=title,
        author=author,
    )
    if footer is None:
        document.build(story)
    else:
        document.build(story, onFirstPage=footer, onLaterPages=footer)
    return write_file(path, content.getvalue())


def identity_paragraphs(identity: SiteIdentity | None, style: Any) -> list[Any]:
    """The site's identity line on a printed document (a reportlab Paragraph in `style`);
    nothing for a site the region gave none, rather than empty labels."""
    from reportlab.platypus import Paragraph

    if identity is None:
        return []
    return [Paragraph(identity.printed(), style)]
