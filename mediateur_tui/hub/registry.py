"""The region's registry: create the region, mint carnets, hand them out, put passes in opposition.

Every operation writes its replica change(s) to the change log in the same transaction as the
rows it changes, so a site's replica can never see one without the other.
"""

from __future__ import annotations

import json
import re
import secrets
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from datetime import date, timedelta

from sqlalchemy import func
from sqlmodel import Session, col, select

from mediateur_tui.domain.clock import system_clock
from mediateur_tui.domain.codes import ALPHABET, DATA_LENGTH, MalformedCode, make_code, parse_code
from mediateur_tui.domain.formatting import PASS_VALUE_CENTS, format_date, local_date
from mediateur_tui.domain.rulebooks import Rulebook, rulebook_for
from mediateur_tui.domain.signatures import key_id, new_private_key, public_key_bytes
from mediateur_tui.domain.verdicts import REVOCATION_REASONS
from mediateur_tui.hub.beneficiaries import (
    MAX_REFERENCE,
    beneficiary_passes,
    cap_message,
    normalise_reference,
)
from mediateur_tui.hub.changes import (
    append_changes,
    attribution_change,
    carnet_change,
    programme_change,
    revocation_change,
)
from mediateur_tui.hub.database import (
    Hub,
    HubSettings,
    bulk_insert,
    open_engine,
    opened_hub,
    read_private_key,
    still_in_service,
    write_private_key,
    write_session,
)
from mediateur_tui.hub.errors import HubError, NotFound
from mediateur_tui.hub.models import (
    ALL_SITES,
    HubCarnet,
    HubPass,
    HubProgramme,
    HubRegion,
    HubRegionKey,
    HubRevocation,
    HubUsedPass,
)
from mediateur_tui.hub.rulebooks import region_rulebooks

CARNET_SIZES = (5, 10)
MAX_CARNETS_PER_ISSUE = 200_000
# A pass is worth a few tens of euros; the bound keeps every sum far inside 64-bit integers.
MAX_PASS_VALUE_CENTS = 1_000_000
# The ids the region gives (region, programme, site): stricter than what the protocol accepts.
NEW_ID = re.compile(r"[A-Z0-9][A-Z0-9-]{0,31}")
_CHUNK = 5_000


@dataclass(frozen=True)
class ProgrammeSpec:
    """What `issue` knows about the programme; None keeps the stored value (or the default)."""

    id: str
    label: str | None = None
    value_cents: int | None = None
    valid_from: date | None = None
    valid_until: date | None = None
    grace_until: date | None = None
    sites: list[str] | None = None


@dataclass(frozen=True)
class IssuedCarnet:
    id: str
    codes: list[str]


@dataclass(frozen=True)
class Issued:
    programme: HubProgramme
    carnets: list[IssuedCarnet]

    @property
    def pass_count(self) -> int:
        return sum(len(carnet.codes) for carnet in self.carnets)


def today() -> date:
    """Today in France (the region's calendar)."""
    return local_date(system_clock())


def init_region(settings: HubSettings, region_id: str) -> Hub:
    """Creates the region (its key files, mode 0600, its row and its first key's row).
    Re-running it is harmless.

    The beneficiary key is made (or the file there loaded) and its fingerprint recorded with the
    region; once recorded, a missing or other key file is refused, never replaced
    (hub.database.region_beneficiary_key).
    """
    if not NEW_ID.fullmatch(region_id):
        raise HubError(
            f"Identifiant de région invalide « {region_id} » : lettres majuscules, chiffres "
            "et tirets."
        )
    if settings.key_path.exists():
        key = read_private_key(settings.key_path)
    else:
        key = new_private_key()
        write_private_key(settings.key_path, key)
    engine = open_engine(settings)
    try:
        with write_session(engine) as session:
            existing = session.exec(select(HubRegion)).first()
            if existing is None:
                _add_region(session, region_id, public_key_bytes(key))
            elif existing.id != region_id:
                raise HubError(f"Ce hub est déjà celui de la région {existing.id}.")
            elif bytes(existing.public_key) != public_key_bytes(key):
                raise HubError(
                    f"La clé {settings.key_path} n'est pas celle de la région {existing.id}."
                )
        return opened_hub(settings, engine)
    except BaseException:
        engine.dispose()
        raise


