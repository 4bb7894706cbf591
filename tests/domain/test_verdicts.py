"""One verdict per scan, with a French sentence saying when and where (docs/passes.md)."""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mediateur_tui.domain.codes import make_code
from mediateur_tui.domain.region_keys import RegionKeys
from mediateur_tui.domain.scan_input import InputKind, ScanInput, parse_scan
from mediateur_tui.domain.signatures import private_key_from_seed, public_key_bytes, sign
from mediateur_tui.domain.verdicts import (
    LocalRedemption,
    PassFacts,
    RegionRefusal,
    RemoteRedemption,
    ReplicaState,
    Verdict,
    decide,
)

CODE = make_code("7K3M9QXR4TB0")
SHOWN = f"{CODE[:4]}-{CODE[4:8]}-{CODE[8:]}"
PARIS = ZoneInfo("Europe/Paris")
# Times are aware instants; the day that counts is the calendar day in France (UTC+2 in June).
NOW = datetime(2026, 6, 15, 12, 30, tzinfo=UTC)
KEY = private_key_from_seed(bytes(range(32)))
PUBLIC = public_key_bytes(KEY)
FRESH = ReplicaState(updated_at=NOW - timedelta(hours=2))

FACTS = PassFacts(
    code=CODE,
    programme_id="PNHDF2026",
    programme_label="Pass numérique Hauts-de-France 2026",
    value_cents=1000,
    carnet_id="C-000042",
    carnet_size=5,
    carnet_attributed=True,
    valid_from=date(2026, 1, 1),
    valid_until=date(2026, 12, 31),
    grace_until=date(2027, 12, 31),
    accepted_here=True,
)


def facts(**changes) -> PassFacts:
    return replace(FACTS, **changes)


def bare(code: str = CODE) -> ScanInput:
    return ScanInput(raw=code, kind=InputKind.BARE, code=code)


def payload(
    programme: str = "PNHDF2026", until: date = FACTS.valid_until, key=KEY, code: str = CODE
) -> ScanInput:
    message = f"PN1:{programme}:{code}:{until:%Y%m%d}"
    return ScanInput(
        raw=f"{message}:{sign(key, message)}",
        kind=InputKind.QR,
        code=code,
        programme=programme,
        valid_until=until,
        signature=sign(key, message),
    )


def at(day: date) -> datetime:
    """Noon, French time, on that day."""
    return datetime.combine(day, time(12, 0), tzinfo=PARIS)


# --- One test per verdict ------------------------------------------------------------------------


def test_valid():
    result = decide(bare(), FACTS, FRESH, NOW)
    assert result.verdict is Verdict.VALID
    assert result.verdict.value == "valid"
    assert result.redeemable
    assert result.value_cents == 1000
    assert "10,00 €" in result.message
    assert "C-000042" in result.message
    assert result.code == CODE
    assert result.warnings == []
    assert result.details["code"] == SHOWN


def test_grace():
    result = decide(bare(), FACTS, FRESH, at(date(2027, 3, 1)))
    assert result.verdict is Verdict.GRACE
    assert result.verdict.value == "grace"
    assert result.redeemable
    assert result.value_cents == 1000
    assert "31/12/2027" in result.message  # accepted until the end of the grace period
    assert "10,00 €" in result.message


def test_malformed():
    scan = parse_scan(CODE[:-1] + ("0" if CODE[-1] != "0" else "1"))
    assert scan.error
    result = decide(scan, None, FRESH, NOW)
    assert result.verdict is Verdict.MALFORMED
    assert result.verdict.value == "malformed"
    assert not result.redeemable
    assert result.value_cents == 0
    assert "vérifiez la saisie" in result.message
    assert result.code is None


def test_malformed_even_if_facts_are_passed():
    scan = ScanInput(raw="???", kind=InputKind.BARE, error="Rien de lisible.")
    result = decide(scan, FACTS, FRESH, NOW)
    assert result.verdict is Verdict.MALFORMED
    assert result.message == "Rien de lisible."


def test_unknown():
    result = decide(bare(), None, FRESH, NOW)
    assert result.verdict is Verdict.UNKNOWN
    assert result.verdict.value == "unknown"
    assert not result.redeemable
    assert result.value_cents == 0
    assert SHOWN in result.message
    assert "registre" in result.message


