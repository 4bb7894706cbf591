"""The region's own attributions (`mediateur-hub attribute`), on SQLite and on PostgreSQL (the
`world` fixture): the reference is stored normalised, the cap per beneficiary is the one the
distributor sites' attributions obey (counted the same way), and a carnet whose passes were
already accepted cannot be taken back."""

from __future__ import annotations

import dataclasses
from datetime import date

import pytest
from sqlmodel import select

from mediateur_tui.domain.beneficiaries import format_reference
from mediateur_tui.domain.rulebooks import default_rulebooks
from mediateur_tui.hub.attributions import receive_attributions
from mediateur_tui.hub.cli import main
from mediateur_tui.hub.database import Hub, read_session
from mediateur_tui.hub.errors import HubError
from mediateur_tui.hub.intake import receive_batch
from mediateur_tui.hub.models import HubCarnet, HubUsedPass
from mediateur_tui.hub.registry import ProgrammeSpec, attribute, issue

from .helpers import (
    PROGRAMME,
    SITE_A,
    World,
    attribution,
    change_bodies,
    enrol,
    line,
    make_attributions,
    make_batch,
    table_counts,
)

REFERENCE = "B7K3M9QXR4TBEZ0AB12CD"  # a distributor's reference (B + 20 Crockford symbols)
TYPED = "b-7k3m-9qxr-4tbe-z0ab-12cd"  # the same, as read from a receipt and typed in lower case
DAY = date(2026, 11, 20)
AT = "2026-11-12T09:30:00Z"
BOOK = next(book for book in default_rulebooks() if book.id == "hdf-2022-02")


def carnet(hub: Hub, carnet_id: str) -> HubCarnet:
    with read_session(hub.engine) as session:
        found = session.get(HubCarnet, carnet_id)
    assert found is not None
    return found


def fresh_carnets(hub: Hub, count: int, size: int) -> list[str]:
    return [c.id for c in issue(hub, ProgrammeSpec(id=PROGRAMME), carnets=count, size=size).carnets]


def cli(world: World, capsys, *args: str) -> tuple[int, str, str]:
    settings = world.hub.settings
    code = main(["--dir", str(settings.directory), "--db", settings.database_url, *args])
    captured = capsys.readouterr()
    return code, captured.out, captured.err


# --- the reference ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("typed", "stored"),
    [
        (TYPED, REFERENCE),
        (" B 7K3M 9QXR 4TBE Z0AB 12CD ", REFERENCE),
        ("benef-0001", "BENEF0001"),
        ("Réf – 12", "RÉF12"),
        ("-".join("A" * 64), "A" * 64),  # 64 characters once the dashes are gone
    ],
    ids=["receipt-form", "spaces", "region-form", "unicode-dash", "64-with-dashes"],
)
def test_the_reference_is_stored_normalised(world: World, typed: str, stored: str) -> None:
    hub = world.hub
    (five,) = fresh_carnets(hub, 1, 5)
    handed = attribute(hub, five, typed, DAY)
    assert (handed.attributed_on, handed.beneficiary_ref) == (DAY, stored)
    assert carnet(hub, five).beneficiary_ref == stored
    assert change_bodies(hub, "attribution")[-1] == {
        "t": "attribution",
        "id": five,
        "a": "2026-11-20",
        "b": stored,
    }


@pytest.mark.parametrize("typed", ["", "  ", "- -", "A" * 65])
def test_an_empty_or_too_long_reference_is_refused(world: World, typed: str) -> None:
    hub = world.hub
    (five,) = fresh_carnets(hub, 1, 5)
    before = table_counts(hub)
    with pytest.raises(HubError, match=r"vide ou trop longue \(64 caractères au plus"):
        attribute(hub, five, typed, DAY)
    assert table_counts(hub) == before
    assert carnet(hub, five).attributed_on is None


# --- the cap per beneficiary ------------------------------------------------------------------


