"""Monthly batches (remises): sealing, files for the USB-key route, and the region's answer.

`seal_batch` puts every active redemption not yet remitted whose time is before the first
instant of the next month (French time) into one pn-batch/1, with the sessions those
redemptions belong to and the refused scans not yet remitted, signs it with the site key and
stores it, with each redemption's `batch_id`, in ONE transaction. A sealed batch never changes;
batches form a hash chain through `sequence` and `previous_hash`.

`import_ack` verifies the region's pn-ack/1 and stores its verdict for every line.
"""

from __future__ import annotations

import csv
import json
import logging
import os
import re
import uuid
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, literal_column, update
from sqlmodel import Session, select

from mediateur_tui.domain.codes import format_code
from mediateur_tui.domain.formatting import (
    LOCAL_TZ,
    format_date,
    format_datetime,
    format_euros,
    local_date,
)
from mediateur_tui.store import queries
from mediateur_tui.store.audit import append_event
from mediateur_tui.store.engine import writer
from mediateur_tui.store.models import (
    AckLine,
    Batch,
    DeskSession,
    Operator,
    Redemption,
    RefusedScan,
    Site,
)
from mediateur_tui.sync.errors import NothingToDo, SyncError
from mediateur_tui.sync.instants import iso_instant, parse_instant
from mediateur_tui.sync.keys import load_site_key
from mediateur_tui.sync.protocol import (
    ACK,
    BATCH,
    LINE_ACCEPTED,
    LINE_REFUSED,
    REFUSAL_REASONS,
    ProtocolError,
    document_hash,
    dump_gzip_json,
    dump_json,
    load_json,
    region_signer,
    sign_document,
    site_signer,
    verify_document,
)

log = logging.getLogger(__name__)

MONTHS = (
    "janvier",
    "février",
    "mars",
    "avril",
    "mai",
    "juin",
    "juillet",
    "août",
    "septembre",
    "octobre",
    "novembre",
    "décembre",
)
_PERIOD = re.compile(r"^(\d{4})-(0[1-9]|1[0-2])$")
INPUT_METHODS = {"scan": "lecteur", "image": "image", "cli": "saisie différée"}
REFUSAL_LABELS = {
    "conflict": "déjà encaissé ailleurs",
    "revoked": "pass en opposition",
    "expired": "pass expiré",
    "unknown": "pass inconnu du registre",
    "not_attributed": "carnet non attribué",
    "duplicate_line": "ligne en double",
}


# --- periods --------------------------------------------------------------------------------


def parse_period(text: str) -> str:
    """`YYYY-MM`, checked; French error otherwise."""
    text = text.strip()
    if not _PERIOD.match(text):
        raise SyncError(f"Mois invalide : « {text} » (format attendu AAAA-MM, par ex. 2026-03).")
    return text


def _year_month(period: str) -> tuple[int, int]:
    match = _PERIOD.match(parse_period(period))
    assert match is not None
    return int(match.group(1)), int(match.group(2))


def _next_month(year: int, month: int) -> tuple[int, int]:
    return (year + 1, 1) if month == 12 else (year, month + 1)


def period_bounds(period: str) -> tuple[datetime, datetime]:
    """[first instant, first instant of the next month) of a month in French time, in UTC."""
    year, month = _year_month(period)
    start = datetime.combine(date(year, month, 1), time(), tzinfo=LOCAL_TZ)
    end = datetime.combine(date(*_next_month(year, month), 1), time(), tzinfo=LOCAL_TZ)
    return start.astimezone(UTC), end.astimezone(UTC)


def previous_period(now: datetime) -> str:
    """The month before the current one (in France): what a month end closes by default."""
    today = local_date(now)
    year, month = (today.year - 1, 12) if today.month == 1 else (today.year, today.month - 1)
    return f"{year:04d}-{month:02d}"


def period_label(period: str) -> str:
    """`2026-03` -> `mars 2026`."""
    year, month = _year_month(period)
    return f"{MONTHS[month - 1]} {year}"


# --- what the screens and the command line see ----------------------------------------------


