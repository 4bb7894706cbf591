"""Attributions of carnets by distributor sites: check a pn-attributions/1, decide each
attribution against the region-wide caps, answer a signed pn-attribution-answer/1.

A distributor site decides a request itself by the règlement (domain/attribution.py) and hands
carnets out; the region sees every distributor, so it enforces what no site can alone: the cap
of passes per beneficiary (all distributors and the region's own `attribute` counted) and the
region-wide quota of the lycée experiment. It does not take a site's word for the rest either:
an attribution may not hand out more passes than the règlement grants for the request, nor
carnets that are no longer usable (programme over, a pass in opposition or already used), which
would spend a person's allowance for nothing.

Order (docs/protocol.md, "Attributions"): the document's structure (400); the authenticated
site is the document's site (403); the site is enrolled (400) and a distributor (403); the
site's signature (400). A refused document leaves the database untouched. Then, in one
transaction holding the hub's write lock, every attribution in document order:

1. an id already received from this site gets its stored result back, unchanged, whatever the
   body says; an id already received from another site is refused `invalid` ("Identifiant déjà
   utilisé par un autre site"), and nothing is stored or changed;
2. `no_rulebook`: no rulebook in force on `received_on` (the hub picks it itself), the category
   is not in it, or the category's experiment does not cover `received_on` or has no criteria
   yet (its `criteria_pending_reason` is the message);
3. `invalid`: no carnet, more than two, or the same carnet twice;
4. `carnet_unknown`: a carnet the registry does not hold;
5. `invalid`: a carnet size the rulebook does not know, or `passes` is not the carnets' sum;
6. `carnet_taken`: a carnet already handed out (by anyone);
7. `invalid`: more passes than the rulebook grants for such a request (`accompanied` or
   `alone`: the sum of its carnets), whatever the site decided;
8. `invalid`: a carnet not usable on the attribution day (the French calendar day of
   `attributed_at`): its programme ended before that day, or one of its passes is in
   opposition or was already accepted by the region (hub_used_pass);
9. `beneficiary_cap`: the passes of the beneficiary's carnets (region-wide, earlier
   attributions of the same document included; hub/beneficiaries.py, as for the region's own
   `attribute`) plus these would pass the rulebook's cap;
10. `lycee_cap`: for an experiment's category, the passes of the accepted attributions of
    that category received within the experiment's window plus these would pass its quota;
11. accepted: the carnets are handed to the beneficiary on the French calendar day of
   `attributed_at`, and an attribution change per carnet goes into the replica log.

Every attribution is stored with its result (hub_attribution), accepted or refused.
"""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from sqlalchemy import func
from sqlmodel import Session, col, select

from mediateur_tui.domain.beneficiaries import REFERENCE_PATTERN
from mediateur_tui.domain.clock import system_clock
from mediateur_tui.domain.formatting import format_date, local_date, plural, thousands
from mediateur_tui.domain.rulebooks import Category, Rulebook, rulebook_for
from mediateur_tui.domain.verdicts import REVOCATION_REASONS
from mediateur_tui.hub.beneficiaries import beneficiary_passes, cap_message
from mediateur_tui.hub.changes import append_changes, attribution_change
from mediateur_tui.hub.database import Hub, read_session, write_session
from mediateur_tui.hub.errors import Forbidden
from mediateur_tui.hub.models import (
    HubAttribution,
    HubCarnet,
    HubPass,
    HubProgramme,
    HubRevocation,
    HubSite,
    HubUsedPass,
)
from mediateur_tui.hub.rulebooks import region_rulebooks
from mediateur_tui.hub.struck_off import refuse_if_signed_struck_off
from mediateur_tui.protocol.errors import ProtocolError
from mediateur_tui.protocol.formats import (
    ATTRIBUTION_ANSWER,
    ATTRIBUTIONS,
    MAX_ATTRIBUTIONS_PER_DOCUMENT,
)
from mediateur_tui.protocol.ids import DAY, IDENTIFIER, RANDOM_ID, matches
from mediateur_tui.protocol.instants import instant_or_none, iso_instant, parse_instant
from mediateur_tui.protocol.signing import (
    region_signer,
    sign_document,
    site_signer,
    verify_document,
)
from mediateur_tui.protocol.verdicts import AttributionVerdict

