"""The printable receipt of an attribution of carnets (PDF, with reportlab).

It names the beneficiary only by the pseudonymous reference — the file stays on the site's
disk, where no name may be kept — and leaves a line for the beneficiary to sign by hand.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any
from xml.sax.saxutils import escape as _escape

from mediateur_tui.domain.beneficiaries import format_reference
from mediateur_tui.domain.errors import UserError
from mediateur_tui.domain.formatting import (
    format_date,
    format_datetime,
    format_euros,
    local_date,
    plural,
)
from mediateur_tui.domain.rulebooks import Rulebook
from mediateur_tui.domain.site_identity import SiteIdentity
from mediateur_tui.pdf_fonts import BOLD, REGULAR, sample_styles
from mediateur_tui.services.attribution import AttributionDesk, AttributionInfo
from mediateur_tui.services.pdf import identity_paragraphs, write_a4_pdf

RECEIPTS_FOLDER = "recus"


def receipt_path(data_dir: Path, info: AttributionInfo) -> Path:
    day = local_date(info.attributed_at).strftime("%Y%m%d")
    return data_dir / RECEIPTS_FOLDER / f"attribution-{day}-{info.id[:8]}.pdf"


def write_receipt(desk: AttributionDesk, attribution_id: str, path: Path | None = None) -> Path:
    """Writes the receipt (by default in the data directory's `recus/`) and returns its path."""
    info = desk.attribution(attribution_id)
    book = next((book for book in desk.rulebooks if book.id == info.rulebook), None)
    site_label, region = desk.site_and_region()
    target = path or receipt_path(desk.data_dir, info)
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        _build_pdf(info, book, (site_label, desk.site_identity()), region, target)
    except OSError as error:
        raise UserError(
            f"Reçu impossible à écrire dans {target} : {error.strerror or error}."
        ) from error
    return target


def _build_pdf(
    info: AttributionInfo,
    book: Rulebook | None,
    site: tuple[str, SiteIdentity | None],
    region: str,
    path: Path,
) -> None:
    from reportlab.lib import colors
    from reportlab.lib.units import mm
    from reportlab.platypus import Paragraph, Spacer, Table, TableStyle

    styles = sample_styles()
    normal = styles["Normal"]
    site_label, identity = site
    category = (
        book.categories[info.category].label if book and info.category in book.categories else None
    )
    unit = book.unit_value_cents if book else 0
    how = "accompagnée par un prescripteur" if info.accompanied else "faite seule"
    story: list[Any] = [  # reportlab flowables
        Paragraph("Reçu d'attribution de pass numériques", styles["Title"]),
        Paragraph(f"<b>Structure distributrice :</b> {_escape(site_label)}", normal),
        *identity_paragraphs(identity, normal),
        Paragraph(f"<b>Région :</b> {_escape(region)}", normal),
        Paragraph(
            f"<b>Remis le</b> {format_datetime(info.attributed_at)} par "
            f"{_escape(info.operator_name)}",
            normal,
        ),
        Paragraph(
            "<b>Bénéficiaire (référence pseudonyme) :</b> "
            + format_reference(info.beneficiary_ref),
            normal,
        ),
        Paragraph(
            f"<b>Demande</b> reçue le {format_date(info.received_on)}, {how} — catégorie : "
            f"{_escape(category or info.category)}",
            normal,
        ),
        Paragraph(
            f"<b>Règlement appliqué :</b> {_escape(book.title if book else info.rulebook)} "
            f"({info.rulebook})",
            normal,
        ),
        Spacer(1, 5 * mm),
    ]
    rows = [["Carnet", "Pass", "Programme", "Valables jusqu'au", "Valeur"]]
    for carnet in info.carnets:
        rows.append(
            [
                carnet.id,
                str(carnet.size),
                _escape(carnet.programme_label)[:40],
                format_date(carnet.valid_until),
                format_euros(carnet.size * unit) if unit else "",
            ]
        )
    rows.append(
        ["Total", str(info.passes), "", "", format_euros(info.passes * unit) if unit else ""]
    )
    table = Table(rows, hAlign="LEFT")
    table.setStyle(
        TableStyle(
            [
                ("FONT", (0, 0), (-1, -1), REGULAR, 9),
                ("FONT", (0, 0), (-1, 0), BOLD, 9),
                ("FONT", (0, -1), (-1, -1), BOLD, 9),
                ("ALIGN", (1, 0), (1, -1), "RIGHT"),
                ("ALIGN", (4, 0), (4, -1), "RIGHT"),
                ("LINEBELOW", (0, 0), (-1, 0), 0.5, colors.black),
                ("LINEABOVE", (0, -1), (-1, -1), 0.5, colors.black),
            ]
        )
    )
    story += [table, Spacer(1, 5 * mm)]
    story += [Paragraph(_escape(reason), normal) for reason in info.reasons]
    story += [
        Spacer(1, 3 * mm),
        Paragraph(
            f"{plural(info.passes, 'pass', 'pass')} remis. Ils seront acceptés dans les lieux de "
            "médiation une fois l'attribution enregistrée par la région (à la prochaine "
            "synchronisation de la structure).",
            normal,
        ),
        Paragraph(f"Identifiant de l'attribution : {info.id}", styles["BodyText"]),
        Spacer(1, 12 * mm),
        Paragraph("Signature du ou de la bénéficiaire :", normal),
        Spacer(1, 12 * mm),
        Paragraph("Signature et cachet de la structure distributrice :", normal),
    ]
    write_a4_pdf(path, story, f"Attribution {info.id}", site_label)