def test_the_forms_of_one_reference_share_one_cap(world: World) -> None:
    hub = world.hub
    first, second, third = fresh_carnets(hub, 3, 5)
    attribute(hub, first, TYPED, DAY)
    attribute(hub, second, REFERENCE.lower(), DAY)  # 5 + 5: at the cap of 10
    changes = change_bodies(hub)
    with pytest.raises(HubError) as refused:
        attribute(hub, third, format_reference(REFERENCE), DAY)
    assert str(refused.value) == (
        f"Carnet {third} non attribué. Le bénéficiaire a déjà reçu 10 pass dans toute la "
        "région : avec ces 5 pass, il dépasserait le plafond de 10 pass par personne."
    )
    assert carnet(hub, third).attributed_on is None
    assert change_bodies(hub) == changes  # nothing published


def test_a_carnet_of_ten_after_five_is_refused_and_another_person_is_not_affected(
    world: World,
) -> None:
    hub = world.hub
    (five,) = fresh_carnets(hub, 1, 5)
    (ten,) = fresh_carnets(hub, 1, 10)
    attribute(hub, five, "BENEF-0001", DAY)
    with pytest.raises(HubError, match=r"déjà reçu 5 pass .* avec ces 10 pass"):
        attribute(hub, ten, "benef 0001", DAY)
    assert attribute(hub, ten, "BENEF-0002", DAY).beneficiary_ref == "BENEF0002"


def test_the_region_and_the_distributors_count_each_others_carnets(world: World) -> None:
    hub = world.hub
    distributor = enrol(hub, "LE-CATEAU-PIMMS", "PIMMS du Cateau-Cambrésis", distributor=True)
    fives = fresh_carnets(hub, 3, 5)
    (ten,) = fresh_carnets(hub, 1, 10)
    # A distributor hands 5 passes out; the region, given the reference as the receipt
    # prints it, cannot add a carnet of 10 ...
    answer = receive_attributions(
        hub, make_attributions(distributor, [attribution([fives[0]], REFERENCE, 5)])
    )
    assert answer["results"][0]["verdict"] == "accepted"
    with pytest.raises(HubError, match="déjà reçu 5 pass dans toute la région"):
        attribute(hub, ten, format_reference(REFERENCE), DAY)
    # ... but can add 5, which the next distributor attribution then counts.
    assert attribute(hub, fives[1], TYPED, DAY).beneficiary_ref == REFERENCE
    later = receive_attributions(
        hub, make_attributions(distributor, [attribution([fives[2]], REFERENCE, 5)])
    )
    [result] = later["results"]
    assert (result["verdict"], result["reason"], result["beneficiary_passes"]) == (
        "refused",
        "beneficiary_cap",
        10,
    )


def test_the_cap_is_that_of_the_rulebook_in_force_on_the_attribution_day(world: World) -> None:
    hub = world.hub
    raised = dataclasses.replace(
        BOOK, id="hdf-2026-12", effective_from=date(2026, 12, 1), max_passes_per_beneficiary=20
    )
    books = [BOOK, raised]
    first, second = fresh_carnets(hub, 2, 10)
    attribute(hub, first, "BENEF-0009", date(2026, 11, 30), books)
    with pytest.raises(HubError, match="plafond de 10 pass par personne"):
        attribute(hub, second, "BENEF-0009", date(2026, 11, 30), books)
    handed = attribute(hub, second, "BENEF-0009", date(2026, 12, 1), books)
    assert handed.attributed_on == date(2026, 12, 1)
    third = fresh_carnets(hub, 1, 5)[0]
    with pytest.raises(HubError, match="Aucun règlement d'attribution n'était en vigueur le 01/01"):
        attribute(hub, third, "BENEF-0010", date(2019, 1, 1), books)


