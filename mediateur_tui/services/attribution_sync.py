"""Attributions of carnets, sent to the region (docs/protocol.md, « Attributions »).

`pending_documents` builds the signed pn-attributions/1 of every attribution the region has not
answered yet (sent or not: the region is idempotent on the attribution id, so sending one again
after a cut returns the same answer). `apply_answer` verifies the region's signed
pn-attribution-answer/1 and stores its verdict on each attribution. Online, the answer must
cover exactly what was sent; by USB key (`export_files`, `import_answer_file`) it must name
attributions of this site.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from sqlalchemy import Engine
from sqlmodel import Session, col, select

from mediateur_tui.protocol.documents import dump_json
from mediateur_tui.protocol.errors import ProtocolError
from mediateur_tui.protocol.files import read_document_file, write_file
from mediateur_tui.protocol.formats import (
    ATTRIBUTION_ANSWER,
    ATTRIBUTIONS,
    MAX_ATTRIBUTIONS_PER_DOCUMENT,
)
from mediateur_tui.protocol.instants import iso_instant
from mediateur_tui.protocol.signing import (
    sign_document,
    site_signer,
)
from mediateur_tui.protocol.verdicts import AttributionRefusal, AttributionVerdict
from mediateur_tui.services.region_keys import verify_from_region
from mediateur_tui.store import queries
from mediateur_tui.store.audit import append_event
from mediateur_tui.store.engine import writer
from mediateur_tui.store.keys import beneficiary_key_of, load_site_key, write_beneficiary_key
from mediateur_tui.store.models import Attribution, AttributionCarnet

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class AnswerSummary:
    accepted: int
    refused: int
    messages: tuple[str, ...]  # the region's French message for each refusal


def pending_documents(engine: Engine, data_dir: Path, now: datetime) -> list[dict[str, Any]]:
    """The signed pn-attributions/1 documents of every unanswered attribution, oldest first,
    at most MAX_ATTRIBUTIONS_PER_DOCUMENT in each (none when nothing waits)."""
    with Session(engine) as session:
        meta = queries.replica_meta(session)
        rows = session.exec(
            select(Attribution)
            .where(col(Attribution.verdict).is_(None))
            .order_by(col(Attribution.attributed_at), col(Attribution.id))
        ).all()
        if not rows:
            return []
        if meta is None:
            raise ProtocolError("Réplique absente : ce poste n'est rattaché à aucune région.")
        entries = [_entry(session, row) for row in rows]
    key = load_site_key(data_dir)
    return [
        sign_document(
            {
                "format": ATTRIBUTIONS,
                "region_id": meta.region_id,
                "site_id": meta.site_id,
                "sent_at": iso_instant(now),
                "attributions": entries[start : start + MAX_ATTRIBUTIONS_PER_DOCUMENT],
            },
            key,
            site_signer(meta.site_id),
        )
        for start in range(0, len(entries), MAX_ATTRIBUTIONS_PER_DOCUMENT)
    ]


def mark_sent(engine: Engine, document: dict[str, Any], now: datetime) -> None:
    ids = [entry["id"] for entry in document["attributions"]]
    with Session(writer(engine)) as session:
        for row in session.exec(select(Attribution).where(col(Attribution.id).in_(ids))):
            if row.sent_at is None:
                row.sent_at = now
                session.add(row)
        session.commit()


def export_files(engine: Engine, data_dir: Path, directory: Path, now: datetime) -> list[Path]:
    """Writes the pending attributions for a USB key, one file per document."""
    documents = pending_documents(engine, data_dir, now)
    if documents:
        directory.mkdir(parents=True, exist_ok=True)
    paths = []
    stamp = now.strftime("%Y%m%dT%H%M%SZ")
    for number, document in enumerate(documents, start=1):
        path = directory / f"attributions-{document['site_id']}-{stamp}-{number}.json"
        write_file(path, dump_json(document))
        mark_sent(engine, document, now)
        paths.append(path)
    return paths


def import_answer_file(engine: Engine, path: Path, now: datetime) -> AnswerSummary:
    """Stores the region's answer file (made by `mediateur-hub import-attributions`)."""
    return apply_answer(engine, read_document_file(path, ATTRIBUTION_ANSWER), now)


