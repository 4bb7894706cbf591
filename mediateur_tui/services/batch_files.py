"""Files for the USB-key route: for each sealed batch, the signed document
(`remise-<site>-<period>.json.gz`), a CSV for a French spreadsheet and the PDF slip (bordereau)
a site manager prints, signs and keeps."""

from __future__ import annotations

import csv
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import Engine
from sqlmodel import Session

from mediateur_tui.domain.codes import format_code
from mediateur_tui.domain.formatting import (
    format_date,
    format_datetime,
    format_euros,
    format_time,
    local_date,
    plural,
    spreadsheet_euros,
    spreadsheet_text,
)
from mediateur_tui.domain.periods import period_label
from mediateur_tui.domain.site_identity import SiteIdentity
from mediateur_tui.pdf_fonts import BOLD, REGULAR, sample_styles
from mediateur_tui.protocol.documents import dump_gzip_json
from mediateur_tui.protocol.files import private_text_file, write_file
from mediateur_tui.protocol.instants import parse_instant
from mediateur_tui.protocol.signing import document_hash
from mediateur_tui.services.batches import BatchInfo, batch_document, list_batches
from mediateur_tui.services.pdf import identity_paragraphs, write_a4_pdf
from mediateur_tui.store import queries
from mediateur_tui.store.models import Site
from mediateur_tui.sync.errors import SyncError

INPUT_METHODS = {"scan": "lecteur", "image": "image", "cli": "saisie différée"}


@dataclass(frozen=True)
class ExportedBatch:
    batch: BatchInfo
    document: Path
    csv: Path
    pdf: Path


def batch_basename(document: dict[str, Any]) -> str:
    return f"remise-{document['site_id']}-{document['period']}"


def export_batches(
    engine: Engine, directory: Path, batch_id: str | None = None
) -> list[ExportedBatch]:
    """Writes, for one batch or for every batch not yet acknowledged, the signed document
    (`remise-<site>-<period>.json.gz`), a CSV (`;`, UTF-8 with BOM) and a PDF slip."""
    if batch_id is not None:
        batches = [info for info in list_batches(engine) if info.batch_id == batch_id]
        if not batches:
            raise SyncError(f"Remise inconnue sur ce poste : {batch_id}.")
    else:
        batches = list_batches(engine, pending_only=True)
    if not batches:
        return []
    try:
        directory.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise SyncError(
            f"Impossible de créer le dossier {directory} ({error.strerror})."
        ) from error
    with Session(engine) as session:
        meta = queries.replica_meta(session)
        site = session.get(Site, meta.site_id) if meta else None
        site_name = site.name if site else ""
        identity = site.identity() if site else None
    exported = []
    for info in batches:
        document = batch_document(engine, info.batch_id)
        base = directory / batch_basename(document)
        try:
            paths = (
                write_file(base.with_suffix(".json.gz"), dump_gzip_json(document)),
                write_batch_csv(document, base.with_suffix(".csv")),
                write_batch_pdf(document, site_name, base.with_suffix(".pdf"), identity),
            )
        except OSError as error:
            raise SyncError(f"Écriture impossible dans {directory} ({error.strerror}).") from error
        exported.append(ExportedBatch(info, *paths))
    return exported


CSV_COLUMNS = (
    "Identifiant",
    "Date",
    "Heure",
    "Code",
    "Séance",
    "Opérateur",
    "Saisie",
    "Montant (€)",
    "Provisoire",
)


def write_batch_csv(document: dict[str, Any], path: Path) -> Path:
    """The batch's lines for a French spreadsheet (dates JJ/MM/AAAA, amounts as numbers with
    a decimal comma), and a total line."""
    titles = {desk_session["id"]: desk_session["title"] for desk_session in document["sessions"]}
    with private_text_file(path, encoding="utf-8-sig") as stream:
        writer_ = csv.writer(stream, delimiter=";")
        writer_.writerow(CSV_COLUMNS)
        for line in document["redemptions"]:
            redeemed_at = parse_instant(line["redeemed_at"])
            writer_.writerow(
                [
                    line["id"],
                    format_date(local_date(redeemed_at)),
                    format_time(redeemed_at),
                    format_code(line["code"]),
                    spreadsheet_text(titles.get(line["session_id"], str(line["session_id"]))),
                    spreadsheet_text(line["operator"]),
                    INPUT_METHODS.get(line["input_method"], line["input_method"]),
                    spreadsheet_euros(line["value_cents"]),
                    "oui" if line["provisional"] else "non",
                ]
            )
        totals = document["totals"]
        amount = spreadsheet_euros(totals["value_cents"])
        count = f"{totals['redemptions']} pass"
        writer_.writerow(["Total", "", "", count, "", "", "", amount, ""])
    return path