def test_redeemed_here():
    redeemed = LocalRedemption(
        at=datetime(2026, 5, 4, 7, 5, tzinfo=UTC),
        session_title="Atelier courriel",
        operator_name="Samia",
    )
    result = decide(bare(), facts(redeemed_here=redeemed), FRESH, NOW)
    assert result.verdict is Verdict.REDEEMED_HERE
    assert result.verdict.value == "redeemed_here"
    assert not result.redeemable
    assert result.value_cents == 0
    assert "04/05/2026" in result.message
    assert "09:05" in result.message  # shown in French local time (UTC+2 in May)
    assert "Atelier courriel" in result.message
    assert "Samia" in result.message


def test_taken_here_but_refused_by_the_region():
    taken = datetime(2026, 5, 4, 7, 5, tzinfo=UTC)
    paid_elsewhere = LocalRedemption(
        at=taken,
        session_title="Atelier",
        operator_name="Samia",
        region_refusal=RegionRefusal(
            "déjà encaissé ailleurs", "Médiathèque de Lens", datetime(2026, 5, 3, 8, 0, tzinfo=UTC)
        ),
    )
    result = decide(bare(), facts(redeemed_here=paid_elsewhere), FRESH, NOW)
    assert result.verdict is Verdict.REDEEMED_ELSEWHERE and not result.redeemable
    assert result.message == (
        "Encaissé ici le 04/05/2026 09:05, mais refusé par la région : déjà payé à "
        "Médiathèque de Lens, qui l'a encaissé le 03/05/2026 10:00."
    )
    revoked = LocalRedemption(taken, "Atelier", "Samia", RegionRefusal("pass en opposition"))
    result = decide(bare(), facts(redeemed_here=revoked), FRESH, NOW)
    assert result.verdict is Verdict.REDEEMED_HERE and not result.redeemable
    assert result.message == (
        "Encaissé ici le 04/05/2026 09:05, mais refusé par la région (pass en opposition)."
    )


def test_redeemed_elsewhere():
    other = RemoteRedemption(site_name="Médiathèque de Lens", on=date(2026, 3, 9))
    result = decide(bare(), facts(redeemed_elsewhere=other), FRESH, NOW)
    assert result.verdict is Verdict.REDEEMED_ELSEWHERE
    assert result.verdict.value == "redeemed_elsewhere"
    assert not result.redeemable
    assert "Médiathèque de Lens" in result.message
    assert "09/03/2026" in result.message


@pytest.mark.parametrize(("reason", "word"), [("lost", "perdu"), ("stolen", "volé")])
def test_revoked(reason, word):
    result = decide(bare(), facts(revoked_reason=reason, revoked_on=date(2026, 2, 14)), FRESH, NOW)
    assert result.verdict is Verdict.REVOKED
    assert result.verdict.value == "revoked"
    assert not result.redeemable
    assert word in result.message
    assert "14/02/2026" in result.message


def test_revoked_without_a_date():
    result = decide(bare(), facts(revoked_reason="cancelled"), FRESH, NOW)
    assert result.verdict is Verdict.REVOKED
    assert "annulé" in result.message


def test_expired():
    result = decide(bare(), FACTS, FRESH, at(date(2028, 1, 1)))
    assert result.verdict is Verdict.EXPIRED
    assert result.verdict.value == "expired"
    assert not result.redeemable
    assert result.value_cents == 0
    assert "31/12/2026" in result.message
    assert "31/12/2027" in result.message


def test_not_yet_valid():
    result = decide(bare(), facts(valid_from=date(2026, 9, 1)), FRESH, NOW)
    assert result.verdict is Verdict.NOT_YET_VALID
    assert result.verdict.value == "not_yet_valid"
    assert not result.redeemable
    assert "01/09/2026" in result.message


def test_unattributed():
    result = decide(bare(), facts(carnet_attributed=False), FRESH, NOW)
    assert result.verdict is Verdict.UNATTRIBUTED
    assert result.verdict.value == "unattributed"
    assert not result.redeemable
    assert "C-000042" in result.message


def test_programme_not_accepted():
    result = decide(bare(), facts(accepted_here=False), FRESH, NOW)
    assert result.verdict is Verdict.PROGRAMME_NOT_ACCEPTED
    assert result.verdict.value == "programme_not_accepted"
    assert not result.redeemable
    assert "Pass numérique Hauts-de-France 2026" in result.message


def test_only_valid_and_grace_are_redeemable():
    assert {v for v in Verdict if v.redeemable} == {Verdict.VALID, Verdict.GRACE}
    assert len(Verdict) == 14
    assert all(v.label for v in Verdict)


