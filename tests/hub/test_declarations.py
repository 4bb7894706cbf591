"""Declarations of the day's redemptions and cancellations (pn-declaration/1), their answers,
the batches that come after them, and a site's recovery, on SQLite and on PostgreSQL."""

from __future__ import annotations

import pytest
from contract import validate
from sqlmodel import select

from mediateur_tui.domain.signatures import public_key_bytes
from mediateur_tui.hub.database import read_session
from mediateur_tui.hub.declarations import receive_declaration as hub_receive_declaration
from mediateur_tui.hub.declarations import site_recovery
from mediateur_tui.hub.errors import Forbidden
from mediateur_tui.hub.intake import receive_batch
from mediateur_tui.hub.models import HubDeclaredLine, HubUsedPass
from mediateur_tui.hub.replica import changes_page, last_sequence
from mediateur_tui.hub.statement import build_statement
from mediateur_tui.protocol.errors import ProtocolError
from mediateur_tui.protocol.signing import region_signer, verify_document

from .helpers import (
    SITE_A,
    SITE_B,
    World,
    cancellation,
    change_bodies,
    line,
    make_batch,
    make_declaration,
    random_id,
    snapshot,
    table_counts,
)

AT = "2026-11-12T09:30:00Z"
LATER = "2026-11-12T15:00:00Z"


def declare(world: World, document: dict, site_id: str | None = None) -> dict:
    """The hub's intake of a declaration, checking what goes in and out against schema/."""
    validate(document, "declaration")
    answer = hub_receive_declaration(world.hub, document, site_id or document["site_id"])
    validate(answer, "declaration-answer")
    verify_document(answer, public_key_bytes(world.hub.region_key), region_signer("HDF"))
    return answer


def verdicts(answer: dict) -> list[tuple[str, str | None]]:
    return [(item["verdict"], item["reason"]) for item in answer["lines"]]


def declared_row(world: World, redemption_id: str) -> HubDeclaredLine | None:
    with read_session(world.hub.engine) as session:
        return session.get(HubDeclaredLine, redemption_id)


def used_row(world: World, code: str) -> HubUsedPass | None:
    with read_session(world.hub.engine) as session:
        return session.get(HubUsedPass, code)


def test_an_accepted_declaration_claims_the_pass_at_once(world: World) -> None:
    code = world.fresh[0]
    before = last_sequence(world.hub)
    redemption = line(code, AT)
    answer = declare(world, make_declaration(world.sites[SITE_A], [redemption]))
    assert answer["lines"] == [
        {
            "redemption_id": redemption["id"],
            "code": code,
            "verdict": "accepted",
            "reason": None,
            "winner": None,
        }
    ]
    page = changes_page(world.hub, before)
    assert page["changes"] == [{"t": "used", "code": code, "site": SITE_A, "on": "2026-11-12"}]
    validate(page, "replica-page")
    used = used_row(world, code)
    assert used is not None and used.batch_id is None and used.site_id == SITE_A
    assert used.declaration_id == answer["declaration_id"]
    row = declared_row(world, redemption["id"])
    assert row is not None and row.verdict == "accepted" and row.batch_id is None


def test_every_reason_of_a_batch_line_applies_to_a_declared_line(world: World) -> None:
    site = world.sites[SITE_A]
    repeated = random_id()
    answer = declare(
        world,
        make_declaration(
            site,
            [
                line("0000000000000", AT),
                line(world.revoked, AT),
                line(world.carnets[2][0], AT),
                line(world.fresh[2], "2027-02-05T10:00:00Z"),
                line(world.fresh[1], AT, repeated),
                line(world.fresh[1], AT, repeated),
            ],
        ),
    )
    assert verdicts(answer) == [
        ("refused", "unknown"),
        ("refused", "revoked"),
        ("refused", "not_attributed"),
        ("refused", "expired"),
        ("accepted", None),
        ("refused", "duplicate_line"),
    ]
    assert [c["code"] for c in change_bodies(world.hub, "used")] == [world.fresh[1]]