MAX_CARNETS = 2  # per attribution
MAX_TEXT = 200  # rulebook id, category, establishment, carnet id
FIELDS = (
    "id",
    "beneficiary_ref",
    "category",
    "rulebook",
    "received_on",
    "attributed_at",
    "accompanied",
    "establishment",
    "carnets",
    "passes",
)


@dataclass(frozen=True)
class AttributionIn:
    """One attribution of a received document, checked for its structure only."""

    id: str
    beneficiary_ref: str
    category: str
    rulebook: str
    received_on: date
    attributed_at: datetime
    accompanied: bool
    establishment: str | None
    carnets: tuple[str, ...]
    passes: int


@dataclass(frozen=True)
class Outcome:
    verdict: str
    reason: str | None
    message: str
    beneficiary_passes: int


def receive_attributions(
    hub: Hub,
    document: dict[str, Any],
    authenticated_site: str | None = None,
    rulebooks: Sequence[Rulebook] | None = None,
) -> dict[str, Any]:
    """Decides a pn-attributions/1 and returns the signed pn-attribution-answer/1.

    `authenticated_site` is the site of the API key (None for a document read from a file);
    `rulebooks` defaults to the versions shipped in the package (domain/rules/) and those
    the region published (hub.rulebooks). Raises
    ProtocolError (bad document or signature) or Forbidden (another site's document, a site
    that is not a distributor, or a document sent since its site was struck off), with French
    messages; nothing is stored then.
    """
    attributions = check_attributions_structure(document, hub.region_id)
    site_id = document["site_id"]
    if authenticated_site is not None and authenticated_site != site_id:
        raise Forbidden(
            f"Ces attributions sont celles du site {site_id} : le site {authenticated_site} ne "
            "peut envoyer que les siennes."
        )
    with read_session(hub.engine) as session:
        site = session.get(HubSite, site_id)
    if site is None or site.public_key is None:
        raise ProtocolError(f"Site inconnu du hub ou pas encore inscrit : {site_id}.")
    if not site.distributor:
        raise Forbidden(
            f"La région n'a pas fait du site {site_id} un site distributeur : il ne peut pas "
            "attribuer de carnets."
        )
    verify_document(document, bytes(site.public_key), site_signer(site_id))
    refuse_if_signed_struck_off(site, parse_instant(document["sent_at"]), "attributions envoyées")
    received_at = system_clock()
    with write_session(hub.engine) as session:
        books = rulebooks if rulebooks is not None else region_rulebooks(session)
        results = _decide_all(session, site_id, attributions, books, received_at)
    answer = {
        "format": ATTRIBUTION_ANSWER,
        "region_id": hub.region_id,
        "site_id": site_id,
        "answered_at": iso_instant(system_clock()),
        "results": results,
    }
    return sign_document(answer, hub.region_key, region_signer(hub.region_id))


def check_attributions_structure(document: dict[str, Any], region_id: str) -> list[AttributionIn]:
    """The document's attributions, or ProtocolError saying in French what is wrong."""
    if not isinstance(document, dict) or document.get("format") != ATTRIBUTIONS:
        raise ProtocolError(f"Attributions attendues (format {ATTRIBUTIONS}).")
    if document.get("region_id") != region_id:
        raise ProtocolError(
            f"Ces attributions sont destinées à la région « {document.get('region_id')} », "
            f"pas à {region_id}."
        )
    if not matches(IDENTIFIER, document.get("site_id")):
        raise ProtocolError("Site des attributions (site_id) absent ou invalide.")
    if instant_or_none(document.get("sent_at")) is None:
        raise ProtocolError("Date d'envoi des attributions (sent_at) invalide.")
    items = document.get("attributions")
    if not isinstance(items, list):
        raise ProtocolError("Liste « attributions » absente du document.")
    if len(items) > MAX_ATTRIBUTIONS_PER_DOCUMENT:
        raise ProtocolError(
            "Trop d'attributions dans un document : "
            f"{thousands(MAX_ATTRIBUTIONS_PER_DOCUMENT)} au plus, envoyez-les en plusieurs fois."
        )
    attributions = [_attribution(number, item) for number, item in enumerate(items, start=1)]
    seen: set[str] = set()
    for number, attribution in enumerate(attributions, start=1):
        if attribution.id in seen:
            raise ProtocolError(
                f"Attribution n° {number} : l'identifiant {attribution.id} figure deux fois "
                "dans le document."
            )
        seen.add(attribution.id)
    return attributions


