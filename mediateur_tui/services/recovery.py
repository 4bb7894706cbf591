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
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session

from mediateur_tui.domain.activity import TypeActivite, tags_of
from mediateur_tui.protocol.activity import parse_summary
from mediateur_tui.protocol.documents import dump_json
from mediateur_tui.protocol.errors import ProtocolError
from mediateur_tui.protocol.formats import SITE_RECOVERY
from mediateur_tui.protocol.instants import parse_instant
from mediateur_tui.protocol.signing import document_hash
from mediateur_tui.services.acks import parse_answer_lines
from mediateur_tui.services.activity import activity_columns
from mediateur_tui.services.merge import (
    BatchRow,
    CancellationRow,
    MergeReport,
    RedemptionRow,
    SessionRow,
    SiteRows,
    merge_rows,
)
from mediateur_tui.services.region_keys import verify_from_region
from mediateur_tui.store import queries
from mediateur_tui.store.answers import Answer
from mediateur_tui.store.models import AckLine, Batch


def merge_recovery(engine: Engine, document: dict[str, Any], now: datetime) -> MergeReport:
    """Verifies the region's pn-site-recovery/1 for this site and merges it; ProtocolError
    (nothing merged) when it is not one."""
    _verify(engine, document)
    try:
        rows = recovery_rows(document, now)
    except (KeyError, TypeError, ValueError) as error:
        raise ProtocolError(
            "Document de reprise de la région mal formé : rien n'a été repris."
        ) from error
    try:
        return merge_rows(engine, rows, "reprise auprès de la région", now)
    except IntegrityError as error:  # e.g. one redemption twice in a recovered batch
        raise ProtocolError(
            "Document de reprise de la région incohérent : rien n'a été repris."
        ) from error


def _verify(engine: Engine, document: dict[str, Any]) -> None:
    if not isinstance(document, dict) or document.get("format") != SITE_RECOVERY:
        raise ProtocolError(f"Réponse inattendue de la région : {SITE_RECOVERY} attendu.")
    with Session(engine) as session:
        meta = queries.replica_meta(session)
    verify_from_region(
        document, meta, "La clé de la région est inconnue sur ce poste : reprise impossible."
    )
    assert meta is not None
    if (document.get("region_id"), document.get("site_id")) != (meta.region_id, meta.site_id):
        raise ProtocolError(
            f"Ce document de reprise est celui du lieu « {document.get('site_id')} », pas de ce "
            f"poste ({meta.site_id}) : rien n'a été repris."
        )


def recovery_rows(document: dict[str, Any], now: datetime) -> SiteRows:
    """The rows a recovery document holds, as a merge takes them; KeyError, TypeError or
    ValueError when a field is missing or of the wrong type, or a line names a session the
    document does not hold."""
    rows = SiteRows()
    for item in _list(document["batches"]):
        batch, ack = item["batch"], item["ack"]
        lines = parse_answer_lines(ack["lines"], "Accusé de réception repris mal formé")
        rows.batches.append(BatchRow(_batch_row(batch, ack, now), _ack_lines(batch, lines)))
        rows.answers += [answer for _, answer in lines]
        _add_lines(rows, batch["sessions"], batch["redemptions"], _str(batch["batch_id"]), now)
    declared = document["declared"]
    cancelled = {_str(item["redemption_id"]): item for item in _list(declared["cancellations"])}
    if not set(cancelled) <= {line["id"] for line in _list(declared["redemptions"])}:
        raise ValueError("a cancellation names a redemption the document does not hold")
    _add_lines(rows, declared["sessions"], declared["redemptions"], None, now, cancelled)
    answers = parse_answer_lines(declared["answers"], "Document de reprise mal formé")
    rows.answers += [answer for _, answer in answers]
    return rows