def test_a_second_site_declaring_the_same_pass_is_refused_naming_the_first(
    world: World,
) -> None:
    code = world.fresh[0]
    declare(world, make_declaration(world.sites[SITE_A], [line(code, AT)]))
    answer = declare(world, make_declaration(world.sites[SITE_B], [line(code, LATER)]))
    assert answer["lines"][0]["reason"] == "conflict"
    assert answer["lines"][0]["winner"] == {
        "site_id": SITE_A,
        "redeemed_at": "2026-11-12T09:30:00Z",
    }
    assert len(change_bodies(world.hub, "used")) == 1
    # The batch of the second site, later, keeps the refusal and pays nothing.
    batch = make_batch(world.sites[SITE_B], [line(code, LATER)])
    ack = receive_batch(world.hub, batch, SITE_B).ack
    assert (ack["lines"][0]["reason"], ack["totals"]["accepted"]) == ("conflict", 0)


def test_a_declaration_posted_again_gets_the_same_verdicts_and_changes_nothing(
    world: World,
) -> None:
    site = world.sites[SITE_A]
    first_line, second_line = line(world.fresh[0], AT), line(world.fresh[1], AT)
    document = make_declaration(site, [first_line, second_line])
    answer = declare(world, document)
    counts = table_counts(world.hub)
    again = declare(world, document)
    # An overlapping declaration (another id, one line already declared, one new).
    overlap = declare(world, make_declaration(site, [second_line, line(world.fresh[2], AT)]))
    assert again["lines"] == answer["lines"]
    assert overlap["lines"][0] == answer["lines"][1]
    assert verdicts(overlap) == [("accepted", None), ("accepted", None)]
    counts_after = table_counts(world.hub)
    assert counts_after["hub_change"] == counts["hub_change"] + 1
    assert counts_after["hub_declared_line"] == counts["hub_declared_line"] + 1


def test_declared_then_batched_pays_once_with_the_same_verdict(world: World) -> None:
    site = world.sites[SITE_A]
    taken, lost = line(world.fresh[0], AT), line(world.revoked, AT)
    declare(world, make_declaration(site, [taken, lost]))
    used_before = change_bodies(world.hub, "used")
    batch = make_batch(site, [taken, lost, line(world.fresh[1], AT)])
    ack = receive_batch(world.hub, batch, SITE_A).ack
    validate(ack, "ack")
    assert verdicts(ack) == [("accepted", None), ("refused", "revoked"), ("accepted", None)]
    assert ack["totals"] == {"accepted": 2, "accepted_cents": 2000, "refused": 1}
    used_after = change_bodies(world.hub, "used")
    assert [c["code"] for c in used_after] == [c["code"] for c in used_before] + [world.fresh[1]]
    used = used_row(world, world.fresh[0])
    assert used is not None and used.batch_id == batch["batch_id"]
    row = declared_row(world, taken["id"])
    assert row is not None and row.batch_id == batch["batch_id"]
    statement = build_statement(world.hub, SITE_A, "2026-11")
    assert (len(statement.accepted), statement.accepted_cents) == (2, 2000)
    # Declared again after the batch: the batch's verdict, nothing new.
    counts = table_counts(world.hub)
    again = declare(world, make_declaration(site, [taken]))
    assert verdicts(again) == [("accepted", None)]
    assert table_counts(world.hub) == counts


def test_a_declared_then_cancelled_pass_is_released_for_everyone(world: World) -> None:
    site = world.sites[SITE_A]
    code = world.fresh[0]
    taken = line(code, AT)
    declare(world, make_declaration(site, [taken]))
    before = last_sequence(world.hub)
    answer = declare(world, make_declaration(site, [], [cancellation(taken["id"])]))
    assert answer["lines"] == []
    assert answer["cancellations"] == [{"redemption_id": taken["id"], "status": "cancelled"}]
    assert changes_page(world.hub, before)["changes"] == [{"t": "released", "code": code}]
    assert used_row(world, code) is None
    row = declared_row(world, taken["id"])
    assert row is not None and row.cancelled_at is not None
    assert row.cancel_reason == "Erreur de saisie"
    # Cancelling again: the same status, no new change.
    sequence = last_sequence(world.hub)
    again = declare(world, make_declaration(site, [], [cancellation(taken["id"])]))
    assert again["cancellations"][0]["status"] == "cancelled"
    assert last_sequence(world.hub) == sequence
    # The batch without it pays nothing for it; another site can then take the pass.
    batch = make_batch(site, [line(world.fresh[1], AT)])
    assert receive_batch(world.hub, batch, SITE_A).ack["totals"]["accepted"] == 1
    other = declare(world, make_declaration(world.sites[SITE_B], [line(code, LATER)]))
    assert verdicts(other) == [("accepted", None)]
    statement = build_statement(world.hub, SITE_A, "2026-11")
    assert [s.line.code for s in statement.accepted] == [world.fresh[1]]


