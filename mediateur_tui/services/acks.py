"""The region's answer to a batch: `import_ack` verifies a pn-ack/1 and stores its verdict for
every line; `ack_lines` reads those verdicts back."""

from __future__ import annotations

import json
import logging
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import Engine
from sqlmodel import Session, select

from mediateur_tui.domain.codes import format_code
from mediateur_tui.domain.formatting import format_datetime, format_euros
from mediateur_tui.protocol.documents import dump_json
from mediateur_tui.protocol.errors import ProtocolError
from mediateur_tui.protocol.files import read_document_file
from mediateur_tui.protocol.formats import ACK
from mediateur_tui.protocol.instants import parse_instant
from mediateur_tui.protocol.verdicts import LineVerdict, RefusalReason, refusal_label
from mediateur_tui.services.batches import BatchInfo, batch_document
from mediateur_tui.services.region_keys import verify_from_region
from mediateur_tui.store import queries
from mediateur_tui.store.answers import Answer, record_answers
from mediateur_tui.store.audit import append_event
from mediateur_tui.store.engine import writer
from mediateur_tui.store.models import AckLine, Batch

log = logging.getLogger(__name__)


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
        return self.verdict == LineVerdict.ACCEPTED

    def describe(self) -> str:
        """E.g. `7K3M-9QXR-4TBEZ : refusé — déjà encaissé ailleurs (FOURMIES-MEDIA, …)`."""
        shown = format_code(self.code)
        if self.accepted:
            return f"{shown} : accepté, {format_euros(self.value_cents)}"
        reason = refusal_label(self.reason)
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
    def counts(self) -> dict[str, int]:
        """As the audit log records them."""
        return {
            "accepted": self.accepted,
            "accepted_cents": self.accepted_cents,
            "refused": self.refused,
        }

    @property
    def refused_lines(self) -> list[AckLineInfo]:
        return [line for line in self.lines if not line.accepted]


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


def _answer(line: AckLine) -> Answer:
    return Answer(
        line.redemption_id, line.verdict, line.reason, line.winner_site_id, line.winner_redeemed_at
    )


def read_ack_file(path: Path) -> dict[str, Any]:
    return read_document_file(path, ACK)


def import_ack(
    engine: Engine, ack: dict[str, Any], now: datetime, expected_batch_id: str | None = None
) -> AckSummary:
    """Verifies a pn-ack/1 and stores its lines. Importing the same answer again changes
    nothing; a different answer for an already acknowledged batch is refused."""
    if not isinstance(ack, dict) or ack.get("format") != ACK:
        raise ProtocolError(f"Document inattendu : {ACK} attendu.")
    with Session(engine) as session:
        meta = queries.replica_meta(session)
    verify_from_region(
        ack,
        meta,
        "La clé de la région est inconnue sur ce poste : impossible de vérifier l'accusé de "
        "réception.",
    )
    assert meta is not None
    region_id, site_id = meta.region_id, meta.site_id
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
        summary = AckSummary(
            BatchInfo.of(batch),
            accepted=len(accepted),
            accepted_cents=sum(line.value_cents for line in accepted),
            refused=len(info_lines) - len(accepted),
            lines=info_lines,
        )
        if batch.acknowledged_at is not None:
            stored = session.exec(select(AckLine).where(AckLine.batch_id == batch_id)).all()
            if _line_keys(stored) != _line_keys(lines):
                raise ProtocolError(
                    f"La {BatchInfo.of(batch).label} a déjà un accusé de réception, différent de "
                    "celui-ci : refusé. Contactez la région."
                )
            return replace(summary, already_imported=True)
        session.add_all(lines)
        record_answers(session, [_answer(line) for line in lines], now)
        batch.ack_document = dump_json(ack).decode("utf-8")
        batch.acknowledged_at = now
        session.add(batch)
        summary = replace(summary, batch=BatchInfo.of(batch))
        append_event(
            session,
            now,
            "ack_imported",
            None,
            {"batch_id": batch_id, "period": batch.period, **summary.counts},
        )
        session.commit()
    log.info("ack for batch %s: %s", batch_id, summary.counts)
    return summary


def _parse_ack_lines(ack: dict[str, Any], batch_id: str) -> list[AckLine]:
    return [
        AckLine(
            batch_id=batch_id,
            redemption_id=answer.redemption_id,
            code=code,
            verdict=answer.verdict,
            reason=answer.reason,
            winner_site_id=answer.winner_site_id,
            winner_redeemed_at=answer.winner_redeemed_at,
        )
        for code, answer in parse_answer_lines(ack.get("lines"), "Accusé de réception mal formé")
    ]


def parse_answer_lines(raw_lines: object, malformed: str) -> list[tuple[str, Answer]]:
    """(code, answer) of each line of a region's answer (an acknowledgement's, a declaration
    answer's), checked; ProtocolError starting with `malformed` (« Accusé de réception mal
    formé ») when one is not a line."""
    if not isinstance(raw_lines, list):
        raise ProtocolError(f"{malformed} : lignes manquantes.")
    lines = []
    for raw in raw_lines:
        try:
            verdict, reason, winner = raw["verdict"], raw["reason"], raw["winner"]
            if verdict not in (LineVerdict.ACCEPTED, LineVerdict.REFUSED):
                raise ValueError(verdict)
            if (verdict == LineVerdict.ACCEPTED) != (reason is None) or (
                reason is not None and reason not in tuple(RefusalReason)
            ):
                raise ValueError(reason)
            answer = Answer(
                redemption_id=str(raw["redemption_id"]),
                verdict=verdict,
                reason=reason,
                winner_site_id=str(winner["site_id"]) if winner else None,
                winner_redeemed_at=parse_instant(winner["redeemed_at"]) if winner else None,
            )
            lines.append((str(raw["code"]), answer))
        except (KeyError, TypeError, ValueError) as error:
            raise ProtocolError(
                f"{malformed} (ligne {len(lines) + 1}) : rien n'a été enregistré."
            ) from error
    return lines


def _check_lines_match(ack: dict[str, Any], lines: list[AckLine], values: dict[str, int]) -> None:
    ids = [line.redemption_id for line in lines]
    if len(set(ids)) != len(ids) or set(ids) != set(values):
        raise ProtocolError(
            "L'accusé de réception ne correspond pas aux lignes de la remise (lignes manquantes, "
            "en trop ou en double) : refusé."
        )
    accepted = [line for line in lines if line.verdict == LineVerdict.ACCEPTED]
    expected = {
        "accepted": len(accepted),
        "accepted_cents": sum(values[line.redemption_id] for line in accepted),
        "refused": len(lines) - len(accepted),
    }
    if ack.get("totals") != expected:
        raise ProtocolError(
            "Les totaux de l'accusé de réception ne correspondent pas à ses lignes : refusé."
        )


def _line_keys(lines: Sequence[AckLine]) -> set[tuple[object, ...]]:
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