# --- Date boundaries -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("day", "expected"),
    [
        (date(2025, 12, 31), Verdict.NOT_YET_VALID),  # the day before valid_from
        (date(2026, 1, 1), Verdict.VALID),  # valid_from itself
        (date(2026, 12, 31), Verdict.VALID),  # valid_until itself
        (date(2027, 1, 1), Verdict.GRACE),  # the day after valid_until
        (date(2027, 12, 31), Verdict.GRACE),  # grace_until itself
        (date(2028, 1, 1), Verdict.EXPIRED),  # the day after grace_until
    ],
)
@pytest.mark.parametrize("hour", [0, 12, 23])
def test_date_boundaries(day, expected, hour):
    now = datetime(day.year, day.month, day.day, hour, 59, tzinfo=PARIS)
    assert decide(bare(), FACTS, ReplicaState(updated_at=now), now).verdict is expected


@pytest.mark.parametrize(
    ("moment", "expected"),
    [
        # 23:30 UTC on 31 December is already 1 January in France (UTC+1 in winter).
        (datetime(2025, 12, 31, 23, 30, tzinfo=UTC), Verdict.VALID),
        (datetime(2025, 12, 31, 22, 59, tzinfo=UTC), Verdict.NOT_YET_VALID),
        (datetime(2026, 12, 31, 22, 59, tzinfo=UTC), Verdict.VALID),
        (datetime(2026, 12, 31, 23, 0, tzinfo=UTC), Verdict.GRACE),
        (datetime(2027, 12, 31, 22, 59, tzinfo=UTC), Verdict.GRACE),
        (datetime(2027, 12, 31, 23, 0, tzinfo=UTC), Verdict.EXPIRED),
    ],
)
def test_the_day_that_counts_is_the_french_calendar_day(moment, expected):
    assert decide(bare(), FACTS, ReplicaState(updated_at=moment), moment).verdict is expected


# --- Replica age and scanner warnings ------------------------------------------------------------


def test_old_replica_warns_but_does_not_change_the_verdict():
    old = ReplicaState(updated_at=NOW - timedelta(days=8), max_age=timedelta(days=7))
    fresh = decide(bare(), FACTS, FRESH, NOW)
    stale = decide(bare(), FACTS, old, NOW)
    assert stale.verdict is fresh.verdict is Verdict.VALID
    assert stale.redeemable
    assert stale.message == fresh.message
    assert len(stale.warnings) == 1
    assert "8 jours" in stale.warnings[0]


@pytest.mark.parametrize(
    ("pass_facts", "expected"),
    [
        (None, Verdict.UNKNOWN),
        (facts(revoked_reason="lost"), Verdict.REVOKED),
        (FACTS, Verdict.VALID),
    ],
)
def test_old_replica_warning_is_added_to_every_verdict(pass_facts, expected):
    old = ReplicaState(updated_at=NOW - timedelta(days=30))
    result = decide(bare(), pass_facts, old, NOW)
    assert result.verdict is expected
    assert any("30 jours" in warning for warning in result.warnings)


def test_replica_exactly_max_age_or_younger_has_no_warning():
    assert (
        decide(bare(), FACTS, ReplicaState(updated_at=NOW - timedelta(days=7)), NOW).warnings == []
    )
    custom = ReplicaState(updated_at=NOW - timedelta(days=2), max_age=timedelta(days=1))
    assert decide(bare(), FACTS, custom, NOW).warnings


def test_never_synced_replica_warns():
    result = decide(bare(), FACTS, ReplicaState(updated_at=None), NOW)
    assert result.verdict is Verdict.VALID
    assert result.warnings


def test_layout_fixed_adds_a_warning():
    scan = replace(bare(), layout_fixed=True)
    result = decide(scan, FACTS, FRESH, NOW)
    assert result.verdict is Verdict.VALID
    assert len(result.warnings) == 1
    assert "AZERTY" in result.warnings[0]


def test_layout_fixed_from_a_real_garbled_scan():
    us_on_azerty = dict(zip("1234567890AQZWM", "&é\"'(-è_çàQAWZ?", strict=True))
    scan = parse_scan("".join(us_on_azerty.get(char, char) for char in CODE))
    assert scan.layout_fixed and scan.code == CODE
    result = decide(scan, FACTS, FRESH, NOW)
    assert result.verdict is Verdict.VALID
    assert result.warnings


# --- Signed QR payloads --------------------------------------------------------------------------


def test_payload_with_good_signature_is_valid():
    replica = replace(FRESH, region_keys=RegionKeys.first_key_only(PUBLIC))
    assert decide(payload(), FACTS, replica, NOW).verdict is Verdict.VALID


