"""At the distributor's desk: decide a request by the règlement, hand out carnets, keep a record.

The steps of the screen, in order:
1. `checklist` — the proofs that the rulebook in force on the day of reception asks for;
2. `assess` — the beneficiary's pseudonymous reference (the names are used for it, then
   forgotten), the passes already received as far as this site knows, and the decision;
3. `identify_carnet` — each carnet scanned (any pass of it, or its number) is checked against
   the replica and this site's earlier attributions;
4. `record` — the attribution, its carnets and an audit event, in one transaction;
5. `write_receipt` (attribution_receipt.py) — the PDF receipt.

What "the passes already received" counts locally: every carnet the replica shows attributed to
the reference, plus the carnets of this site's attributions that the region has not refused
(some are not in the replica yet). The region counts again, across every distributor, when the
attribution reaches it with the sync; its answer is stored on the attribution.
"""

from __future__ import annotations

import json
import logging
import re
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path

from sqlalchemy import Engine, or_
from sqlmodel import Session, col, func, select

from mediateur_tui.domain.attribution import Decision, Request, decide_in_force
from mediateur_tui.domain.beneficiaries import Identity, beneficiary_reference
from mediateur_tui.domain.clock import Clock, system_clock
from mediateur_tui.domain.errors import UserError
from mediateur_tui.domain.formatting import format_date, local_date
from mediateur_tui.domain.keyboard import Typing
from mediateur_tui.domain.rulebooks import ProofGroup, Rulebook, rulebook_for
from mediateur_tui.domain.scan_input import parse_scan
from mediateur_tui.domain.site_identity import SiteIdentity
from mediateur_tui.protocol.verdicts import AttributionVerdict
from mediateur_tui.services.published_rulebooks import site_rulebooks
from mediateur_tui.store import queries
from mediateur_tui.store.audit import append_event
from mediateur_tui.store.engine import writer
from mediateur_tui.store.keys import load_beneficiary_key
from mediateur_tui.store.models import (
    Attribution,
    AttributionCarnet,
    Carnet,
    Operator,
    Programme,
    RemoteRedemption,
    Revocation,
    Site,
)

log = logging.getLogger(__name__)
CARNET_NUMBER = re.compile(r"C[0-9]{7}")
NOT_A_DISTRIBUTOR = (
    "Ce lieu n'est pas structure distributrice : la région ne lui a pas confié sa clé "
    "bénéficiaires. Demandez-lui un jeton d'inscription « distributeur » et inscrivez de "
    "nouveau le poste."
)


class AttributionError(UserError):
    """Something the distributor's desk cannot do, with a French message."""


@dataclass(frozen=True)
class RequestForm:
    """What the distributor types in; the identity only serves to compute the reference."""

    identity: Identity
    received_on: date
    category: str
    postcode: str
    accompanied: bool
    proofs: frozenset[str]
    proof_dates: dict[str, date]
    establishment: str | None = None


@dataclass(frozen=True)
class Assessment:
    form: RequestForm
    beneficiary_ref: str
    passes_already_received: int  # as far as this site knows (replica + its own attributions)
    decision: Decision


@dataclass(frozen=True)
class CarnetInfo:
    id: str
    size: int
    programme_label: str
    valid_until: date


@dataclass(frozen=True)
class CarnetScan:
    """The answer to one carnet scan: the carnet when it can be handed out, else why not."""

    carnet: CarnetInfo | None
    message: str


@dataclass(frozen=True)
class AttributionInfo:
    id: str
    beneficiary_ref: str
    received_on: date
    category: str
    rulebook: str
    accompanied: bool
    establishment: str | None
    passes: int
    second_carnet_on_request: bool
    reasons: tuple[str, ...]
    carnets: tuple[CarnetInfo, ...]
    operator_name: str
    attributed_at: datetime
    sent_at: datetime | None
    verdict: str | None
    region_message: str | None

    @property
    def refused(self) -> bool:
        """The region refused this attribution (its carnets go back to the stock)."""
        return self.verdict == AttributionVerdict.REFUSED

    @property
    def status(self) -> str:
        """Where the attribution stands with the region, in French."""
        if self.verdict is None:
            return "envoyée, sans réponse" if self.sent_at else "à envoyer à la région"
        if self.refused:
            return f"refusée par la région : {self.region_message or 'motif non précisé'}"
        return "acceptée par la région"