def _add_region(session: Session, region_id: str, public_key: bytes) -> None:
    """The region's row and its first key's, in service from today (as migration 0006 makes
    it for a region created before it: valid from the region's creation day)."""
    now = system_clock()
    session.add(HubRegion(id=region_id, public_key=public_key, created_at=now))
    session.flush()
    session.add(
        HubRegionKey(
            kid=key_id(public_key),
            region_id=region_id,
            public_key=public_key,
            valid_from=local_date(now),
            created_at=now,
        )
    )


def issue(
    hub: Hub,
    spec: ProgrammeSpec,
    carnets: int,
    size: int,
    before_commit: Callable[[Issued], None] | None = None,
) -> Issued:
    """Mints `carnets` carnets of `size` passes (random codes) for a programme, issued today
    (in France) under the key in service (recorded on each carnet).

        The programme is created, or updated with the values given. Its end of validity cannot
        change once passes exist, because the printed QR codes carry it. `before_commit` is given
        the carnets inside the transaction (the printer's files are written there): when it
        raises, nothing is issued.
    """
    if size not in CARNET_SIZES:
        raise HubError("Un carnet compte 5 ou 10 pass.")
    if not 1 <= carnets <= MAX_CARNETS_PER_ISSUE:
        raise HubError(f"Nombre de carnets entre 1 et {MAX_CARNETS_PER_ISSUE}.")
    now = system_clock()
    day = local_date(now)
    with write_session(hub.engine) as session:
        still_in_service(session, hub)  # a rotation since `hub` opened: not the old key
        programme, changed = _upsert_programme(session, spec)
        first = _next_carnet_number(session)
        codes = _fresh_codes(session, carnets * size)
        issued = [
            IssuedCarnet(f"C{first + index:07d}", codes[index * size : (index + 1) * size])
            for index in range(carnets)
        ]
        carnet_rows = [
            {
                "id": c.id,
                "programme_id": programme.id,
                "size": size,
                "attributed_on": None,
                "issued_on": day,
                "kid": hub.region_kid,
            }
            for c in issued
        ]
        pass_rows = [
            {"code": code, "carnet_id": c.id, "programme_id": programme.id, "position": position}
            for c in issued
            for position, code in enumerate(c.codes, start=1)
        ]
        bulk_insert(session, HubCarnet, carnet_rows)
        bulk_insert(session, HubPass, pass_rows)
        changes = [programme_change(programme)] if changed else []
        changes += [
            carnet_change(
                HubCarnet(id=c.id, programme_id=programme.id, size=size, issued_on=day), c.codes
            )
            for c in issued
        ]
        append_changes(session, changes, now)
        result = Issued(programme=programme, carnets=issued)
        if before_commit is not None:
            before_commit(result)
    return result


def attribute(
    hub: Hub,
    carnet_id: str,
    beneficiary_ref: str | None,
    on: date | None = None,
    rulebooks: Sequence[Rulebook] | None = None,
) -> HubCarnet:
    """Hands a carnet to a pseudonymous beneficiary on `on` (today by default); None takes it
    back.

    The reference is stored normalised (hub.beneficiaries.normalise_reference: "b-7k3m-…" is
    "B7K3M…"), 1 to 64 characters. The attribution is refused when the beneficiary would pass
    the cap of the rulebook in force on that day (`rulebooks` defaults to the shipped and
    the published versions), counted as for the distributor sites' attributions. A carnet one
    of whose passes the region has already accepted cannot be taken back: its passes stay
    counted.
    """
    reference = None
    if beneficiary_ref is not None:
        reference = normalise_reference(beneficiary_ref)
        if not 1 <= len(reference) <= MAX_REFERENCE:
            raise HubError(
                f"Référence du bénéficiaire vide ou trop longue ({MAX_REFERENCE} caractères au "
                "plus, sans les espaces ni les tirets)."
            )
    day = on or today()
    with write_session(hub.engine) as session:
        carnet = session.get(HubCarnet, carnet_id.strip().upper())
        if carnet is None:
            raise NotFound(f"Carnet inconnu : {carnet_id}.")
        if reference is None:
            _check_take_back(session, carnet)
            carnet.attributed_on = None
            carnet.beneficiary_ref = None
        else:
            if carnet.attributed_on is not None:
                raise HubError(
                    f"Le carnet {carnet.id} est déjà attribué depuis le "
                    f"{format_date(carnet.attributed_on)} (référence {carnet.beneficiary_ref})."
                )
            books = rulebooks if rulebooks is not None else region_rulebooks(session)
            _check_cap(session, carnet, reference, day, books)
            carnet.attributed_on = day
            carnet.beneficiary_ref = reference
        session.add(carnet)
        change = attribution_change(carnet.id, carnet.attributed_on, carnet.beneficiary_ref)
        append_changes(session, [change], system_clock())
    return carnet


