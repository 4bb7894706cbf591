"""Provisional acceptance: a genuinely signed QR code that the replica does not list yet."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from sqlmodel import Session, select

from mediateur_tui.domain.clock import fixed_clock
from mediateur_tui.domain.codes import make_code
from mediateur_tui.domain.region_keys import RegionKeys
from mediateur_tui.domain.scan_input import parse_scan
from mediateur_tui.domain.verdicts import (
    PROVISIONAL_WARNING,
    LocalRedemption,
    ReplicaState,
    Verdict,
    decide,
    provisional_grace_until,
)
from mediateur_tui.services.batches import batch_document
from mediateur_tui.services.month_end import MonthEnd
from mediateur_tui.store.models import Redemption

from .region import Region

PARIS = ZoneInfo("Europe/Paris")
CODE = make_code("PR0V1S10NA1X")
UNTIL = date(2026, 12, 31)
REGION = Region()
PAYLOAD = REGION.qr(CODE, UNTIL)
KNOWN_KEY = ReplicaState(
    updated_at=datetime(2026, 6, 1, tzinfo=UTC),
    region_keys=RegionKeys.first_key_only(REGION.public_key),
)


def on(day: date) -> datetime:
    return datetime.combine(day, time(12, 0), tzinfo=PARIS)


def check(text: str = PAYLOAD, day: date = date(2026, 6, 15), replica=KNOWN_KEY, **kwargs):
    now = on(day)
    return decide(parse_scan(text), None, replace(replica, updated_at=now), now, **kwargs)


def test_a_signed_unknown_pass_is_accepted_provisionally():
    result = check()
    assert result.verdict is Verdict.VALID and result.redeemable and result.provisional
    assert result.value_cents == 1000
    assert result.details["provisoire"] == "oui"
    assert result.details["valeur"] == "10,00 €"
    assert "provisoire" in result.message
    assert PROVISIONAL_WARNING in result.warnings
    assert "région" in PROVISIONAL_WARNING and "remise" in PROVISIONAL_WARNING


@pytest.mark.parametrize(
    ("day", "expected"),
    [
        (date(2026, 12, 31), Verdict.VALID),
        (date(2027, 1, 1), Verdict.GRACE),
        (date(2027, 1, 31), Verdict.GRACE),
        (date(2027, 2, 1), Verdict.EXPIRED),
    ],
)
def test_its_dates_follow_the_grace_rule_of_the_brief(day, expected):
    assert provisional_grace_until(UNTIL) == date(2027, 1, 31)
    result = check(day=day)
    assert result.verdict is expected
    assert result.provisional is (expected is not Verdict.EXPIRED)
    assert result.value_cents == (0 if expected is Verdict.EXPIRED else 1000)
    if expected is Verdict.GRACE:
        assert result.details["accepte_jusqu_au"] == "31/01/2027"
    if expected is Verdict.EXPIRED:
        assert PROVISIONAL_WARNING not in result.warnings


def test_a_forged_payload_stays_malformed():
    forged = Region(key=Ed25519PrivateKey.generate()).qr(CODE, UNTIL)
    result = check(forged)
    assert result.verdict is Verdict.MALFORMED and not result.provisional
    later_date = PAYLOAD.replace(":20261231:", ":20291231:")
    assert check(later_date).verdict is Verdict.MALFORMED


def test_without_the_region_key_or_as_a_bare_code_it_stays_unknown():
    assert check(replica=ReplicaState(updated_at=None)).verdict is Verdict.UNKNOWN
    assert check(CODE).verdict is Verdict.UNKNOWN


def test_once_taken_here_it_is_redeemed_here():
    taken = LocalRedemption(on(date(2026, 6, 1)), "Atelier", "Léa")
    for text in (PAYLOAD, CODE):
        result = check(text, redeemed_here=taken)
        assert result.verdict is Verdict.REDEEMED_HERE and not result.redeemable
        assert "Léa" in result.message


# --- at the desk and in the batch -----------------------------------------------------------


def test_a_provisional_redemption_travels_marked_in_the_batch(site, region):
    unknown = region.new_code()  # the region issued it after the site's replica
    valid_until = date(2026, 12, 31)
    moment = datetime(2026, 3, 20, 10, 0, tzinfo=UTC)
    known_code = next(c for c in region.changes if c["t"] == "carnet")["codes"][0]
    result = site.redeem(region.qr(unknown, valid_until), moment)
    assert result.verdict is Verdict.VALID and result.provisional
    site.redeem(known_code, moment)
    assert site.desk(moment).check(unknown).verdict is Verdict.REDEEMED_HERE
    with Session(site.engine) as session:
        flags = {row.code: row.provisional for row in session.exec(select(Redemption))}
    assert flags == {unknown: True, known_code: False}
    batch = MonthEnd(
        site.engine, site.data_dir, fixed_clock(moment + timedelta(days=15))
    ).close_month("2026-03")
    lines = {
        line["code"]: line for line in batch_document(site.engine, batch.batch_id)["redemptions"]
    }
    assert lines[unknown]["provisional"] is True and lines[unknown]["value_cents"] == 1000
    assert lines[known_code]["provisional"] is False