def _attribution(number: int, item: object) -> AttributionIn:
    where = f"Attribution n° {number}"
    if not isinstance(item, dict):
        raise ProtocolError(f"{where} : ce n'est pas une attribution.")
    missing = [name for name in FIELDS if name not in item]
    if missing:
        raise ProtocolError(f"{where} : champ(s) manquant(s) : {', '.join(missing)}.")
    if not matches(RANDOM_ID, item["id"]):
        raise ProtocolError(f"{where} : identifiant (id) invalide, 32 caractères hexadécimaux.")
    if not matches(REFERENCE_PATTERN, item["beneficiary_ref"]):
        raise ProtocolError(f"{where} : référence du bénéficiaire (beneficiary_ref) invalide.")
    for name in ("category", "rulebook"):
        if not _is_text(item[name]):
            raise ProtocolError(f"{where} : {name} invalide.")
    received_on = _day(item["received_on"])
    if received_on is None:
        raise ProtocolError(f"{where} : date de réception (received_on) invalide, AAAA-MM-JJ.")
    attributed_at = instant_or_none(item["attributed_at"])
    if attributed_at is None:
        raise ProtocolError(
            f"{where} : date d'attribution (attributed_at) invalide (ISO 8601 avec fuseau)."
        )
    if not isinstance(item["accompanied"], bool):
        raise ProtocolError(f"{where} : accompanied doit valoir true ou false.")
    establishment = item["establishment"]
    if establishment is not None and not _is_text(establishment):
        raise ProtocolError(f"{where} : établissement (establishment) invalide.")
    carnets = item["carnets"]
    if not isinstance(carnets, list) or not all(_is_text(carnet) for carnet in carnets):
        raise ProtocolError(f"{where} : liste de carnets (carnets) invalide.")
    passes = item["passes"]
    if not isinstance(passes, int) or isinstance(passes, bool):
        raise ProtocolError(f"{where} : nombre de pass (passes) invalide.")
    return AttributionIn(
        id=item["id"],
        beneficiary_ref=item["beneficiary_ref"],
        category=item["category"],
        rulebook=item["rulebook"],
        received_on=received_on,
        attributed_at=attributed_at,
        accompanied=item["accompanied"],
        establishment=establishment,
        carnets=tuple(carnets),
        passes=passes,
    )


# --- deciding, in the write transaction -------------------------------------------------------