def _check_take_back(session: Session, carnet: HubCarnet) -> None:
    if carnet.attributed_on is None:
        raise HubError(f"Le carnet {carnet.id} n'est pas attribué.")
    used = session.exec(
        select(func.count())
        .select_from(HubUsedPass)
        .join(HubPass, col(HubPass.code) == HubUsedPass.code)
        .where(HubPass.carnet_id == carnet.id)
    ).one()
    if used:
        if used == 1:
            said = "1 de ses pass a déjà été utilisé (accepté et payé par la région)"
        else:
            said = f"{used} de ses pass ont déjà été utilisés (acceptés et payés par la région)"
        raise HubError(
            f"Le carnet {carnet.id} ne peut pas être repris : {said}. Son attribution reste "
            "comptée pour le bénéficiaire."
        )


def _check_cap(
    session: Session,
    carnet: HubCarnet,
    reference: str,
    day: date,
    rulebooks: Sequence[Rulebook] | None,
) -> None:
    """Refuses (HubError) an attribution that would take the beneficiary past the cap of the
    rulebook in force on `day`, in the caller's write transaction."""
    book = rulebook_for(day, rulebooks)
    if book is None:
        raise HubError(
            f"Aucun règlement d'attribution n'était en vigueur le {format_date(day)} : le "
            "plafond de pass par bénéficiaire ne peut pas être vérifié."
        )
    already = beneficiary_passes(session, [reference])[reference]
    cap = book.max_passes_per_beneficiary
    if already + carnet.size > cap:
        raise HubError(f"Carnet {carnet.id} non attribué. {cap_message(already, carnet.size, cap)}")


def revoke(hub: Hub, code_text: str, reason: str, on: date | None = None) -> HubRevocation:
    """Puts a pass in opposition (lost, stolen or cancelled)."""
    if reason not in REVOCATION_REASONS:
        choices = ", ".join(f"{token} ({label})" for token, label in REVOCATION_REASONS.items())
        raise HubError(f"Motif d'opposition : {choices}.")
    try:
        code = parse_code(code_text)
    except MalformedCode as error:
        raise HubError(str(error)) from error
    with write_session(hub.engine) as session:
        if session.get(HubPass, code) is None:
            raise NotFound(f"Pass inconnu du registre : {code_text}.")
        existing = session.get(HubRevocation, code)
        if existing is not None:
            raise HubError(
                f"Ce pass est déjà en opposition depuis le {format_date(existing.revoked_on)} "
                f"({REVOCATION_REASONS[existing.reason]})."
            )
        revocation = HubRevocation(
            code=code, reason=reason, revoked_on=on or today(), created_at=system_clock()
        )
        session.add(revocation)
        append_changes(
            session, [revocation_change(code, reason, revocation.revoked_on)], revocation.created_at
        )
    return revocation