def test_payload_with_wrong_signature_is_malformed():
    replica = replace(FRESH, region_keys=RegionKeys.first_key_only(PUBLIC))
    other_key = private_key_from_seed(bytes(range(1, 33)))
    result = decide(payload(key=other_key), FACTS, replica, NOW)
    assert result.verdict is Verdict.MALFORMED
    assert not result.redeemable
    assert "Signature" in result.message
    # ... even when the registry does not know the pass (a counterfeit is not "unknown").
    assert decide(payload(key=other_key), None, replica, NOW).verdict is Verdict.MALFORMED


def test_payload_with_a_tampered_date_is_malformed():
    replica = replace(FRESH, region_keys=RegionKeys.first_key_only(PUBLIC))
    genuine = payload()
    tampered = replace(genuine, valid_until=date(2030, 12, 31))
    assert decide(tampered, FACTS, replica, NOW).verdict is Verdict.MALFORMED


def test_payload_with_a_garbage_signature_is_malformed():
    replica = replace(FRESH, region_keys=RegionKeys.first_key_only(PUBLIC))
    scan = replace(payload(), signature="AAAA")
    assert decide(scan, FACTS, replica, NOW).verdict is Verdict.MALFORMED


def test_bare_code_is_not_signature_checked():
    replica = replace(FRESH, region_keys=RegionKeys.first_key_only(PUBLIC))
    assert decide(bare(), FACTS, replica, NOW).verdict is Verdict.VALID


@pytest.mark.parametrize(
    "scan",
    [payload(programme="PNAUTRE"), payload(until=date(2027, 6, 30))],
    ids=["programme", "date"],
)
def test_payload_mismatching_the_registry_without_key_is_malformed(scan):
    result = decide(scan, FACTS, FRESH, NOW)
    assert result.verdict is Verdict.MALFORMED
    assert not result.redeemable


def test_payload_matching_the_registry_without_key_is_valid():
    assert decide(payload(), FACTS, FRESH, NOW).verdict is Verdict.VALID


def test_payload_unknown_without_key_is_unknown():
    assert decide(payload(), None, FRESH, NOW).verdict is Verdict.UNKNOWN


# --- JSON ----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("scan", "pass_facts"),
    [(bare(), FACTS), (bare(), None), (parse_scan("nonsense"), None)],
)
def test_to_json_has_exactly_the_documented_keys(scan, pass_facts):
    result = decide(scan, pass_facts, ReplicaState(updated_at=None), NOW)
    document = result.to_json()
    assert set(document) == {
        "input",
        "code",
        "verdict",
        "redeemable",
        "message",
        "details",
        "warnings",
    }
    assert document["verdict"] == result.verdict.value
    assert document["redeemable"] is result.redeemable
    assert document["input"] == scan.raw
    assert json.loads(json.dumps(document)) == document


# --- Properties: a refused pass is never redeemable ----------------------------------------------


@st.composite
def any_facts(draw):
    valid_from = draw(st.dates(date(2025, 1, 1), date(2027, 12, 31)))
    valid_until = valid_from + timedelta(days=draw(st.integers(0, 400)))
    grace_until = valid_until + timedelta(days=draw(st.integers(0, 400)))
    return facts(
        carnet_attributed=draw(st.booleans()),
        accepted_here=draw(st.booleans()),
        valid_from=valid_from,
        valid_until=valid_until,
        grace_until=grace_until,
        revoked_reason=draw(st.sampled_from([None, "lost", "stolen", "cancelled"])),
        redeemed_here=draw(
            st.sampled_from([None, LocalRedemption(NOW - timedelta(days=1), "Atelier", "Léa")])
        ),
        redeemed_elsewhere=draw(
            st.sampled_from([None, RemoteRedemption("Espace Lille", date(2026, 1, 2))])
        ),
    )


@settings(max_examples=300)
@given(any_facts(), st.dates(date(2024, 6, 1), date(2030, 1, 1)))
def test_exactly_one_verdict_and_refusals_are_never_redeemable(pass_facts, day):
    now = at(day)
    result = decide(bare(), pass_facts, ReplicaState(updated_at=now), now)
    assert isinstance(result.verdict, Verdict)
    clean = (
        pass_facts.redeemed_here is None
        and pass_facts.redeemed_elsewhere is None
        and pass_facts.revoked_reason is None
        and pass_facts.accepted_here
        and pass_facts.carnet_attributed
        and pass_facts.valid_from <= day <= pass_facts.grace_until
    )
    assert result.redeemable == clean
    assert (result.value_cents > 0) == clean
    if clean:
        expected = Verdict.VALID if day <= pass_facts.valid_until else Verdict.GRACE
        assert result.verdict is expected
    if pass_facts.redeemed_here is not None:
        assert result.verdict is Verdict.REDEEMED_HERE