def test_a_snapshot_shows_a_released_pass_unused(world: World) -> None:
    site = world.sites[SITE_A]
    kept, released, retaken = line(world.fresh[0], AT), line(world.fresh[1], AT), world.fresh[1]
    declare(world, make_declaration(site, [kept, released], [cancellation(released["id"])]))
    document = snapshot(world.hub)
    validate(document.head, "replica-snapshot-lines")
    used = [c["code"] for c in document.changes if c["t"] == "used"]
    assert used == [world.fresh[0]]
    assert not [c for c in document.changes if c["t"] == "released"]
    assert document.head["until"] == last_sequence(world.hub)
    declare(world, make_declaration(world.sites[SITE_B], [line(retaken, LATER)]))
    used = [(c["code"], c["site"]) for c in snapshot(world.hub).changes if c["t"] == "used"]
    assert used == [(world.fresh[0], SITE_A), (retaken, SITE_B)]


def test_a_declared_and_cancelled_line_never_pays(world: World) -> None:
    """A backup restored from before the cancellation brings the line back, in a batch or a
    declaration: the region refuses it as cancelled, and the pass stays released."""
    site = world.sites[SITE_A]
    taken = line(world.fresh[0], AT)
    declare(world, make_declaration(site, [taken], [cancellation(taken["id"])]))
    again = declare(world, make_declaration(site, [taken]))
    assert verdicts(again) == [("refused", "cancelled")]
    ack = receive_batch(world.hub, make_batch(site, [taken]), SITE_A).ack
    assert verdicts(ack) == [("refused", "cancelled")]
    assert ack["totals"]["accepted_cents"] == 0
    assert [c["t"] for c in change_bodies(world.hub) if c.get("code") == world.fresh[0]] == [
        "used",
        "released",
    ]
    assert used_row(world, world.fresh[0]) is None
    assert build_statement(world.hub, SITE_A, "2026-11").accepted == []


def test_a_conflict_declared_is_decided_again_once_the_winner_released_the_pass(
    world: World,
) -> None:
    code = world.fresh[0]
    first, second = line(code, AT), line(code, LATER)
    declare(world, make_declaration(world.sites[SITE_A], [first]))
    refused = declare(world, make_declaration(world.sites[SITE_B], [second]))
    assert verdicts(refused) == [("refused", "conflict")]
    declare(world, make_declaration(world.sites[SITE_A], [], [cancellation(first["id"])]))
    ack = receive_batch(world.hub, make_batch(world.sites[SITE_B], [second]), SITE_B).ack
    assert verdicts(ack) == [("accepted", None)]
    claim = used_row(world, code)
    assert claim is not None and claim.site_id == SITE_B and claim.batch_id == ack["batch_id"]
    assert declared_row(world, second["id"]).batch_id == ack["batch_id"]


def test_cancellations_in_a_batch_or_unknown(world: World) -> None:
    site = world.sites[SITE_A]
    declared, batched = line(world.fresh[0], AT), line(world.fresh[1], AT)
    other_site = line(world.fresh[2], AT)
    declare(world, make_declaration(site, [declared]))
    receive_batch(world.hub, make_batch(site, [declared, batched]), SITE_A)
    declare(world, make_declaration(world.sites[SITE_B], [other_site]))
    counts = table_counts(world.hub)
    never = random_id()
    answer = declare(
        world,
        make_declaration(
            site,
            [],
            [
                cancellation(declared["id"]),
                cancellation(batched["id"]),
                cancellation(never),
                cancellation(other_site["id"]),  # another site's: not this site's to cancel
            ],
        ),
    )
    assert [c["status"] for c in answer["cancellations"]] == [
        "in_batch",
        "in_batch",
        "unknown",
        "unknown",
    ]
    assert table_counts(world.hub) == counts
    assert used_row(world, world.fresh[2]) is not None


