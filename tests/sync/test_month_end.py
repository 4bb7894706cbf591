"""Closing a month into a sealed, signed, hash-chained batch (docs/protocol.md, "Monthly
batches")."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest
from contract import validate
from sqlmodel import Session, select

from mediateur_tui.domain.clock import fixed_clock
from mediateur_tui.domain.errors import NothingToDo, UserError
from mediateur_tui.domain.periods import period_bounds, period_label, previous_period
from mediateur_tui.protocol.signing import document_hash, site_signer, verify_document
from mediateur_tui.services.batches import batch_document
from mediateur_tui.services.desk import SEALED_MESSAGE, DeskError
from mediateur_tui.services.month_end import MonthEnd
from mediateur_tui.store.audit import verify_chain
from mediateur_tui.store.keys import load_site_key, raw_public_key, site_key_path
from mediateur_tui.store.models import AuditEvent, Batch, Redemption, RefusedScan

from .region import SITE_ID

# 1 April 2026, 00:00 in Paris (summer time since 29 March) is 31 March, 22:00 UTC.
END_OF_MARCH = datetime(2026, 3, 31, 22, 0, tzinfo=UTC)
APRIL_2 = datetime(2026, 4, 2, 9, 0, tzinfo=UTC)
MAY_2 = datetime(2026, 5, 2, 9, 0, tzinfo=UTC)


def codes_of(region, count: int) -> list[str]:
    """Codes of the site fixture's carnets (all valid in March and April 2026)."""
    carnets = [change for change in region.changes if change["t"] == "carnet"]
    return [code for carnet in carnets for code in carnet["codes"]][:count]


def month_end(site, moment: datetime) -> MonthEnd:
    return MonthEnd(site.engine, site.data_dir, clock=fixed_clock(moment))


def redemption_batches(site) -> dict[str, str | None]:
    with Session(site.engine) as session:
        return {row.code: row.batch_id for row in session.exec(select(Redemption))}


def test_periods_follow_french_time():
    assert period_bounds("2026-03") == (
        datetime(2026, 2, 28, 23, 0, tzinfo=UTC),  # winter time: UTC+1
        END_OF_MARCH,  # summer time: UTC+2
    )
    assert period_bounds("2026-12")[1] == datetime(2026, 12, 31, 23, 0, tzinfo=UTC)
    assert previous_period(datetime(2026, 1, 1, 0, 30, tzinfo=UTC)) == "2025-12"
    # 31 January, 23:30 UTC is already 1 February in Paris.
    assert previous_period(datetime(2026, 1, 31, 23, 30, tzinfo=UTC)) == "2026-01"
    assert period_label("2026-08") == "août 2026"


def test_the_month_ends_at_paris_midnight(site, region):
    last_second, first_second = codes_of(region, 2)
    site.redeem(last_second, END_OF_MARCH - timedelta(seconds=1))
    site.redeem(first_second, END_OF_MARCH)
    march = month_end(site, APRIL_2).close_month("2026-03")
    assert (march.period, march.sequence, march.redemption_count) == ("2026-03", 1, 1)
    assert redemption_batches(site) == {last_second: march.batch_id, first_second: None}
    april = month_end(site, MAY_2).close_month("2026-04")
    assert redemption_batches(site)[first_second] == april.batch_id


def test_the_default_is_the_previous_month_and_earlier_leftovers_come_along(site, region):
    february, march, april = codes_of(region, 3)
    site.redeem(february, datetime(2026, 2, 20, 10, 0, tzinfo=UTC))  # never closed
    site.redeem(march, datetime(2026, 3, 20, 10, 0, tzinfo=UTC))
    site.redeem(april, datetime(2026, 4, 1, 10, 0, tzinfo=UTC))  # after the month's end
    batch = month_end(site, APRIL_2).close_month()
    assert batch.period == "2026-03"
    document = batch_document(site.engine, batch.batch_id)
    assert [line["code"] for line in document["redemptions"]] == [february, march]
    assert redemption_batches(site)[april] is None


def test_the_batch_document_is_signed_and_follows_the_contract(site, region):
    first, second, third, cancelled = codes_of(region, 4)
    morning = datetime(2026, 3, 12, 9, 0, tzinfo=UTC)
    workshop = site.session(morning, "Atelier « démarches »")
    site.redeem(first, morning, workshop)
    site.redeem(second, morning + timedelta(minutes=5), workshop)
    site.redeem(third, morning + timedelta(days=1))  # another session
    site.redeem(cancelled, morning, workshop)
    line = next(r for r in site.desk(morning).session_redemptions(workshop) if r.code == cancelled)
    site.desk(morning).cancel(line.id, site.operator_id, "erreur de saisie")
    site.redeem("0000-0000-00000", morning, workshop)  # refused: unknown
    site.redeem(first, morning + timedelta(hours=1), workshop)  # refused: redeemed here
    site.redeem("not a pass", APRIL_2, workshop)  # refused in April: next batch

    batch = month_end(site, APRIL_2).close_month("2026-03")
    document = batch_document(site.engine, batch.batch_id)
    validate(document, "pn-batch/1")
    verify_document(document, raw_public_key(load_site_key(site.data_dir)), site_signer(SITE_ID))
    assert document["site_id"] == SITE_ID and document["region_id"] == "HDF"
    assert (document["sequence"], document["previous_hash"]) == (1, None)
    assert [r["code"] for r in document["redemptions"]] == [first, second, third]
    assert {r["session_id"] for r in document["redemptions"]} == {
        s["id"] for s in document["sessions"]
    }
    assert len(document["sessions"]) == 2
    assert document["sessions"][0]["title"] == "Atelier « démarches »"
    assert all(r["operator"] == "Camille Martin" for r in document["redemptions"])
    assert all(r["provisional"] is False for r in document["redemptions"])
    assert [(s["verdict"], s["code"]) for s in document["refused_scans"]] == [
        ("unknown", "0000000000000"),
        ("redeemed_here", first),
    ]
    assert document["totals"] == {"redemptions": 3, "value_cents": 3000, "refused_scans": 2}
    assert (batch.redemption_count, batch.value_cents, batch.refused_count) == (3, 3000, 2)
    with Session(site.engine) as session:
        stored = session.get(Batch, batch.batch_id)
        assert json.loads(stored.document) == document
        assert stored.document_hash == document_hash(document)
        refused_batches = [
            row.batch_id for row in session.exec(select(RefusedScan).order_by(RefusedScan.id))
        ]
    assert refused_batches == [batch.batch_id, batch.batch_id, None]