@dataclass(frozen=True)
class BatchInfo:
    batch_id: str
    period: str
    sequence: int
    sealed_at: datetime
    redemption_count: int
    value_cents: int
    refused_count: int
    document_hash: str
    sent_at: datetime | None
    acknowledged_at: datetime | None

    @classmethod
    def of(cls, row: Batch) -> BatchInfo:
        return cls(
            batch_id=row.batch_id,
            period=row.period,
            sequence=row.sequence,
            sealed_at=row.sealed_at,
            redemption_count=row.redemption_count,
            value_cents=row.value_cents,
            refused_count=row.refused_count,
            document_hash=row.document_hash,
            sent_at=row.sent_at,
            acknowledged_at=row.acknowledged_at,
        )

    @property
    def label(self) -> str:
        return f"remise n° {self.sequence} ({period_label(self.period)})"


@dataclass(frozen=True)
class AckLineInfo:
    redemption_id: str
    code: str
    verdict: str
    reason: str | None
    winner_site_id: str | None
    winner_redeemed_at: datetime | None
    value_cents: int

    @property
    def accepted(self) -> bool:
        return self.verdict == LINE_ACCEPTED

    def describe(self) -> str:
        """E.g. `7K3M-9QXR-4TBEZ : refusé — déjà encaissé ailleurs (FOURMIES-MEDIA, …)`."""
        shown = format_code(self.code)
        if self.accepted:
            return f"{shown} : accepté, {format_euros(self.value_cents)}"
        reason = REFUSAL_LABELS.get(self.reason or "", self.reason or "motif non précisé")
        if self.winner_site_id:
            when = format_datetime(self.winner_redeemed_at) if self.winner_redeemed_at else ""
            reason += f" ({self.winner_site_id}, {when})" if when else f" ({self.winner_site_id})"
        return f"{shown} : refusé — {reason}"


@dataclass(frozen=True)
class AckSummary:
    batch: BatchInfo
    accepted: int
    accepted_cents: int
    refused: int
    lines: list[AckLineInfo] = field(default_factory=list)
    already_imported: bool = False

    @property
    def refused_lines(self) -> list[AckLineInfo]:
        return [line for line in self.lines if not line.accepted]


@dataclass(frozen=True)
class ExportedBatch:
    batch: BatchInfo
    document: Path
    csv: Path
    pdf: Path


# --- sealing --------------------------------------------------------------------------------