class _Ledger:
    """What the decisions need from the database, read once and kept up to date as the
    document's attributions are accepted one after the other."""

    def __init__(self, session: Session, attributions: list[AttributionIn]) -> None:
        self.session = session
        ids = [attribution.id for attribution in attributions]
        self.stored = {
            row.id: row
            for row in session.exec(select(HubAttribution).where(col(HubAttribution.id).in_(ids)))
        }
        wanted = {carnet for a in attributions if _shape_ok(a) for carnet in a.carnets}
        self.carnets = {
            row.id: row
            for row in session.exec(select(HubCarnet).where(col(HubCarnet.id).in_(sorted(wanted))))
        }
        self.beneficiary_passes = beneficiary_passes(
            session, (attribution.beneficiary_ref for attribution in attributions)
        )
        # What makes a carnet unusable, for every known carnet of the document at once (one
        # query each): accepting an attribution changes none of it.
        known = sorted(self.carnets)
        programme_ids = sorted({carnet.programme_id for carnet in self.carnets.values()})
        self.programmes = {
            row.id: row
            for row in session.exec(
                select(HubProgramme).where(col(HubProgramme.id).in_(programme_ids))
            )
        }
        self.revoked: dict[str, list[tuple[date, str]]] = defaultdict(list)
        for carnet_id, revoked_on, reason in session.exec(
            select(HubPass.carnet_id, col(HubRevocation.revoked_on), HubRevocation.reason)
            .join(HubRevocation, col(HubRevocation.code) == HubPass.code)
            .where(col(HubPass.carnet_id).in_(known))
        ):
            self.revoked[carnet_id].append((revoked_on, reason))
        self.used: dict[str, list[datetime]] = defaultdict(list)
        for carnet_id, redeemed_at in session.exec(
            select(HubPass.carnet_id, HubUsedPass.redeemed_at)
            .join(HubUsedPass, col(HubUsedPass.code) == HubPass.code)
            .where(col(HubPass.carnet_id).in_(known))
        ):
            self.used[carnet_id].append(redeemed_at)

    def unusable(self, carnet: HubCarnet, day: date) -> str | None:
        """Why `carnet` cannot be handed out on `day` (French), or None."""
        programme = self.programmes[carnet.programme_id]
        if programme.valid_until < day:
            return (
                f"Le carnet {carnet.id} n'est plus utilisable : son programme « "
                f"{programme.label} » a pris fin le {format_date(programme.valid_until)}, avant "
                f"le {format_date(day)}, jour de l'attribution. Remettez un autre carnet."
            )
        revoked = self.revoked.get(carnet.id)
        if revoked:
            since, reason = min(revoked)
            label = REVOCATION_REASONS.get(reason, reason)
            if len(revoked) == 1:
                which = f"un pass en opposition ({label}) depuis le {format_date(since)}"
            else:
                which = (
                    f"{len(revoked)} pass en opposition, le premier ({label}) depuis le "
                    f"{format_date(since)}"
                )
            return (
                f"Le carnet {carnet.id} a {which} : la région ne peut pas l'attribuer. "
                "Remettez un autre carnet."
            )
        used = self.used.get(carnet.id)
        if used:
            first = format_date(local_date(min(used)))
            which = (
                f"un pass déjà encaissé par la région (le {first})"
                if len(used) == 1
                else f"{len(used)} pass déjà encaissés par la région (le premier le {first})"
            )
            return (
                f"Le carnet {carnet.id} a {which} : il a déjà servi, la région ne peut pas "
                "l'attribuer. Remettez un autre carnet."
            )
        return None

    def experiment_passes(self, category: str, start: date, end: date) -> int:
        """Passes of the accepted attributions of `category` received from `start` to `end`,
        those of this document accepted so far included (the session flushes them first)."""
        total = self.session.exec(
            select(func.coalesce(func.sum(HubAttribution.passes), 0)).where(
                HubAttribution.category == category,
                HubAttribution.verdict == AttributionVerdict.ACCEPTED,
                HubAttribution.received_on >= start,
                HubAttribution.received_on <= end,
            )
        ).one()
        return int(total)

    def accept(self, attribution: AttributionIn) -> list[HubCarnet]:
        day = local_date(attribution.attributed_at)
        carnets = [self.carnets[carnet_id] for carnet_id in attribution.carnets]
        for carnet in carnets:
            carnet.attributed_on = day
            carnet.beneficiary_ref = attribution.beneficiary_ref
            self.session.add(carnet)
        self.beneficiary_passes[attribution.beneficiary_ref] += attribution.passes
        return carnets


def _decide_all(
    session: Session,
    site_id: str,
    attributions: list[AttributionIn],
    rulebooks: Sequence[Rulebook] | None,
    received_at: datetime,
) -> list[dict[str, Any]]:
    ledger = _Ledger(session, attributions)
    results: list[dict[str, Any]] = []
    changes: list[dict[str, Any]] = []
    for attribution in attributions:
        stored = ledger.stored.get(attribution.id)
        if stored is not None and stored.site_id != site_id:
            already = ledger.beneficiary_passes[attribution.beneficiary_ref]
            results.append(_result(attribution.id, _foreign_id(already)))
            continue
        if stored is not None:
            results.append(_result(stored.id, _stored_outcome(stored)))
            continue
        outcome = _decide(ledger, attribution, rulebook_for(attribution.received_on, rulebooks))
        if outcome.verdict == AttributionVerdict.ACCEPTED:
            for carnet in ledger.accept(attribution):
                changes.append(
                    attribution_change(carnet.id, carnet.attributed_on, carnet.beneficiary_ref)
                )
        session.add(_row(site_id, attribution, outcome, received_at))
        results.append(_result(attribution.id, outcome))
    session.flush()
    append_changes(session, changes, received_at)
    return results