class AttributionDesk:
    """The distributor's operations on one site's database."""

    def __init__(
        self,
        engine: Engine,
        data_dir: Path,
        clock: Clock = system_clock,
        rulebooks: Sequence[Rulebook] | None = None,
    ) -> None:
        self._engine = engine
        self.data_dir = data_dir
        self.clock = clock
        self.rulebooks = list(rulebooks) if rulebooks is not None else site_rulebooks(engine)

    def today(self) -> date:
        return local_date(self.clock())

    def unavailable_reason(self) -> str | None:
        """None when this site may hand out carnets, else why not (French)."""
        return None if load_beneficiary_key(self.data_dir) is not None else NOT_A_DISTRIBUTOR

    def rulebook_on(self, received_on: date) -> Rulebook | None:
        return rulebook_for(received_on, self.rulebooks)

    def checklist(self, received_on: date, category: str) -> tuple[ProofGroup, ...]:
        """The proofs the rulebook in force asks of this category, residence first."""
        book = self.rulebook_on(received_on)
        if book is None or category not in book.categories:
            return ()
        groups = [ProofGroup((book.residence_proof,)), *book.categories[category].proofs]
        experiment = book.categories[category].experiment
        if experiment is not None and experiment.criteria is not None:
            groups.extend(experiment.criteria.proofs)
        return tuple(groups)

    def assess(self, form: RequestForm) -> Assessment:
        """The reference, the passes already received and the decision (IdentityError when a
        name is empty; AttributionError when this site is not a distributor)."""
        key = load_beneficiary_key(self.data_dir)
        if key is None:
            raise AttributionError(NOT_A_DISTRIBUTOR)
        reference = beneficiary_reference(form.identity, key)
        with Session(self._engine) as session:
            already = _passes_known(session, reference)
            lycee_given = _lycee_passes_here(session)
        request = Request(
            received_on=form.received_on,
            category=form.category,
            birth_date=form.identity.birth_date,
            postcode=form.postcode.strip(),
            accompanied=form.accompanied,
            proofs=form.proofs,
            passes_already_received=already,
            proof_dates=form.proof_dates,
            establishment=form.establishment,
        )
        decision = decide_in_force(request, self.rulebooks, self.today(), lycee_given)
        return Assessment(form, reference, already, decision)

    def identify_carnet(
        self,
        text: str,
        wanted: Sequence[int],
        scanned: Sequence[str] = (),
        typing: Typing = Typing.UNKNOWN,
    ) -> CarnetScan:
        """The carnet of a scanned pass (or a typed carnet number), if it can be handed out
        now: `wanted` are the sizes still to hand out, `scanned` the carnets already taken;
        `typing`, how the text came (domain/keyboard.py)."""
        with Session(self._engine) as session:
            carnet_id, unreadable = _carnet_of_scan(session, text, typing)
            if carnet_id is None:
                return CarnetScan(None, unreadable)
            row = _carnet_row(session, carnet_id)
            if row is None:
                return CarnetScan(
                    None,
                    f"Carnet {carnet_id} inconnu de la réplique : synchronisez avec la région, "
                    "puis scannez-le de nouveau.",
                )
            carnet, programme = row
            info = CarnetInfo(carnet.id, carnet.size, programme.label, programme.valid_until)
            problem = _carnet_problem(session, carnet, programme, self.today())
        if problem is None and carnet.id in scanned:
            problem = f"Carnet {carnet.id} déjà scanné pour cette remise."
        if problem is None and carnet.size not in wanted:
            sizes = " ou ".join(str(size) for size in sorted(set(wanted))) or "aucun"
            problem = f"Carnet {carnet.id} de {carnet.size} pass : la décision prévoit {sizes}."
        if problem is not None:
            return CarnetScan(None, problem)
        return CarnetScan(info, f"Carnet {carnet.id} ({carnet.size} pass) : bon pour la remise.")

    def record(
        self, assessment: Assessment, carnet_ids: Sequence[str], operator_id: int
    ) -> AttributionInfo:
        """Records the hand-out in one transaction, after checking everything again under the
        write lock (another distributor on this machine may have handed a carnet meanwhile)."""
        decision = assessment.decision
        if not decision.eligible or decision.rulebook is None:
            raise AttributionError("La demande n'est pas acceptée : aucun carnet à remettre.")
        form, now = assessment.form, self.clock()
        attribution_id = uuid.uuid4().hex
        with Session(writer(self._engine)) as session:
            if _passes_known(session, assessment.beneficiary_ref) != (
                assessment.passes_already_received
            ):
                raise AttributionError(
                    "Le bénéficiaire a reçu des carnets depuis la décision : vérifiez de nouveau "
                    "la demande."
                )
            sizes = self._check_carnets(session, carnet_ids, decision.carnets)
            session.add(
                Attribution(
                    id=attribution_id,
                    beneficiary_ref=assessment.beneficiary_ref,
                    received_on=form.received_on,
                    category=form.category,
                    rulebook=decision.rulebook,
                    accompanied=form.accompanied,
                    establishment=form.establishment or None,
                    passes=sum(sizes),
                    second_carnet_on_request=decision.second_carnet_on_request,
                    reasons=json.dumps(list(decision.reasons), ensure_ascii=False),
                    operator_id=operator_id,
                    attributed_at=now,
                )
            )
            session.flush()
            session.add_all(
                AttributionCarnet(attribution_id=attribution_id, carnet_id=carnet, size=size)
                for carnet, size in zip(carnet_ids, sizes, strict=True)
            )
            append_event(
                session,
                now,
                "attribution",
                operator_id,
                {
                    "id": attribution_id,
                    "beneficiary_ref": assessment.beneficiary_ref,
                    "rulebook": decision.rulebook,
                    "carnets": list(carnet_ids),
                },
            )
            session.commit()
        log.info("attribution %s: carnets %s", attribution_id, ", ".join(carnet_ids))
        return self.attribution(attribution_id)

    def _check_carnets(
        self, session: Session, carnet_ids: Sequence[str], wanted: Sequence[int]
    ) -> list[int]:
        if len(set(carnet_ids)) != len(carnet_ids):
            raise AttributionError("Le même carnet est scanné deux fois.")
        sizes = []
        for carnet_id in carnet_ids:
            row = _carnet_row(session, carnet_id)
            if row is None:
                raise AttributionError(f"Carnet {carnet_id} inconnu de la réplique.")
            problem = _carnet_problem(session, row[0], row[1], self.today())
            if problem is not None:
                raise AttributionError(problem)
            sizes.append(row[0].size)
        if sorted(sizes) != sorted(wanted):
            raise AttributionError(
                "Les carnets scannés ne correspondent pas à la décision "
                f"({' + '.join(map(str, wanted))} pass)."
            )
        return sizes

    def attribution(self, attribution_id: str) -> AttributionInfo:
        with Session(self._engine) as session:
            row = session.get(Attribution, attribution_id)
            if row is None:
                raise AttributionError(f"Attribution {attribution_id} introuvable.")
            return _info(session, row)

    def site_and_region(self) -> tuple[str, str]:
        """`Name (SITE-ID)` of this site, and its region's id, as printed on a receipt."""
        with Session(self._engine) as session:
            meta = queries.replica_meta(session)
            site = session.get(Site, meta.site_id) if meta else None
            label = f"{site.name} ({site.id})" if site else (meta.site_id if meta else "?")
            return label, meta.region_id if meta else "?"

    def site_identity(self) -> SiteIdentity | None:
        """This site's SIRET or RNA, INSEE code and postcode, when the region gave them."""
        with Session(self._engine) as session:
            meta = queries.replica_meta(session)
            site = session.get(Site, meta.site_id) if meta else None
            return site.identity() if site else None

    def recent(self, limit: int = 100) -> list[AttributionInfo]:
        """This site's attributions, the latest first."""
        with Session(self._engine) as session:
            rows = session.exec(
                select(Attribution).order_by(col(Attribution.attributed_at).desc()).limit(limit)
            ).all()
            return [_info(session, row) for row in rows]