def seal_batch(
    engine: Engine,
    data_dir: Path,
    period: str,
    now: datetime,
    operator_id: int | None = None,
) -> BatchInfo:
    """Seals the month `period` into one signed batch (see the module's docstring)."""
    period = parse_period(period)
    label = period_label(period)
    _, end = period_bounds(period)
    if now < end:
        raise SyncError(
            f"Le mois de {label} n'est pas terminé : il pourra être clos à partir du "
            f"{format_date(local_date(end))}."
        )
    key = load_site_key(data_dir)
    with Session(writer(engine)) as session:
        meta = queries.replica_meta(session)
        if meta is None:
            raise SyncError("Aucune réplique du registre sur ce poste : rien à remettre.")
        closed = session.exec(select(Batch).where(Batch.period == period)).first()
        if closed is not None:
            raise SyncError(
                f"Le mois de {label} est déjà clos : remise n° {closed.sequence} du "
                f"{format_datetime(closed.sealed_at)}."
            )
        unremitted = (
            Redemption.cancelled_at.is_(None),
            Redemption.batch_id.is_(None),
            Redemption.redeemed_at < end,
        )
        redemptions = session.exec(
            select(Redemption, Operator.name)
            .join(Operator, Operator.id == Redemption.operator_id)
            .where(*unremitted)
            .order_by(Redemption.redeemed_at, literal_column("redemption.rowid"))
        ).all()
        if not redemptions:
            raise NothingToDo(
                f"Aucun encaissement à remettre pour {label} : aucune remise n'a été créée."
            )
        refused_unremitted = (RefusedScan.batch_id.is_(None), RefusedScan.at < end)
        refused = session.exec(
            select(RefusedScan).where(*refused_unremitted).order_by(RefusedScan.at, RefusedScan.id)
        ).all()
        session_ids = sorted({redemption.session_id for redemption, _ in redemptions})
        desk_sessions = session.exec(
            select(DeskSession).where(DeskSession.id.in_(session_ids)).order_by(DeskSession.id)
        ).all()
        previous = session.exec(select(Batch).order_by(Batch.sequence.desc()).limit(1)).first()

        document = {
            "format": BATCH,
            "batch_id": uuid.uuid4().hex,
            "region_id": meta.region_id,
            "site_id": meta.site_id,
            "period": period,
            "sequence": previous.sequence + 1 if previous else 1,
            "previous_hash": document_hash(json.loads(previous.document)) if previous else None,
            "sealed_at": iso_instant(now),
            "sessions": [_session_line(row) for row in desk_sessions],
            "redemptions": [_redemption_line(row, name) for row, name in redemptions],
            "refused_scans": [_refused_line(row) for row in refused],
            "totals": {
                "redemptions": len(redemptions),
                "value_cents": sum(row.value_cents for row, _ in redemptions),
                "refused_scans": len(refused),
            },
        }
        signed = sign_document(document, key, site_signer(meta.site_id))
        batch = Batch(
            batch_id=signed["batch_id"],
            period=period,
            sequence=signed["sequence"],
            sealed_at=now,
            previous_hash=signed["previous_hash"],
            document_hash=document_hash(signed),
            document=dump_json(signed).decode("utf-8"),
            redemption_count=len(redemptions),
            value_cents=signed["totals"]["value_cents"],
            refused_count=len(refused),
        )
        session.add(batch)
        session.flush()
        marked = session.exec(
            update(Redemption).where(*unremitted).values(batch_id=batch.batch_id)
        ).rowcount
        marked_refused = session.exec(
            update(RefusedScan).where(*refused_unremitted).values(batch_id=batch.batch_id)
        ).rowcount
        if marked != len(redemptions) or marked_refused != len(refused):  # pragma: no cover
            raise SyncError("La base a changé pendant la clôture : recommencez.")
        append_event(
            session,
            now,
            "batch_sealed",
            operator_id,
            {
                "batch_id": batch.batch_id,
                "period": period,
                "sequence": batch.sequence,
                "redemptions": batch.redemption_count,
                "value_cents": batch.value_cents,
                "refused_scans": batch.refused_count,
                "document_hash": batch.document_hash,
            },
        )
        info = BatchInfo.of(batch)
        session.commit()
    log.info("batch %s sealed: %s (%s lines)", info.batch_id, period, info.redemption_count)
    return info


def _session_line(row: DeskSession) -> dict[str, Any]:
    return {
        "id": row.id,
        "title": row.title,
        "kind": row.kind,
        "themes": row.themes,
        "duration_minutes": row.duration_minutes,
        "started_at": iso_instant(row.started_at),
        "ended_at": iso_instant(row.ended_at) if row.ended_at else None,
    }


def _redemption_line(row: Redemption, operator_name: str) -> dict[str, Any]:
    return {
        "id": row.id,
        "code": row.code,
        "session_id": row.session_id,
        "operator": operator_name,
        "redeemed_at": iso_instant(row.redeemed_at),
        "input_method": row.input_method,
        "value_cents": row.value_cents,
        "provisional": bool(row.provisional),
    }


def _refused_line(row: RefusedScan) -> dict[str, Any]:
    return {
        "at": iso_instant(row.at),
        "input": row.raw_input,
        "code": row.code,
        "verdict": row.verdict,
    }


# --- reading batches ------------------------------------------------------------------------


def list_batches(engine: Engine, pending_only: bool = False) -> list[BatchInfo]:
    """Sealed batches, oldest first; `pending_only`: those without the region's answer yet."""
    with Session(engine) as session:
        query = select(Batch).order_by(Batch.sequence)
        if pending_only:
            query = query.where(Batch.acknowledged_at.is_(None))
        return [BatchInfo.of(row) for row in session.exec(query)]


def batch_document(engine: Engine, batch_id: str) -> dict[str, Any]:
    """The signed pn-batch/1 exactly as sealed."""
    with Session(engine) as session:
        row = session.get(Batch, batch_id)
        if row is None:
            raise SyncError(f"Remise inconnue sur ce poste : {batch_id}.")
        return json.loads(row.document)


