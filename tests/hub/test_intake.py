"""Batch intake and reconciliation, on SQLite and on PostgreSQL (the `world` fixture)."""

from __future__ import annotations

import copy
import threading

import pytest
from contract import validate

from mediateur_tui.hub.database import read_session
from mediateur_tui.hub.errors import Conflict, Forbidden
from mediateur_tui.hub.intake import IntakeResult
from mediateur_tui.hub.intake import receive_batch as hub_receive_batch
from mediateur_tui.hub.models import HubLine, HubUsedPass
from mediateur_tui.hub.statement import build_statement
from mediateur_tui.protocol.errors import ProtocolError
from mediateur_tui.protocol.signing import region_signer, verify_document

from .helpers import (
    SITE_A,
    SITE_B,
    World,
    change_bodies,
    line,
    make_batch,
    random_id,
    table_counts,
)

AT = "2026-11-12T09:30:00Z"


def receive_batch(hub, batch: dict, site_id: str | None = None) -> IntakeResult:
    """The hub's intake, checking that what goes in and out conforms to schema/."""
    validate(batch, "batch")
    result = hub_receive_batch(hub, batch, site_id)
    validate(result.ack, "ack")
    return result


def verdicts(ack: dict) -> list[tuple[str, str | None]]:
    return [(item["verdict"], item["reason"]) for item in ack["lines"]]


def test_every_reason_in_one_batch_and_a_signed_ack(world: World) -> None:
    site = world.sites[SITE_A]
    good, twice = world.fresh[0], world.fresh[1]
    repeated_id = random_id()
    batch = make_batch(
        site,
        [
            line(good, AT),
            line("0000000000000", AT),  # well formed, never issued
            line(world.revoked, AT),
            line(world.carnets[2][0], AT),  # carnet not attributed
            line(world.fresh[2], "2027-02-05T10:00:00Z"),  # after the grace period
            line(twice, AT, repeated_id),
            line(twice, AT, repeated_id),
            line(good, "2026-11-13T10:00:00Z"),  # same pass, another redemption
        ],
    )
    result = receive_batch(world.hub, batch, SITE_A)
    ack = result.ack
    assert not result.replayed
    assert verdicts(ack) == [
        ("accepted", None),
        ("refused", "unknown"),
        ("refused", "revoked"),
        ("refused", "not_attributed"),
        ("refused", "expired"),
        ("accepted", None),
        ("refused", "duplicate_line"),
        ("refused", "conflict"),
    ]
    assert ack["lines"][7]["winner"] == {"site_id": SITE_A, "redeemed_at": AT}
    assert ack["totals"] == {"accepted": 2, "accepted_cents": 2000, "refused": 6}
    assert [item["redemption_id"] for item in ack["lines"]] == [
        r["id"] for r in batch["redemptions"]
    ]
    verify_document(ack, world.hub.region_public_key, region_signer("HDF"))
    assert change_bodies(world.hub, "used") == [
        {"t": "used", "code": good, "site": SITE_A, "on": "2026-11-12"},
        {"t": "used", "code": twice, "site": SITE_A, "on": "2026-11-12"},
    ]
    assert table_counts(world.hub)["hub_line"] == 8  # every line kept, refused ones too


def test_first_received_wins_and_the_other_site_gets_a_conflict(world: World) -> None:
    code = world.fresh[0]
    later = receive_batch(world.hub, make_batch(world.sites[SITE_A], [line(code, AT)]), SITE_A).ack
    earlier_in_time = "2026-11-02T08:00:00Z"  # redeemed earlier, but received second
    loser = receive_batch(
        world.hub, make_batch(world.sites[SITE_B], [line(code, earlier_in_time)]), SITE_B
    ).ack
    assert verdicts(later) == [("accepted", None)]
    assert verdicts(loser) == [("refused", "conflict")]
    assert loser["lines"][0]["winner"] == {"site_id": SITE_A, "redeemed_at": AT}
    assert loser["totals"] == {"accepted": 0, "accepted_cents": 0, "refused": 1}
    with read_session(world.hub.engine) as session:
        used = session.get(HubUsedPass, code)
    assert used is not None and used.site_id == SITE_A