def _decide(ledger: _Ledger, attribution: AttributionIn, book: Rulebook | None) -> Outcome:
    already = ledger.beneficiary_passes[attribution.beneficiary_ref]
    received = format_date(attribution.received_on)

    def refused(reason: str, message: str) -> Outcome:
        return Outcome(AttributionVerdict.REFUSED, reason, message, already)

    if book is None:
        return refused(
            "no_rulebook",
            f"Aucun règlement d'attribution n'était en vigueur le {received}, jour de réception "
            "de la demande.",
        )
    category = book.categories.get(attribution.category)
    if category is None:
        return refused(
            "no_rulebook",
            f"La catégorie « {attribution.category} » n'est pas prévue par le règlement en "
            f"vigueur le {received} ({book.id}).",
        )
    experiment = category.experiment
    if experiment is not None:
        if not experiment.received_from <= attribution.received_on <= experiment.received_until:
            return refused(
                "no_rulebook",
                f"{category.label} : l'expérimentation ne vaut que pour les demandes reçues du "
                f"{format_date(experiment.received_from)} au "
                f"{format_date(experiment.received_until)} (demande reçue le {received}).",
            )
        if experiment.criteria is None:
            return refused("no_rulebook", experiment.criteria_pending_reason)

    problem = _shape_problem(attribution)
    if problem is not None:
        return refused("invalid", problem)
    unknown = [carnet for carnet in attribution.carnets if carnet not in ledger.carnets]
    if unknown:
        return refused(
            "carnet_unknown",
            f"Carnet inconnu du registre de la région : {', '.join(unknown)}. Vérifiez le "
            "numéro imprimé sur le carnet.",
        )
    carnets = [ledger.carnets[carnet_id] for carnet_id in attribution.carnets]
    odd = [carnet for carnet in carnets if carnet.size not in book.carnet_sizes]
    if odd:
        sizes = " ou ".join(str(size) for size in book.carnet_sizes)
        return refused(
            "invalid",
            f"Le carnet {odd[0].id} compte {odd[0].size} pass : le règlement {book.id} prévoit "
            f"des carnets de {sizes} pass.",
        )
    total = sum(carnet.size for carnet in carnets)
    if attribution.passes != total:
        return refused(
            "invalid",
            f"Attribution incohérente : elle annonce {plural(attribution.passes, 'pass', 'pass')}"
            f" mais ses carnets en comptent {total}.",
        )
    taken = [carnet for carnet in carnets if carnet.attributed_on is not None]
    if taken:
        carnet = taken[0]
        assert carnet.attributed_on is not None
        return refused(
            "carnet_taken",
            f"Le carnet {carnet.id} est déjà attribué depuis le "
            f"{format_date(carnet.attributed_on)} : remettez un autre carnet.",
        )
    beyond = _beyond_grant(attribution, book)
    if beyond is not None:
        return refused("invalid", beyond)
    day = local_date(attribution.attributed_at)
    for carnet in carnets:
        unusable = ledger.unusable(carnet, day)
        if unusable is not None:
            return refused("invalid", unusable)
    cap = book.max_passes_per_beneficiary
    if already + attribution.passes > cap:
        return refused("beneficiary_cap", cap_message(already, attribution.passes, cap))
    if experiment is not None:
        used = ledger.experiment_passes(
            attribution.category, experiment.received_from, experiment.received_until
        )
        if used + attribution.passes > experiment.max_passes:
            return refused("lycee_cap", _quota_message(category, used, experiment.max_passes))
    listing = ", ".join(attribution.carnets)
    return Outcome(
        AttributionVerdict.ACCEPTED,
        None,
        f"Attribution enregistrée par la région : {plural(attribution.passes, 'pass', 'pass')} "
        f"({plural(len(carnets), 'carnet')} {listing}). Le bénéficiaire a reçu "
        f"{already + attribution.passes} pass sur le plafond de {cap}.",
        already + attribution.passes,
    )