def mark_sent(engine: Engine, batch_id: str, now: datetime) -> None:
    """Records the first attempt to send a batch (a later run then asks the hub for its ack)."""
    with Session(writer(engine)) as session:
        row = session.get(Batch, batch_id)
        if row is not None and row.sent_at is None:
            row.sent_at = now
            session.add(row)
            session.commit()


def ack_lines(engine: Engine, batch_id: str) -> list[AckLineInfo]:
    """The region's verdicts on a batch's lines, in the batch's order (empty before the ack)."""
    values = {
        line["id"]: line["value_cents"] for line in batch_document(engine, batch_id)["redemptions"]
    }
    with Session(engine) as session:
        rows = session.exec(select(AckLine).where(AckLine.batch_id == batch_id)).all()
    order = {redemption_id: index for index, redemption_id in enumerate(values)}
    rows = sorted(rows, key=lambda row: order.get(row.redemption_id, len(order)))
    return [_line_info(row, values.get(row.redemption_id, 0)) for row in rows]


def _line_info(row: AckLine, value_cents: int) -> AckLineInfo:
    return AckLineInfo(
        redemption_id=row.redemption_id,
        code=row.code,
        verdict=row.verdict,
        reason=row.reason,
        winner_site_id=row.winner_site_id,
        winner_redeemed_at=row.winner_redeemed_at,
        value_cents=value_cents,
    )


# --- files for the USB-key route ------------------------------------------------------------


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
    exported = []
    for info in batches:
        document = batch_document(engine, info.batch_id)
        base = directory / batch_basename(document)
        try:
            paths = (
                _write_atomically(base.with_suffix(".json.gz"), dump_gzip_json(document)),
                write_batch_csv(document, base.with_suffix(".csv")),
                write_batch_pdf(document, site_name, base.with_suffix(".pdf")),
            )
        except OSError as error:
            raise SyncError(f"Écriture impossible dans {directory} ({error.strerror}).") from error
        exported.append(ExportedBatch(info, *paths))
    return exported


def _write_atomically(path: Path, data: bytes) -> Path:
    temporary = path.with_name(path.name + ".tmp")
    with temporary.open("wb") as stream:
        stream.write(data)
        stream.flush()
        os.fsync(stream.fileno())
    temporary.replace(path)
    return path


CSV_COLUMNS = (
    "Identifiant",
    "Date",
    "Code",
    "Séance",
    "Opérateur",
    "Saisie",
    "Montant",
    "Provisoire",
)


def write_batch_csv(document: dict[str, Any], path: Path) -> Path:
    """The batch's lines for a French spreadsheet, and a total line."""
    titles = {desk_session["id"]: desk_session["title"] for desk_session in document["sessions"]}
    with path.open("w", encoding="utf-8-sig", newline="") as stream:
        writer_ = csv.writer(stream, delimiter=";")
        writer_.writerow(CSV_COLUMNS)
        for line in document["redemptions"]:
            writer_.writerow(
                [
                    line["id"],
                    format_datetime(parse_instant(line["redeemed_at"])),
                    format_code(line["code"]),
                    titles.get(line["session_id"], str(line["session_id"])),
                    line["operator"],
                    INPUT_METHODS.get(line["input_method"], line["input_method"]),
                    format_euros(line["value_cents"]),
                    "oui" if line["provisional"] else "non",
                ]
            )
        totals = document["totals"]
        amount = format_euros(totals["value_cents"])
        writer_.writerow(["Total", "", f"{totals['redemptions']} pass", "", "", "", amount, ""])
    return path


