"""A lost laptop loses nothing: what the region gives back to the site's new laptop.

After the first sync of a newly enrolled laptop, the site asks the region for everything it
holds of the site (GET /v1/recovery, a region-signed pn-site-recovery/1): every batch with its
acknowledgement, and the declared redemptions not yet in a batch, with their sessions and the
region's answers. They are merged like a backup (services/merge.py: matched on their ids,
never twice), so the month can still be closed and paid in full; a backup restored on top
later adds only what the region did not have.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from datetime import datetime
from typing import Any

from sqlalchemy import Engine
from sqlmodel import Session

from mediateur_tui.protocol.documents import dump_json
from mediateur_tui.protocol.errors import ProtocolError
from mediateur_tui.protocol.formats import SITE_RECOVERY
from mediateur_tui.protocol.instants import parse_instant
from mediateur_tui.protocol.signing import document_hash, region_signer, verify_document
from mediateur_tui.services.acks import parse_answer_lines
from mediateur_tui.services.merge import (
    BatchRow,
    MergeReport,
    RedemptionRow,
    SessionRow,
    SiteRows,
    merge_rows,
)
from mediateur_tui.store import queries
from mediateur_tui.store.answers import Answer
from mediateur_tui.store.models import AckLine, Batch


def merge_recovery(engine: Engine, document: dict[str, Any], now: datetime) -> MergeReport:
    """Verifies the region's pn-site-recovery/1 for this site and merges it."""
    _verify(engine, document)
    try:
        rows = recovery_rows(document, now)
    except (KeyError, TypeError, ValueError) as error:
        raise ProtocolError(
            "Document de reprise de la région mal formé : rien n'a été repris."
        ) from error
    return merge_rows(engine, rows, "reprise auprès de la région", now)


def _verify(engine: Engine, document: dict[str, Any]) -> None:
    if not isinstance(document, dict) or document.get("format") != SITE_RECOVERY:
        raise ProtocolError(f"Réponse inattendue de la région : {SITE_RECOVERY} attendu.")
    with Session(engine) as session:
        meta = queries.replica_meta(session)
    if meta is None or meta.region_public_key is None:
        raise ProtocolError("La clé de la région est inconnue sur ce poste : reprise impossible.")
    verify_document(document, meta.region_public_key, region_signer(meta.region_id))
    if (document.get("region_id"), document.get("site_id")) != (meta.region_id, meta.site_id):
        raise ProtocolError(
            f"Ce document de reprise est celui du lieu « {document.get('site_id')} », pas de ce "
            f"poste ({meta.site_id}) : rien n'a été repris."
        )


def recovery_rows(document: dict[str, Any], now: datetime) -> SiteRows:
    """The rows a recovery document holds, as a merge takes them."""
    rows = SiteRows()
    for item in document["batches"]:
        batch, ack = item["batch"], item["ack"]
        lines = parse_answer_lines(ack["lines"], "Accusé de réception repris")
        rows.batches.append(BatchRow(_batch_row(batch, ack, now), _ack_lines(batch, lines)))
        rows.answers += [answer for _, answer in lines]
        _add_lines(rows, batch["sessions"], batch["redemptions"], batch["batch_id"], now)
    declared = document["declared"]
    _add_lines(rows, declared["sessions"], declared["redemptions"], None, now)
    rows.answers += [answer for _, answer in parse_answer_lines(declared["answers"], "Reprise")]
    return rows


def _batch_row(batch: dict[str, Any], ack: dict[str, Any], now: datetime) -> Batch:
    return Batch(
        batch_id=batch["batch_id"],
        period=batch["period"],
        sequence=batch["sequence"],
        sealed_at=parse_instant(batch["sealed_at"]),
        previous_hash=batch["previous_hash"],
        document_hash=document_hash(batch),
        document=dump_json(batch).decode("utf-8"),
        redemption_count=batch["totals"]["redemptions"],
        value_cents=batch["totals"]["value_cents"],
        refused_count=batch["totals"]["refused_scans"],
        sent_at=now,
        acknowledged_at=now,
        ack_document=json.dumps(ack, ensure_ascii=False),
    )


def _ack_lines(batch: dict[str, Any], lines: Iterable[tuple[str, Answer]]) -> list[AckLine]:
    return [
        AckLine(
            batch_id=batch["batch_id"],
            redemption_id=answer.redemption_id,
            code=code,
            verdict=answer.verdict,
            reason=answer.reason,
            winner_site_id=answer.winner_site_id,
            winner_redeemed_at=answer.winner_redeemed_at,
        )
        for code, answer in lines
    ]


def _add_lines(
    rows: SiteRows,
    sessions: list[dict[str, Any]],
    redemptions: list[dict[str, Any]],
    batch_id: str | None,
    now: datetime,
) -> None:
    """A document's sessions and redemption lines; a session is said once (the operator of
    its first line stands for the session's: the protocol does not name it)."""
    known = {row.key for row in rows.sessions}
    operators: dict[int, str] = {}
    for line in redemptions:
        operators.setdefault(line["session_id"], str(line["operator"]))
    for session in sessions:
        if session["id"] in known or session["id"] not in operators:
            continue
        known.add(session["id"])
        ended = session["ended_at"]
        rows.sessions.append(
            SessionRow(
                key=int(session["id"]),
                title=str(session["title"]),
                kind=str(session["kind"]),
                themes=str(session["themes"]),
                duration_minutes=int(session["duration_minutes"]),
                operator_name=operators[session["id"]],
                started_at=parse_instant(session["started_at"]),
                ended_at=parse_instant(ended) if ended is not None else None,
            )
        )
    rows.redemptions += [
        RedemptionRow(
            id=str(line["id"]),
            code=str(line["code"]),
            session_key=int(line["session_id"]),
            operator_name=str(line["operator"]),
            redeemed_at=parse_instant(line["redeemed_at"]),
            value_cents=int(line["value_cents"]),
            input_method=str(line["input_method"]),
            raw_input=str(line["code"]),  # what was typed or scanned stayed on the lost laptop
            provisional=bool(line["provisional"]),
            batch_id=batch_id,
            declared_at=now,
        )
        for line in redemptions
    ]