def test_the_cap_refusal_by_command_exits_2(world: World, capsys) -> None:
    hub = world.hub
    ten, other = fresh_carnets(hub, 2, 10)
    on = ("--on", "2026-11-20")
    code, out, _ = cli(world, capsys, "attribute", ten, "--beneficiary", TYPED, *on)
    assert (code, out.strip()) == (
        0,
        f"Carnet {ten} attribué le 20/11/2026 (bénéficiaire {format_reference(REFERENCE)}).",
    )
    code, out, err = cli(world, capsys, "attribute", other, "--beneficiary", REFERENCE)
    assert (code, out) == (2, "")
    assert err.strip() == (
        f"Erreur : Carnet {other} non attribué. Le bénéficiaire a déjà reçu 10 pass dans toute "
        "la région : avec ces 10 pass, il dépasserait le plafond de 10 pass par personne."
    )
    assert carnet(hub, other).attributed_on is None


# --- taking a carnet back ---------------------------------------------------------------------


def redeem(world: World, *codes: str) -> None:
    """The region accepts (and pays) these passes, from a batch of site A."""
    site = world.sites[SITE_A]
    ack = receive_batch(world.hub, make_batch(site, [line(code, AT) for code in codes]))
    assert [item["verdict"] for item in ack.ack["lines"]] == ["accepted"] * len(codes)


def test_a_carnet_with_a_used_pass_cannot_be_taken_back(world: World) -> None:
    hub = world.hub
    carnet_id = "C0000001"  # the world's first carnet, handed to BENEF-0
    redeem(world, world.carnets[0][0])
    before, changes = table_counts(hub), change_bodies(hub)
    with pytest.raises(HubError) as refused:
        attribute(hub, carnet_id, None)
    assert str(refused.value) == (
        f"Le carnet {carnet_id} ne peut pas être repris : 1 de ses pass a déjà été utilisé "
        "(accepté et payé par la région). Son attribution reste comptée pour le bénéficiaire."
    )
    assert (table_counts(hub), change_bodies(hub)) == (before, changes)
    kept = carnet(hub, carnet_id)
    assert (kept.attributed_on, kept.beneficiary_ref) == (date(2026, 2, 1), "BENEF0")
    redeem(world, *world.carnets[0][1:3])
    with pytest.raises(HubError, match=r"3 de ses pass ont déjà été utilisés \(acceptés et payés"):
        attribute(hub, carnet_id, None)
    with read_session(hub.engine) as session:
        assert len(session.exec(select(HubUsedPass)).all()) == 3


def test_a_carnet_with_no_used_pass_is_taken_back_and_frees_the_allowance(world: World) -> None:
    hub = world.hub
    redeem(world, world.carnets[0][0])  # another carnet's pass: no matter
    # The world's second carnet has a pass in opposition, but none used.
    taken_back = attribute(hub, "C0000002", None)
    assert (taken_back.attributed_on, taken_back.beneficiary_ref) == (None, None)
    assert change_bodies(hub, "attribution")[-1] == {
        "t": "attribution",
        "id": "C0000002",
        "a": None,
        "b": None,
    }
    (ten,) = fresh_carnets(hub, 1, 10)
    assert attribute(hub, ten, "BENEF-1", DAY).beneficiary_ref == "BENEF1"  # 10 again


def test_the_take_back_refusal_by_command_exits_2(world: World, capsys) -> None:
    redeem(world, *world.carnets[3][:2])
    code, out, err = cli(world, capsys, "attribute", "C0000004", "--take-back")
    assert (code, out) == (2, "")
    assert "Erreur : Le carnet C0000004 ne peut pas être repris : 2 de ses pass ont" in err
    assert carnet(world.hub, "C0000004").beneficiary_ref == "BENEF3"
    code, out, _ = cli(world, capsys, "attribute", "C0000003", "--take-back")
    assert code == 2  # never handed out
    code, out, _ = cli(world, capsys, "attribute", "C0000002", "--take-back")
    assert (code, out.strip()) == (0, "Attribution du carnet C0000002 retirée.")