def _beyond_grant(attribution: AttributionIn, book: Rulebook) -> str | None:
    """Why `attribution` hands out more passes than `book` grants for such a request (French),
    or None. The site decided it, but a faulty or outdated site must not spend a person's
    allowance beyond the règlement (10 passes to someone who applied alone)."""
    grant = book.accompanied if attribution.accompanied else book.alone
    granted = sum(grant.carnets)
    if attribution.passes <= granted:
        return None
    how = "accompagnée par un prescripteur" if attribution.accompanied else "faite seule"
    listing = " + ".join(f"un carnet de {size}" for size in grant.carnets)
    if grant.second_carnet_on_request:
        listing += " ; un second carnet sur une nouvelle demande"
    return (
        f"Demande {how} : le règlement {book.id} prévoit au plus "
        f"{plural(granted, 'pass', 'pass')} par demande ({listing}), mais cette attribution en "
        f"remet {attribution.passes}."
    )


def _quota_message(category: Category, used: int, quota: int) -> str:
    left = max(quota - used, 0)
    return (
        f"{category.label} : le plafond de {thousands(quota)} pass de l'expérimentation est "
        f"atteint dans la région ({thousands(used)} pass déjà attribués, "
        f"{plural(left, 'pass restant', 'pass restants')})."
    )


def _shape_ok(attribution: AttributionIn) -> bool:
    return _shape_problem(attribution) is None


def _shape_problem(attribution: AttributionIn) -> str | None:
    carnets = attribution.carnets
    if not carnets:
        return "Attribution incohérente : aucun carnet n'est indiqué."
    if len(carnets) > MAX_CARNETS:
        return f"Attribution incohérente : {MAX_CARNETS} carnets au plus par attribution."
    if len(set(carnets)) != len(carnets):
        return f"Attribution incohérente : le carnet {carnets[0]} figure deux fois."
    return None


def _row(
    site_id: str, attribution: AttributionIn, outcome: Outcome, received_at: datetime
) -> HubAttribution:
    return HubAttribution(
        id=attribution.id,
        site_id=site_id,
        beneficiary_ref=attribution.beneficiary_ref,
        category=attribution.category,
        rulebook=attribution.rulebook,
        received_on=attribution.received_on,
        attributed_at=attribution.attributed_at,
        accompanied=attribution.accompanied,
        establishment=attribution.establishment,
        carnets=json.dumps(list(attribution.carnets), ensure_ascii=False),
        passes=attribution.passes,
        verdict=outcome.verdict,
        reason=outcome.reason,
        message=outcome.message,
        beneficiary_passes=outcome.beneficiary_passes,
        received_at=received_at,
    )


def _foreign_id(already: int) -> Outcome:
    """An id the hub already holds from another site: refused, and neither that site's row nor
    anything else changes (the other site's result is not given away either)."""
    return Outcome(
        AttributionVerdict.REFUSED,
        "invalid",
        "Identifiant déjà utilisé par un autre site : la région ne peut pas enregistrer cette "
        "attribution. Les carnets ne sont pas attribués ; refaites l'attribution (elle aura un "
        "nouvel identifiant).",
        already,
    )


def _stored_outcome(row: HubAttribution) -> Outcome:
    return Outcome(row.verdict, row.reason, row.message, row.beneficiary_passes)


def _result(attribution_id: str, outcome: Outcome) -> dict[str, Any]:
    return {
        "id": attribution_id,
        "verdict": outcome.verdict,
        "reason": outcome.reason,
        "message": outcome.message,
        "beneficiary_passes": outcome.beneficiary_passes,
    }


def _day(value: object) -> date | None:
    if not isinstance(value, str) or DAY.fullmatch(value) is None:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        return None


def _is_text(value: object) -> bool:
    return isinstance(value, str) and 1 <= len(value) <= MAX_TEXT and bool(value.strip())