def apply_answer(
    engine: Engine,
    answer: dict[str, Any],
    now: datetime,
    document: dict[str, Any] | None = None,
) -> AnswerSummary:
    """Verifies the region's answer (to `document` when given: then it must answer every
    attribution of it) and stores one verdict per attribution."""
    with Session(engine) as session:
        meta = queries.replica_meta(session)
    verify_from_region(answer, meta, "Clé de la région inconnue : réponse impossible à vérifier.")
    assert meta is not None
    if answer.get("format") != ATTRIBUTION_ANSWER or answer.get("site_id") != meta.site_id:
        raise ProtocolError("Réponse de la région aux attributions mal adressée : ignorée.")
    if document is not None:
        sent = {entry["id"] for entry in document["attributions"]}
    else:
        sent = _local_ids(engine, answer)
    results = _results(answer, sent)
    accepted = refused = 0
    messages: list[str] = []
    with Session(writer(engine)) as session:
        for result in results:
            row = session.get(Attribution, result["id"])
            if row is None:
                continue
            row.verdict, row.region_reason = result["verdict"], result.get("reason")
            row.region_message = result.get("message")
            row.answered_at = now
            session.add(row)
            if row.verdict == AttributionVerdict.ACCEPTED:
                accepted += 1
            else:
                refused += 1
                messages.append(f"{row.beneficiary_ref} : {row.region_message}")
        append_event(
            session,
            now,
            "attribution_answer",
            None,
            {"accepted": accepted, "refused": refused, "ids": sorted(sent)},
        )
        session.commit()
    log.info("attributions answered: %s accepted, %s refused", accepted, refused)
    return AnswerSummary(accepted, refused, tuple(messages))


def store_beneficiary_key(engine: Engine, data_dir: Path, document: dict[str, Any]) -> None:
    """Verifies the region's pn-beneficiary-key/1 (online, or a file) and keeps its key."""
    with Session(engine) as session:
        meta = queries.replica_meta(session)
    verify_from_region(
        document, meta, "Clé de la région inconnue : clé bénéficiaires impossible à vérifier."
    )
    assert meta is not None
    if document.get("region_id") != meta.region_id or document.get("site_id") != meta.site_id:
        raise ProtocolError(
            f"Clé bénéficiaires adressée à un autre lieu ({document.get('site_id')}) : ignorée."
        )
    key = beneficiary_key_of(document)
    if key is None:
        raise ProtocolError("Clé bénéficiaires absente de la réponse de la région.")
    write_beneficiary_key(data_dir, key)
    log.info("beneficiary key received: this site is a distributor")


def _local_ids(engine: Engine, answer: dict[str, Any]) -> set[str]:
    """The attribution ids an answer file names, all of which must be this site's."""
    results = answer.get("results")
    named = (
        {result.get("id") for result in results if isinstance(result, dict)}
        if isinstance(results, list)
        else set()
    )
    with Session(engine) as session:
        known = session.exec(select(Attribution.id).where(col(Attribution.id).in_(named))).all()
    if not named or set(known) != named:
        raise ProtocolError(
            "Cette réponse de la région nomme des attributions inconnues de ce poste : "
            "elle est celle d'un autre lieu, ou d'une autre installation."
        )
    return named


def _entry(session: Session, row: Attribution) -> dict[str, Any]:
    carnets = session.exec(
        select(AttributionCarnet.carnet_id)
        .where(AttributionCarnet.attribution_id == row.id)
        .order_by(col(AttributionCarnet.carnet_id))
    ).all()
    return {
        "id": row.id,
        "beneficiary_ref": row.beneficiary_ref,
        "category": row.category,
        "rulebook": row.rulebook,
        "received_on": row.received_on.isoformat(),
        "attributed_at": iso_instant(row.attributed_at),
        "accompanied": row.accompanied,
        "establishment": row.establishment,
        "carnets": list(carnets),
        "passes": row.passes,
    }


def _results(answer: dict[str, Any], sent: set[str]) -> list[dict[str, Any]]:
    """The answer's results, each checked; every attribution sent must be answered."""
    results = answer.get("results")
    if not isinstance(results, list):
        raise ProtocolError("Réponse de la région aux attributions mal formée : ignorée.")
    answered: set[str] = set()
    for result in results:
        if (
            not isinstance(result, dict)
            or result.get("id") not in sent
            or result.get("verdict")
            not in (AttributionVerdict.ACCEPTED, AttributionVerdict.REFUSED)
            or (
                result.get("verdict") == AttributionVerdict.REFUSED
                and result.get("reason") not in tuple(AttributionRefusal)
            )
        ):
            raise ProtocolError("Réponse de la région aux attributions mal formée : ignorée.")
        answered.add(result["id"])
    if answered != sent:
        raise ProtocolError(
            "La région n'a pas répondu pour chaque attribution envoyée : elles le seront de "
            "nouveau à la prochaine synchronisation."
        )
    return results