def write_batch_pdf(
    document: dict[str, Any], site_name: str, path: Path, identity: SiteIdentity | None = None
) -> Path:
    """The slip (bordereau) a site manager prints, signs and keeps; the site's SIRET or RNA,
    INSEE code and postcode under its name when the region gave them."""
    from reportlab.lib import colors
    from reportlab.lib.units import mm
    from reportlab.platypus import Paragraph, Spacer, Table, TableStyle

    styles = sample_styles()
    normal, small = styles["Normal"], styles["BodyText"]
    totals = document["totals"]
    provisional = sum(1 for line in document["redemptions"] if line["provisional"])
    sealed_at = format_datetime(parse_instant(document["sealed_at"]))
    site = f"{site_name} ({document['site_id']})" if site_name else document["site_id"]
    story: list[Any] = [  # reportlab flowables
        Paragraph("Bordereau de remise de pass numériques", styles["Title"]),
        Paragraph(f"<b>Lieu :</b> {_escape(site)}", normal),
        *identity_paragraphs(identity, normal),
        Paragraph(f"<b>Région :</b> {_escape(document['region_id'])}", normal),
        Paragraph(f"<b>Période :</b> {period_label(document['period'])}", normal),
        Paragraph(
            f"<b>Remise n° {document['sequence']}</b> scellée le {sealed_at} — "
            f"identifiant {document['batch_id']}",
            normal,
        ),
        Paragraph(f"<b>Empreinte du document (SHA-256) :</b> {document_hash(document)}", small),
        Spacer(1, 5 * mm),
    ]
    titles = {desk_session["id"]: desk_session["title"] for desk_session in document["sessions"]}
    rows = [["N°", "Date", "Code", "Séance", "Opérateur", "Montant", "Prov."]]
    for number, line in enumerate(document["redemptions"], start=1):
        rows.append(
            [
                str(number),
                format_datetime(parse_instant(line["redeemed_at"])),
                format_code(line["code"]),
                _clip(titles.get(line["session_id"], str(line["session_id"])), 28),
                _clip(line["operator"], 20),
                format_euros(line["value_cents"]),
                "oui" if line["provisional"] else "",
            ]
        )
    rows.append(["", "", "", "", "Total", format_euros(totals["value_cents"]), ""])
    table = Table(rows, repeatRows=1, hAlign="LEFT")
    table.setStyle(
        TableStyle(
            [
                ("FONT", (0, 0), (-1, -1), REGULAR, 8),
                ("FONT", (0, 0), (-1, 0), BOLD, 8),
                ("FONT", (0, -1), (-1, -1), BOLD, 8),
                ("ALIGN", (5, 0), (5, -1), "RIGHT"),
                ("LINEBELOW", (0, 0), (-1, 0), 0.5, colors.black),
                ("LINEABOVE", (0, -1), (-1, -1), 0.5, colors.black),
            ]
        )
    )
    story += [
        table,
        Spacer(1, 5 * mm),
        Paragraph(
            f"<b>Total : {totals['redemptions']} pass — {format_euros(totals['value_cents'])}</b>",
            normal,
        ),
        Paragraph(
            f"Dont {plural(provisional, 'pass accepté', 'pass acceptés')} à titre provisoire "
            "(inconnus de la réplique, la région les vérifie).",
            normal,
        ),
        Paragraph(
            f"Séances : {len(document['sessions'])} — lectures refusées au guichet : "
            f"{totals['refused_scans']}.",
            normal,
        ),
        Spacer(1, 12 * mm),
        Paragraph("Fait à ____________________, le ____________", normal),
        Paragraph("Signature du ou de la responsable du lieu :", normal),
    ]

    def footer(canvas: Any, doc: Any) -> None:  # reportlab canvas and document
        canvas.saveState()
        canvas.setFont(REGULAR, 7)
        canvas.drawString(
            15 * mm,
            10 * mm,
            f"Remise {document['batch_id']} — {document['site_id']} — "
            f"{period_label(document['period'])} — page {doc.page}",
        )
        canvas.restoreState()

    return write_a4_pdf(
        path,
        story,
        f"Remise {document['site_id']} {document['period']}",
        document["site_id"],
        footer,
    )


def _escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _clip(text: str, width: int) -> str:
    return text if len(text) <= width else text[: width - 1] + "…"