def test_batches_form_a_hash_chain(site, region):
    codes = codes_of(region, 3)
    site.redeem(codes[0], datetime(2026, 3, 5, 10, 0, tzinfo=UTC))
    site.redeem(codes[1], datetime(2026, 4, 5, 10, 0, tzinfo=UTC))
    site.redeem(codes[2], datetime(2026, 6, 5, 10, 0, tzinfo=UTC))
    march = month_end(site, APRIL_2).close_month("2026-03")
    april = month_end(site, MAY_2).close_month("2026-04")
    with pytest.raises(NothingToDo, match="mai 2026"):
        month_end(site, datetime(2026, 6, 2, tzinfo=UTC)).close_month("2026-05")
    june = month_end(site, datetime(2026, 7, 1, 9, 0, tzinfo=UTC)).close_month()
    documents = [batch_document(site.engine, b.batch_id) for b in (march, april, june)]
    assert [d["sequence"] for d in documents] == [1, 2, 3]
    assert documents[0]["previous_hash"] is None
    assert documents[1]["previous_hash"] == document_hash(documents[0])
    assert documents[2]["previous_hash"] == document_hash(documents[1])
    assert [b.period for b in month_end(site, MAY_2).batches()] == ["2026-03", "2026-04", "2026-06"]


def test_a_sealed_redemption_cannot_be_cancelled(site, region):
    sealed, open_ = codes_of(region, 2)
    moment = datetime(2026, 3, 20, 10, 0, tzinfo=UTC)
    session_id = site.session(moment)
    site.redeem(sealed, moment, session_id)
    month_end(site, APRIL_2).close_month("2026-03")
    site.redeem(open_, APRIL_2, session_id)
    desk = site.desk(APRIL_2)
    lines = {line.code: line for line in desk.session_redemptions(session_id)}
    with pytest.raises(DeskError) as error:
        desk.cancel(lines[sealed].id, site.operator_id, "erreur")
    assert (
        str(error.value)
        == SEALED_MESSAGE
        == ("Cet encaissement a déjà été remis à la région : il ne peut plus être annulé ici.")
    )
    desk.cancel(lines[open_].id, site.operator_id, "erreur")  # not sealed yet: allowed
    assert desk.check(sealed).verdict.value == "redeemed_here"


def test_an_empty_month_makes_no_batch(site):
    before = site.dump()
    with pytest.raises(NothingToDo, match="Aucun encaissement à remettre pour mars 2026"):
        month_end(site, APRIL_2).close_month("2026-03")
    assert site.dump() == before


def test_a_month_not_over_or_already_closed_is_refused(site, region):
    code = codes_of(region, 1)[0]
    site.redeem(code, datetime(2026, 3, 20, 10, 0, tzinfo=UTC))
    with pytest.raises(UserError, match="pourra être clos à partir du 01/04/2026"):
        month_end(site, END_OF_MARCH - timedelta(microseconds=1)).close_month("2026-03")
    batch = month_end(site, END_OF_MARCH).close_month("2026-03")
    with pytest.raises(UserError, match="déjà clos : remise n° 1"):
        month_end(site, MAY_2).close_month("2026-03")
    with pytest.raises(UserError, match="Mois invalide"):
        month_end(site, MAY_2).close_month("2026-13")
    assert [b.batch_id for b in month_end(site, MAY_2).batches()] == [batch.batch_id]


def test_sealing_needs_the_site_key(site, region):
    site.redeem(codes_of(region, 1)[0], datetime(2026, 3, 20, 10, 0, tzinfo=UTC))
    site_key_path(site.data_dir).unlink()
    before = site.dump()
    with pytest.raises(UserError, match="pas de clé de lieu pour signer la remise"):
        month_end(site, APRIL_2).close_month("2026-03")
    assert site.dump() == before


def test_sealing_is_in_the_audit_chain(site, region):
    site.redeem(codes_of(region, 1)[0], datetime(2026, 3, 20, 10, 0, tzinfo=UTC))
    batch = month_end(site, APRIL_2).close_month("2026-03")
    with Session(site.engine) as session:
        event = session.exec(select(AuditEvent).order_by(AuditEvent.id.desc())).first()
        assert event.kind == "batch_sealed"
        details = json.loads(event.details)
        assert details["batch_id"] == batch.batch_id
        assert details["document_hash"] == batch.document_hash
        assert verify_chain(session) == (3, None)  # session started, redemption, batch


def test_an_open_session_is_sent_with_no_end(site, region):
    moment = datetime(2026, 3, 31, 20, 0, tzinfo=UTC)
    session_id = site.session(moment)
    site.redeem(codes_of(region, 1)[0], moment, session_id)
    batch = month_end(site, APRIL_2).close_month("2026-03")
    (desk_session,) = batch_document(site.engine, batch.batch_id)["sessions"]
    assert desk_session["id"] == session_id and desk_session["ended_at"] is None