@pytest.mark.parametrize(
    ("redeemed_at", "expected"),
    [
        ("2026-11-09T22:59:00Z", ("accepted", None)),  # 23:59 on 9 November in France
        ("2026-11-09T23:00:00Z", ("refused", "revoked")),  # midnight: the day of revocation
    ],
)
def test_revocation_counts_from_its_day_in_french_time(world, redeemed_at, expected) -> None:
    batch = make_batch(world.sites[SITE_A], [line(world.revoked, redeemed_at)])
    assert verdicts(receive_batch(world.hub, batch, SITE_A).ack) == [expected]


@pytest.mark.parametrize(
    ("redeemed_at", "expected"),
    [
        ("2027-01-31T22:59:00Z", ("accepted", None)),  # 23:59 on 31 January in France
        ("2027-01-31T23:00:00Z", ("refused", "expired")),  # 1 February in France
    ],
)
def test_grace_period_ends_with_its_last_french_day(world, redeemed_at, expected) -> None:
    batch = make_batch(world.sites[SITE_A], [line(world.fresh[0], redeemed_at)])
    assert verdicts(receive_batch(world.hub, batch, SITE_A).ack) == [expected]


def test_a_replayed_batch_returns_the_same_ack_and_changes_nothing(world: World) -> None:
    batch = make_batch(world.sites[SITE_A], [line(world.fresh[0], AT), line(world.revoked, AT)])
    first = receive_batch(world.hub, batch, SITE_A)
    counts = table_counts(world.hub)
    again = receive_batch(world.hub, copy.deepcopy(batch), SITE_A)
    assert again.replayed
    assert again.ack == first.ack  # signature and received_at included
    assert table_counts(world.hub) == counts


def test_same_batch_id_with_other_content_is_a_conflict(world: World) -> None:
    site = world.sites[SITE_A]
    batch = make_batch(site, [line(world.fresh[0], AT)], batch_id="b" * 32)
    receive_batch(world.hub, batch, SITE_A)
    counts = table_counts(world.hub)
    other = make_batch(site, [line(world.fresh[1], AT)], batch_id="b" * 32)
    with pytest.raises(Conflict, match="contenu différent"):
        receive_batch(world.hub, other, SITE_A)
    assert table_counts(world.hub) == counts


def test_a_redemption_id_replayed_in_a_new_batch_keeps_its_first_verdict(world: World) -> None:
    site = world.sites[SITE_A]
    accepted = line(world.fresh[0], AT)
    refused = line(world.revoked, AT)
    first = make_batch(site, [accepted, refused])
    receive_batch(world.hub, first, SITE_A)
    used_before = change_bodies(world.hub, "used")
    second = make_batch(site, [accepted, refused, line(world.fresh[1], AT)], sequence=2)
    ack = receive_batch(world.hub, second, SITE_A).ack
    assert verdicts(ack) == [("accepted", None), ("refused", "revoked"), ("accepted", None)]
    assert change_bodies(world.hub, "used") == [
        *used_before,
        {"t": "used", "code": world.fresh[1], "site": SITE_A, "on": "2026-11-12"},
    ]
    with read_session(world.hub.engine) as session:
        replay = session.get(HubLine, (second["batch_id"], 0))
    assert replay is not None and replay.replay_of_batch_id == first["batch_id"]
    statement = build_statement(world.hub, SITE_A, "2026-11")
    assert len(statement.lines) == 5
    assert statement.accepted_cents == 2000  # the replayed redemption is paid once


def test_a_conflict_line_replayed_keeps_naming_its_winner(world: World) -> None:
    code = world.fresh[0]
    receive_batch(world.hub, make_batch(world.sites[SITE_A], [line(code, AT)]), SITE_A)
    loser = line(code, AT)
    site_b = world.sites[SITE_B]
    receive_batch(world.hub, make_batch(site_b, [loser]), SITE_B)
    again = receive_batch(world.hub, make_batch(site_b, [loser], sequence=2), SITE_B).ack
    assert again["lines"][0]["reason"] == "conflict"
    assert again["lines"][0]["winner"] == {"site_id": SITE_A, "redeemed_at": AT}