def test_a_cancellation_finds_every_batch_line_of_its_site_replays_included(
    world: World,
) -> None:
    """A redemption id in a batch is `in_batch` to its site however the line was stored: the
    first line of the id, a repeat in the same batch, a replay in a later batch of the same
    site, or a replay of an id another site's batch brought first; never to a site whose
    batches did not bring it."""
    site_a, site_b = world.sites[SITE_A], world.sites[SITE_B]
    repeated, replayed, shared = (line(world.fresh[n], AT) for n in range(3))
    receive_batch(world.hub, make_batch(site_a, [repeated, dict(repeated), replayed]), SITE_A)
    receive_batch(world.hub, make_batch(site_a, [dict(replayed)], sequence=2), SITE_A)
    receive_batch(world.hub, make_batch(site_b, [shared]), SITE_B)
    receive_batch(world.hub, make_batch(site_a, [dict(shared)], sequence=3), SITE_A)
    counts = table_counts(world.hub)
    ids = [repeated["id"], replayed["id"], shared["id"]]
    answer_a = declare(world, make_declaration(site_a, [], [cancellation(i) for i in ids]))
    assert [c["status"] for c in answer_a["cancellations"]] == ["in_batch"] * 3
    answer_b = declare(world, make_declaration(site_b, [], [cancellation(i) for i in ids]))
    assert [c["status"] for c in answer_b["cancellations"]] == ["unknown", "unknown", "in_batch"]
    assert table_counts(world.hub) == counts


def test_another_sites_declaration_and_a_bad_signature_change_nothing(world: World) -> None:
    document = make_declaration(world.sites[SITE_A], [line(world.fresh[0], AT)])
    counts = table_counts(world.hub)
    with pytest.raises(Forbidden, match="ne peut déclarer que ses propres"):
        hub_receive_declaration(world.hub, document, SITE_B)
    forged = make_declaration(world.sites[SITE_A], [line(world.fresh[0], AT)])
    forged["declared_at"] = LATER  # changed after its signature
    with pytest.raises(ProtocolError, match="Signature invalide"):
        hub_receive_declaration(world.hub, forged, SITE_A)
    empty = make_declaration(world.sites[SITE_A], [])
    with pytest.raises(ProtocolError, match="Déclaration vide"):
        hub_receive_declaration(world.hub, empty, SITE_A)
    assert table_counts(world.hub) == counts


def test_the_recovery_holds_the_batches_in_order_and_the_outstanding_declared_lines(
    world: World,
) -> None:
    site = world.sites[SITE_A]
    batched, outstanding, cancelled = (line(code, AT) for code in world.fresh[:3])
    lost = line(world.revoked, AT)
    declare(world, make_declaration(site, [batched, outstanding, cancelled, lost]))
    declare(world, make_declaration(site, [], [cancellation(cancelled["id"])]))
    second = make_batch(site, [line(world.fresh[4], AT)], period="2026-12", sequence=2)
    first = make_batch(site, [batched], sequence=1)
    acks = [receive_batch(world.hub, batch, SITE_A).ack for batch in (first, second)]
    declare(world, make_declaration(world.sites[SITE_B], [line(world.fresh[5], AT)]))
    document = site_recovery(world.hub, SITE_A)
    validate(document, "site-recovery")
    verify_document(document, public_key_bytes(world.hub.region_key), region_signer("HDF"))
    assert [item["batch"] for item in document["batches"]] == [first, second]
    assert [item["ack"] for item in document["batches"]] == acks
    declared = document["declared"]
    assert declared["redemptions"] == sorted([outstanding, cancelled, lost], key=lambda x: x["id"])
    assert [session["id"] for session in declared["sessions"]] == [1]
    assert [(a["redemption_id"], a["verdict"], a["reason"]) for a in declared["answers"]] == [
        (
            x["id"],
            "refused" if x == lost else "accepted",
            "revoked" if x == lost else None,
        )
        for x in declared["redemptions"]
    ]
    assert [item["redemption_id"] for item in declared["cancellations"]] == [cancelled["id"]]
    assert declared["cancellations"][0]["reason"] == "Erreur de saisie"
    assert site_recovery(world.hub, SITE_B)["batches"] == []


def test_a_declared_line_is_stored_whole(world: World) -> None:
    taken = line(world.fresh[0], AT)
    declare(world, make_declaration(world.sites[SITE_A], [taken]))
    with read_session(world.hub.engine) as session:
        rows = session.exec(select(HubDeclaredLine)).all()
    assert len(rows) == 1
    assert rows[0].site_id == SITE_A and rows[0].code == world.fresh[0]
    assert rows[0].value_cents == 1000