def _upsert_programme(session: Session, spec: ProgrammeSpec) -> tuple[HubProgramme, bool]:
    programme_id = spec.id.strip().upper()
    if not NEW_ID.fullmatch(programme_id):
        raise HubError(
            f"Identifiant de programme invalide « {spec.id} » : lettres majuscules, chiffres "
            "et tirets (32 au plus)."
        )
    sites = _check_sites(spec.sites) if spec.sites is not None else None
    programme = session.get(HubProgramme, programme_id)
    if programme is None:
        valid_from = spec.valid_from or today()
        valid_until = spec.valid_until or date(valid_from.year, 12, 31)
        programme = HubProgramme(
            id=programme_id,
            label=spec.label or f"Pass numérique {programme_id}",
            value_cents=spec.value_cents if spec.value_cents is not None else PASS_VALUE_CENTS,
            valid_from=valid_from,
            valid_until=valid_until,
            grace_until=spec.grace_until or valid_until + timedelta(days=31),
            sites=json.dumps(sites or [ALL_SITES]),
        )
        _check_programme(programme)
        session.add(programme)
        session.flush()
        return programme, True
    before = programme_change(programme)
    if spec.valid_until is not None and spec.valid_until != programme.valid_until:
        # By its carnets, whose programme is indexed: every carnet has its passes.
        has_passes = session.exec(
            select(HubCarnet.id).where(HubCarnet.programme_id == programme_id).limit(1)
        ).first()
        if has_passes is not None:
            raise HubError(
                f"Le programme {programme_id} a déjà des pass émis jusqu'au "
                f"{format_date(programme.valid_until)} : cette date est imprimée dans leurs "
                "QR codes et ne peut plus changer."
            )
    for name in ("label", "value_cents", "valid_from", "valid_until", "grace_until"):
        value = getattr(spec, name)
        if value is not None:
            setattr(programme, name, value)
    if sites is not None:
        programme.sites = json.dumps(sites)
    _check_programme(programme)
    changed = programme_change(programme) != before
    if changed:
        session.add(programme)
        session.flush()
    return programme, changed


def _check_programme(programme: HubProgramme) -> None:
    if programme.value_cents <= 0:
        raise HubError("La valeur d'un pass doit être positive (en centimes).")
    if programme.value_cents > MAX_PASS_VALUE_CENTS:
        raise HubError(
            f"La valeur d'un pass est au plus {MAX_PASS_VALUE_CENTS} centimes "
            f"({MAX_PASS_VALUE_CENTS // 100} €)."
        )
    if not programme.valid_from <= programme.valid_until <= programme.grace_until:
        raise HubError(
            "Dates incohérentes : il faut début ≤ fin de validité ≤ fin de la période de grâce."
        )
    if not programme.label.strip():
        raise HubError("Le libellé du programme est vide.")


def _check_sites(sites: list[str]) -> list[str]:
    cleaned = [site.strip().upper() for site in sites if site.strip()]
    if not cleaned or ALL_SITES in cleaned:
        return [ALL_SITES]
    bad = [site for site in cleaned if not NEW_ID.fullmatch(site)]
    if bad:
        raise HubError(f"Identifiant de site invalide : {', '.join(bad)}.")
    return sorted(set(cleaned))


def _next_carnet_number(session: Session) -> int:
    last = session.exec(select(func.max(HubCarnet.id))).one()
    return int(last[1:]) + 1 if last else 1


def _fresh_codes(session: Session, count: int) -> list[str]:
    """`count` random codes, new to the registry and to each other."""
    codes: list[str] = []
    seen: set[str] = set()
    while len(codes) < count:
        candidates = [c for c in _random_codes(count - len(codes)) if c not in seen]
        taken: set[str] = set()
        for start in range(0, len(candidates), _CHUNK):
            chunk = candidates[start : start + _CHUNK]
            taken.update(
                session.exec(select(HubPass.code).where(col(HubPass.code).in_(chunk))).all()
            )
        for code in candidates:
            if code not in taken and code not in seen:
                seen.add(code)
                codes.append(code)
    return codes


def _random_codes(count: int) -> Iterator[str]:
    """Codes from 60 random bits each (12 Crockford symbols), plus the check symbol."""
    shifts = range(5 * (DATA_LENGTH - 1), -1, -5)
    for _ in range(count):
        bits = int.from_bytes(secrets.token_bytes(8), "big") >> (64 - 5 * DATA_LENGTH)
        data = "".join(ALPHABET[(bits >> shift) & 0x1F] for shift in shifts)
        yield make_code(data)