def write_batch_pdf(document: dict[str, Any], site_name: str, path: Path) -> Path:
    """The slip (bordereau) a site manager prints, signs and keeps."""
    from reportlab.lib import colors
    from reportlab.lib.pagesizes import A4
    from reportlab.lib.styles import getSampleStyleSheet
    from reportlab.lib.units import mm
    from reportlab.platypus import Paragraph, SimpleDocTemplate, Spacer, Table, TableStyle

    styles = getSampleStyleSheet()
    normal, small = styles["Normal"], styles["BodyText"]
    totals = document["totals"]
    provisional = sum(1 for line in document["redemptions"] if line["provisional"])
    sealed_at = format_datetime(parse_instant(document["sealed_at"]))
    site = f"{site_name} ({document['site_id']})" if site_name else document["site_id"]
    story: list = [
        Paragraph("Bordereau de remise de pass numériques", styles["Title"]),
        Paragraph(f"<b>Lieu :</b> {_escape(site)}", normal),
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
                ("FONT", (0, 0), (-1, -1), "Helvetica", 8),
                ("FONT", (0, 0), (-1, 0), "Helvetica-Bold", 8),
                ("FONT", (0, -1), (-1, -1), "Helvetica-Bold", 8),
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
            f"Dont {provisional} pass accepté(s) à titre provisoire (inconnus de la réplique, "
            "la région les vérifie).",
            normal,
        ),
        Paragraph(
            f"Séances : {len(document['sessions'])} — scans refusés au guichet : "
            f"{totals['refused_scans']}.",
            normal,
        ),
        Spacer(1, 12 * mm),
        Paragraph("Fait à ____________________, le ____________", normal),
        Paragraph("Signature du ou de la responsable du lieu :", normal),
    ]

    def footer(canvas, doc) -> None:
        canvas.saveState()
        canvas.setFont("Helvetica", 7)
        canvas.drawString(
            15 * mm,
            10 * mm,
            f"Remise {document['batch_id']} — {document['site_id']} — "
            f"{period_label(document['period'])} — page {doc.page}",
        )
        canvas.restoreState()

    temporary = path.with_name(path.name + ".tmp")
    SimpleDocTemplate(
        str(temporary),
        pagesize=A4,
        leftMargin=15 * mm,
        rightMargin=15 * mm,
        topMargin=15 * mm,
        bottomMargin=18 * mm,
        title=f"Remise {document['site_id']} {document['period']}",
        author=document["site_id"],
    ).build(story, onFirstPage=footer, onLaterPages=footer)
    temporary.replace(path)
    return path


def _escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _clip(text: str, width: int) -> str:
    return text if len(text) <= width else text[: width - 1] + "…"


# --- the region's acknowledgement -----------------------------------------------------------


def read_ack_file(path: Path) -> dict[str, Any]:
    try:
        data = path.read_bytes()
    except FileNotFoundError as error:
        raise SyncError(f"Fichier introuvable : {path}") from error
    except OSError as error:
        raise SyncError(f"Fichier illisible : {path} ({error.strerror}).") from error
    return load_json(data, ACK)