def unsent_count(engine: Engine) -> int:
    """How many attributions wait to be sent to the region (for the home screen)."""
    with Session(engine) as session:
        return session.exec(
            select(func.count()).where(
                col(Attribution.sent_at).is_(None), col(Attribution.verdict).is_(None)
            )
        ).one()


# --- helpers ----------------------------------------------------------------------------------


def _carnet_row(session: Session, carnet_id: str) -> tuple[Carnet, Programme] | None:
    return session.exec(
        select(Carnet, Programme)
        .join(Programme, col(Programme.id) == col(Carnet.programme_id))
        .where(Carnet.id == carnet_id)
    ).first()


# An attribution that counts: the region accepted it, or has not answered yet.
NOT_REFUSED = or_(
    col(Attribution.verdict).is_(None), col(Attribution.verdict) != AttributionVerdict.REFUSED
)


def _passes_known(session: Session, reference: str) -> int:
    """Passes of every carnet known to be this person's: in the replica, or handed out here
    and not refused by the region (each carnet counted once)."""
    in_replica = select(Carnet.id, Carnet.size).where(Carnet.beneficiary_ref == reference)
    here = (
        select(AttributionCarnet.carnet_id, AttributionCarnet.size)
        .join(Attribution, col(Attribution.id) == col(AttributionCarnet.attribution_id))
        .where(
            Attribution.beneficiary_ref == reference,
            NOT_REFUSED,
        )
    )
    sizes = dict(session.exec(in_replica).all())
    sizes.update(session.exec(here).all())
    return sum(sizes.values())