def _batch_row(batch: dict[str, Any], ack: dict[str, Any], now: datetime) -> Batch:
    totals = batch["totals"]
    previous = batch["previous_hash"]
    return Batch(
        batch_id=_str(batch["batch_id"]),
        period=_str(batch["period"]),
        sequence=_int(batch["sequence"]),
        sealed_at=parse_instant(batch["sealed_at"]),
        previous_hash=None if previous is None else _str(previous),
        document_hash=document_hash(batch),
        document=dump_json(batch).decode("utf-8"),
        redemption_count=_int(totals["redemptions"]),
        value_cents=_int(totals["value_cents"]),
        refused_count=_int(totals["refused_scans"]),
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
    cancelled: dict[str, dict[str, Any]] | None = None,
) -> None:
    """A document's sessions and redemption lines (with the cancellations of those cancelled);
    a session is said once (the operator of its first line stands for the session's: the
    protocol does not name it)."""
    cancelled = cancelled or {}
    known = {row.key for row in rows.sessions}
    operators: dict[int, str] = {}
    for line in _list(redemptions):
        operators.setdefault(_int(line["session_id"]), _str(line["operator"]))
    given = {_int(session["id"]) for session in _list(sessions)}
    if not set(operators) <= given | known:
        raise ValueError("a redemption names a session the document does not hold")
    for session in sessions:
        number = _int(session["id"])
        if number in known or number not in operators:
            continue
        known.add(number)
        ended = session["ended_at"]
        rows.sessions.append(
            SessionRow(
                key=number,
                title=_str(session["title"]),
                kind=_str(session["kind"]),
                themes=_str(session["themes"]),
                duration_minutes=_int(session["duration_minutes"]),
                operator_name=operators[number],
                started_at=parse_instant(session["started_at"]),
                ended_at=parse_instant(ended) if ended is not None else None,
                activity=_activity(session),
            )
        )
    for line in redemptions:
        redemption_id = _str(line["id"])
        cancellation = cancelled.get(redemption_id)
        cancelled_at = None if cancellation is None else parse_instant(cancellation["cancelled_at"])
        rows.redemptions.append(
            RedemptionRow(
                id=redemption_id,
                code=_str(line["code"]),
                session_key=_int(line["session_id"]),
                operator_name=_str(line["operator"]),
                redeemed_at=parse_instant(line["redeemed_at"]),
                value_cents=_int(line["value_cents"]),
                input_method=_str(line["input_method"]),
                raw_input=_str(line["code"]),  # what was typed or scanned stayed on the laptop
                provisional=_bool(line["provisional"]),
                batch_id=batch_id,
                declared_at=now,
                cancelled_at=cancelled_at,
            )
        )
        if cancellation is not None and cancelled_at is not None:
            rows.cancellations.append(
                CancellationRow(
                    redemption_id=redemption_id,
                    reason=_str(cancellation["reason"]),
                    operator_name=_str(line["operator"]),
                    cancelled_at=cancelled_at,
                    declared_at=now,
                )
            )


def _activity(session: dict[str, Any]) -> dict[str, Any]:
    """The activity columns of a session the region gives back with its summary (none from
    a site older than the summary): what the summary does not carry keeps its default, and
    the free-text themes are the tags, as at the desk."""
    if "activity" not in session:
        return {}
    summary = parse_summary(session["activity"], f"Séance {session['id']} reprise")
    kind = TypeActivite(_str(session["kind"]))
    tags = tags_of(_str(session["themes"]))
    return activity_columns(summary.activity(kind, _int(session["duration_minutes"]), tags))


def _list(value: Any) -> list[Any]:
    if not isinstance(value, list):
        raise TypeError("a list expected")
    return value


def _int(value: Any) -> int:
    if not isinstance(value, int) or isinstance(value, bool):
        raise TypeError("an integer expected")
    return value


def _str(value: Any) -> str:
    if not isinstance(value, str):
        raise TypeError("a string expected")
    return value


def _bool(value: Any) -> bool:
    if not isinstance(value, bool):
        raise TypeError("a boolean expected")
    return value