def import_ack(
    engine: Engine, ack: dict[str, Any], now: datetime, expected_batch_id: str | None = None
) -> AckSummary:
    """Verifies a pn-ack/1 and stores its lines. Importing the same answer again changes
    nothing; a different answer for an already acknowledged batch is refused."""
    if not isinstance(ack, dict) or ack.get("format") != ACK:
        raise ProtocolError(f"Document inattendu : {ACK} attendu.")
    with Session(engine) as session:
        meta = queries.replica_meta(session)
        if meta is None or meta.region_public_key is None:
            raise ProtocolError(
                "La clé de la région est inconnue sur ce poste : impossible de vérifier "
                "l'accusé de réception."
            )
        region_id, region_key, site_id = meta.region_id, meta.region_public_key, meta.site_id
    verify_document(ack, region_key, region_signer(region_id))
    if ack.get("region_id") != region_id or ack.get("site_id") != site_id:
        raise ProtocolError(
            f"Cet accusé de réception est destiné au lieu « {ack.get('site_id')} » "
            f"(région « {ack.get('region_id')} »), pas à ce poste ({site_id}) : refusé."
        )
    batch_id = ack.get("batch_id")
    if expected_batch_id is not None and batch_id != expected_batch_id:
        raise ProtocolError(
            f"La région a répondu pour la remise {batch_id} au lieu de {expected_batch_id}."
        )
    lines = _parse_ack_lines(ack, str(batch_id))

    with Session(writer(engine)) as session:
        batch = session.get(Batch, batch_id) if isinstance(batch_id, str) else None
        if batch is None:
            raise ProtocolError(
                f"Aucune remise scellée n° {batch_id} sur ce poste : accusé de réception refusé."
            )
        values = {
            line["id"]: line["value_cents"] for line in json.loads(batch.document)["redemptions"]
        }
        _check_lines_match(ack, lines, values)
        info_lines = [_line_info(line, values[line.redemption_id]) for line in lines]
        accepted = [line for line in info_lines if line.accepted]
        summary_counts = {
            "accepted": len(accepted),
            "accepted_cents": sum(line.value_cents for line in accepted),
            "refused": len(info_lines) - len(accepted),
        }
        if batch.acknowledged_at is not None:
            stored = session.exec(select(AckLine).where(AckLine.batch_id == batch_id)).all()
            if _line_keys(stored) != _line_keys(lines):
                raise ProtocolError(
                    f"La {BatchInfo.of(batch).label} a déjà un accusé de réception, différent de "
                    "celui-ci : refusé. Contactez la région."
                )
            return AckSummary(
                BatchInfo.of(batch), **summary_counts, lines=info_lines, already_imported=True
            )
        session.add_all(lines)
        batch.ack_document = dump_json(ack).decode("utf-8")
        batch.acknowledged_at = now
        session.add(batch)
        append_event(
            session,
            now,
            "ack_imported",
            None,
            {"batch_id": batch_id, "period": batch.period, **summary_counts},
        )
        session.flush()
        summary = AckSummary(BatchInfo.of(batch), **summary_counts, lines=info_lines)
        session.commit()
    log.info("ack for batch %s: %s", batch_id, summary_counts)
    return summary


def _parse_ack_lines(ack: dict[str, Any], batch_id: str) -> list[AckLine]:
    raw_lines = ack.get("lines")
    if not isinstance(raw_lines, list):
        raise ProtocolError("Accusé de réception mal formé : lignes manquantes.")
    lines = []
    for raw in raw_lines:
        try:
            verdict, reason, winner = raw["verdict"], raw["reason"], raw["winner"]
            if verdict not in (LINE_ACCEPTED, LINE_REFUSED):
                raise ValueError(verdict)
            if (verdict == LINE_ACCEPTED) != (reason is None) or (
                reason is not None and reason not in REFUSAL_REASONS
            ):
                raise ValueError(reason)
            lines.append(
                AckLine(
                    batch_id=batch_id,
                    redemption_id=str(raw["redemption_id"]),
                    code=str(raw["code"]),
                    verdict=verdict,
                    reason=reason,
                    winner_site_id=str(winner["site_id"]) if winner else None,
                    winner_redeemed_at=parse_instant(winner["redeemed_at"]) if winner else None,
                )
            )
        except (KeyError, TypeError, ValueError) as error:
            raise ProtocolError(
                f"Accusé de réception mal formé (ligne {len(lines) + 1}) : refusé."
            ) from error
    return lines


def _check_lines_match(ack: dict[str, Any], lines: list[AckLine], values: dict[str, int]) -> None:
    ids = [line.redemption_id for line in lines]
    if len(set(ids)) != len(ids) or set(ids) != set(values):
        raise ProtocolError(
            "L'accusé de réception ne correspond pas aux lignes de la remise (lignes manquantes, "
            "en trop ou en double) : refusé."
        )
    accepted = [line for line in lines if line.verdict == LINE_ACCEPTED]
    expected = {
        "accepted": len(accepted),
        "accepted_cents": sum(values[line.redemption_id] for line in accepted),
        "refused": len(lines) - len(accepted),
    }
    if ack.get("totals") != expected:
        raise ProtocolError(
            "Les totaux de l'accusé de réception ne correspondent pas à ses lignes : refusé."
        )


def _line_keys(lines) -> set[tuple]:
    return {
        (
            line.redemption_id,
            line.verdict,
            line.reason,
            line.winner_site_id,
            line.winner_redeemed_at.astimezone(UTC) if line.winner_redeemed_at else None,
        )
        for line in lines
    }