def test_another_sites_batch_is_refused_and_nothing_is_stored(world: World) -> None:
    counts = table_counts(world.hub)
    batch = make_batch(world.sites[SITE_A], [line(world.fresh[0], AT)])
    with pytest.raises(Forbidden, match=f"celle du site {SITE_A}"):
        receive_batch(world.hub, batch, SITE_B)
    assert table_counts(world.hub) == counts


def test_a_batch_altered_after_signing_is_refused_and_nothing_is_stored(world: World) -> None:
    batch = make_batch(world.sites[SITE_A], [line(world.fresh[0], AT)])
    counts = table_counts(world.hub)
    batch["redemptions"][0]["code"] = world.fresh[1]
    with pytest.raises(ProtocolError, match="Signature invalide"):
        receive_batch(world.hub, batch, SITE_A)
    assert table_counts(world.hub) == counts


def test_a_batch_signed_by_another_sites_key_is_refused(world: World) -> None:
    impostor = copy.copy(world.sites[SITE_B])
    impostor.id = SITE_A  # claims to be site A, signs with B's key
    batch = make_batch(impostor, [line(world.fresh[0], AT)])
    with pytest.raises(ProtocolError, match="Signature invalide"):
        receive_batch(world.hub, batch)


def test_unknown_site_and_other_region_are_refused(world: World) -> None:
    stranger = copy.copy(world.sites[SITE_A])
    stranger.id = "INCONNU"
    with pytest.raises(ProtocolError, match="Site inconnu"):
        receive_batch(world.hub, make_batch(stranger, [line(world.fresh[0], AT)]))
    elsewhere = make_batch(world.sites[SITE_A], [line(world.fresh[0], AT)], region_id="BRE")
    with pytest.raises(ProtocolError, match="région « BRE »"):
        receive_batch(world.hub, elsewhere)


@pytest.mark.parametrize(
    ("breakage", "message"),
    [
        (lambda b: b.pop("redemptions"), "Liste « redemptions »"),
        (lambda b: b["redemptions"][0].update(redeemed_at="2026-11-12T09:30:00"), "Ligne n° 1"),
        (lambda b: b["redemptions"][0].update(value_cents="10"), "montant"),
        (lambda b: b["totals"].update(redemptions=7), "Totaux"),
        (lambda b: b.update(period="2026-13"), "Période"),
        (lambda b: b.update(batch_id="../../etc"), "batch_id"),
        (lambda b: b["redemptions"][0].update(id="r-1"), "identifiant d'encaissement"),
        (lambda b: b["redemptions"][0].update(code="7K3M-9QXR-4TBEZ"), "mal formé"),
        (lambda b: b["redemptions"][0].update(session_id=2), "séance 2"),
        (lambda b: b["totals"].update(value_cents=999), "Totaux"),
    ],
)
def test_structural_errors_are_explained_in_french(world, breakage, message) -> None:
    batch = make_batch(world.sites[SITE_A], [line(world.fresh[0], AT)], sign=False)
    breakage(batch)
    counts = table_counts(world.hub)
    with pytest.raises(ProtocolError, match=message):
        hub_receive_batch(world.hub, batch, SITE_A)  # not contract-valid, on purpose
    assert table_counts(world.hub) == counts


def test_two_concurrent_intakes_pay_a_pass_once(world: World) -> None:
    code = world.fresh[0]
    batches = {
        site_id: make_batch(world.sites[site_id], [line(code, AT)]) for site_id in (SITE_A, SITE_B)
    }
    start = threading.Barrier(2)
    acks: dict[str, dict] = {}
    errors: list[BaseException] = []

    def post(site_id: str) -> None:
        try:
            start.wait(timeout=10)
            acks[site_id] = receive_batch(world.hub, batches[site_id], site_id).ack
        except BaseException as error:  # reported below, in the test's thread
            errors.append(error)

    threads = [threading.Thread(target=post, args=(site_id,)) for site_id in batches]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert errors == []
    outcomes = sorted(ack["lines"][0]["verdict"] for ack in acks.values())
    assert outcomes == ["accepted", "refused"]
    refused = next(ack for ack in acks.values() if ack["lines"][0]["verdict"] == "refused")
    winner = next(ack for ack in acks.values() if ack["lines"][0]["verdict"] == "accepted")
    assert refused["lines"][0]["winner"]["site_id"] == winner["site_id"]
    assert len(change_bodies(world.hub, "used")) == 1