def _lycee_passes_here(session: Session) -> int:
    """Lycée passes handed out here and not refused: the region counts the whole region."""
    total = session.exec(
        select(func.coalesce(func.sum(Attribution.passes), 0)).where(
            Attribution.category == "lycee",
            NOT_REFUSED,
        )
    ).one()
    return int(total)


def _carnet_of_scan(session: Session, text: str, typing: Typing) -> tuple[str | None, str]:
    """The carnet number typed, or the carnet of the pass scanned; else None and why."""
    typed = "".join(text.split()).upper()
    if CARNET_NUMBER.fullmatch(typed):
        return typed, ""
    scan = parse_scan(text, typing)
    if scan.code is None:
        return None, scan.error or (
            "Saisie illisible : scannez un pass du carnet ou tapez son numéro (C0000123)."
        )
    carnet_id = queries.carnet_of_pass(session, scan.code)
    if carnet_id is None:
        return None, (
            "Ce pass est inconnu de la réplique : synchronisez avec la région, puis scannez-le "
            "de nouveau."
        )
    return carnet_id, ""


def _carnet_problem(
    session: Session, carnet: Carnet, programme: Programme, today: date
) -> str | None:
    """Why this carnet cannot be handed out now, or None."""
    if carnet.attributed_on is not None:
        return (
            f"Carnet {carnet.id} déjà attribué le {format_date(carnet.attributed_on)} : "
            "il ne peut pas être remis une seconde fois."
        )
    handed = session.exec(
        select(Attribution.attributed_at)
        .join(AttributionCarnet, col(AttributionCarnet.attribution_id) == col(Attribution.id))
        .where(
            AttributionCarnet.carnet_id == carnet.id,
            NOT_REFUSED,
        )
    ).first()
    if handed is not None:
        return f"Carnet {carnet.id} déjà remis ici le {format_date(local_date(handed))}."
    if programme.valid_until < today:
        return (
            f"Carnet {carnet.id} : ses pass ne sont plus valables depuis le "
            f"{format_date(programme.valid_until)}."
        )
    revoked = session.exec(
        select(Revocation.code).where(queries.carnet_ref_of(Revocation.code) == carnet.ref)
    ).first()
    if revoked is not None:
        return f"Carnet {carnet.id} : un de ses pass est en opposition ; ne le remettez pas."
    used = session.exec(
        select(RemoteRedemption.code).where(
            queries.carnet_ref_of(RemoteRedemption.code) == carnet.ref
        )
    ).first()
    if used is not None or queries.carnet_has_redemption(session, carnet.id):
        return f"Carnet {carnet.id} : un de ses pass a déjà été encaissé ; ne le remettez pas."
    return None


def _info(session: Session, row: Attribution) -> AttributionInfo:
    carnets = session.exec(
        select(AttributionCarnet, Carnet, Programme)
        .join(Carnet, col(Carnet.id) == col(AttributionCarnet.carnet_id))
        .join(Programme, col(Programme.id) == col(Carnet.programme_id))
        .where(AttributionCarnet.attribution_id == row.id)
        .order_by(col(AttributionCarnet.carnet_id))
    ).all()
    operator = session.get(Operator, row.operator_id)
    return AttributionInfo(
        id=row.id,
        beneficiary_ref=row.beneficiary_ref,
        received_on=row.received_on,
        category=row.category,
        rulebook=row.rulebook,
        accompanied=row.accompanied,
        establishment=row.establishment,
        passes=row.passes,
        second_carnet_on_request=row.second_carnet_on_request,
        reasons=tuple(json.loads(row.reasons)),
        carnets=tuple(
            CarnetInfo(link.carnet_id, link.size, programme.label, programme.valid_until)
            for link, _carnet, programme in carnets
        ),
        operator_name=operator.name if operator else "?",
        attributed_at=row.attributed_at,
        sent_at=row.sent_at,
        verdict=row.verdict,
        region_message=row.region_message,
    )
