"""Attributions of carnets by distributor sites (pn-attributions/1), decided by the hub's
functions, on SQLite and on PostgreSQL (the `world` fixture): caps across distributors, the
lycée quota, carnets (what the règlement grants, carnets no longer usable), idempotence, and
the documents refused as a whole."""

from __future__ import annotations

import copy
import dataclasses
import json
import os
import stat
import subprocess
import sys
import threading
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from contract import validate
from sqlalchemy import event
from sqlmodel import select

from mediateur_tui.domain.rulebooks import Rulebook, default_rulebooks
from mediateur_tui.hub.attributions import receive_attributions as hub_receive_attributions
from mediateur_tui.hub.cli import main
from mediateur_tui.hub.database import (
    BENEFICIARY_KEY_FILENAME,
    Hub,
    HubSettings,
    load_or_create_beneficiary_key,
    open_hub,
    read_session,
    write_session,
)
from mediateur_tui.hub.enrolment import enrol_site, site_record
from mediateur_tui.hub.errors import Forbidden
from mediateur_tui.hub.intake import receive_batch
from mediateur_tui.hub.models import HubAttribution, HubCarnet
from mediateur_tui.hub.registry import ProgrammeSpec, attribute, issue, revoke
from mediateur_tui.hub.replica import changes_page
from mediateur_tui.protocol.errors import ProtocolError
from mediateur_tui.protocol.formats import MAX_ATTRIBUTIONS_PER_DOCUMENT
from mediateur_tui.protocol.signing import decode_key, region_signer, sign_document, verify_document

from .helpers import (
    LYCEE,
    NEW_BOOK,
    PROGRAMME,
    SITE_A,
    Site,
    World,
    attribution,
    change_bodies,
    enrol,
    line,
    lycee_book,
    make_attributions,
    make_batch,
    random_id,
    reference,
    table_counts,
)

DISTRIBUTOR_1 = "LE-CATEAU-PIMMS"
DISTRIBUTOR_2 = "MAUBEUGE-CCAS"
PENDING = (
    "Les critères d'attribution et les conditions de l'expérimentation auprès des lycéens "
    "feront l'objet d'une délibération ultérieure : aucune demande ne peut encore être acceptée."
)


@dataclass
class Region:
    """The small world, plus two distributor sites and fresh (not handed out) carnets."""

    world: World
    d1: Site
    d2: Site
    tens: list[str]  # carnets of 10
    fives: list[str]  # carnets of 5

    @property
    def hub(self) -> Hub:
        return self.world.hub


@pytest.fixture
def region(world: World) -> Region:
    hub = world.hub
    d1 = enrol(hub, DISTRIBUTOR_1, "PIMMS du Cateau-Cambrésis", distributor=True)
    d2 = enrol(hub, DISTRIBUTOR_2, "CCAS de Maubeuge", distributor=True)
    tens = issue(hub, ProgrammeSpec(id=PROGRAMME), carnets=6, size=10).carnets
    fives = issue(hub, ProgrammeSpec(id=PROGRAMME), carnets=6, size=5).carnets
    return Region(world, d1, d2, [c.id for c in tens], [c.id for c in fives])


def receive(
    hub: Hub,
    document: dict[str, Any],
    site_id: str | None = None,
    rulebooks: list[Rulebook] | None = None,
) -> dict[str, Any]:
    """The hub's intake, checking that what goes in and out conforms to schema/ and that the
    answer is signed by the region."""
    validate(document, "attributions")
    answer = hub_receive_attributions(
        hub, document, site_id if site_id is not None else document["site_id"], rulebooks
    )
    validate(answer, "attribution-answer")
    verify_document(answer, hub.region_public_key, region_signer(hub.region_id))
    assert (answer["region_id"], answer["site_id"]) == (hub.region_id, document["site_id"])
    assert [item["id"] for item in answer["results"]] == [
        item["id"] for item in document["attributions"]
    ]
    return answer


def outcomes(answer: dict[str, Any]) -> list[tuple[str, str | None, int]]:
    return [
        (item["verdict"], item["reason"], item["beneficiary_passes"]) for item in answer["results"]
    ]


def carnet(hub: Hub, carnet_id: str) -> HubCarnet:
    with read_session(hub.engine) as session:
        found = session.get(HubCarnet, carnet_id)
    assert found is not None
    return found


def stored(hub: Hub) -> dict[str, HubAttribution]:
    """The hub's attribution rows, by id, in the order they were received (by document)."""
    with read_session(hub.engine) as session:
        rows = session.exec(select(HubAttribution).order_by(HubAttribution.received_at))
        return {row.id: row for row in rows}


# --- accepted ---------------------------------------------------------------------------------


def test_an_accepted_attribution_hands_the_carnets_out_and_tells_every_site(
    region: Region,
) -> None:
    hub, ref = region.hub, reference(1)
    ten, five = region.tens[0], region.fives[0]
    # 23:30 UTC on 30 November is 00:30 on 1 December in France: the carnets' day.
    item = attribution([ten], ref, 10, attributed_at="2026-11-30T23:30:00Z")
    answer = receive(hub, make_attributions(region.d1, [item]))
    assert outcomes(answer) == [("accepted", None, 10)]
    assert answer["results"][0]["message"] == (
        f"Attribution enregistrée par la région : 10 pass (1 carnet {ten}). "
        "Le bénéficiaire a reçu 10 pass sur le plafond de 10."
    )
    handed = carnet(hub, ten)
    assert (handed.attributed_on, handed.beneficiary_ref) == (date(2026, 12, 1), ref)
    assert carnet(hub, five).attributed_on is None
    assert change_bodies(hub)[-1] == {"t": "attribution", "id": ten, "a": "2026-12-01", "b": ref}
    page = changes_page(hub, 0, 100_000)
    validate(page, "replica-page")
    assert page["changes"][-1]["b"] == ref
    [row] = stored(hub).values()
    assert (row.site_id, row.verdict, row.reason, row.passes, row.beneficiary_passes) == (
        DISTRIBUTOR_1,
        "accepted",
        None,
        10,
        10,
    )
    assert (row.category, row.rulebook, row.received_on, row.accompanied) == (
        "job_seeker",
        "hdf-2022-02",
        date(2026, 11, 10),
        True,
    )
    assert json.loads(row.carnets) == [ten]


def test_two_carnets_of_five_at_once(region: Region) -> None:
    hub, ref = region.hub, reference(2)
    pair = region.fives[:2]
    answer = receive(hub, make_attributions(region.d1, [attribution(pair, ref, 10)]))
    assert outcomes(answer) == [("accepted", None, 10)]
    assert [carnet(hub, c).beneficiary_ref for c in pair] == [ref, ref]
    assert [(c["id"], c["b"]) for c in change_bodies(hub, "attribution")[-2:]] == [
        (pair[0], ref),
        (pair[1], ref),
    ]


# --- the cap per beneficiary, region-wide -----------------------------------------------------


def test_the_cap_counts_every_distributor(region: Region) -> None:
    hub, ref = region.hub, reference(3)
    first = receive(hub, make_attributions(region.d1, [attribution([region.fives[0]], ref, 5)]))
    assert outcomes(first) == [("accepted", None, 5)]
    too_many = attribution([region.tens[0]], ref, 10)
    second = receive(hub, make_attributions(region.d2, [too_many]))
    assert outcomes(second) == [("refused", "beneficiary_cap", 5)]
    assert second["results"][0]["message"] == (
        "Le bénéficiaire a déjà reçu 5 pass dans toute la région : avec ces 10 pass, il "
        "dépasserait le plafond de 10 pass par personne."
    )
    assert carnet(hub, region.tens[0]).attributed_on is None
    third = receive(hub, make_attributions(region.d2, [attribution([region.fives[1]], ref, 5)]))
    assert outcomes(third) == [("accepted", None, 10)]
    assert [row.verdict for row in stored(hub).values()] == ["accepted", "refused", "accepted"]


def test_the_cap_counts_the_regions_own_attributions_and_earlier_lines(region: Region) -> None:
    hub = region.hub
    given, ref = reference(4), reference(5)
    attribute(hub, region.fives[0], given, date(2026, 10, 1))  # mediateur-hub attribute
    document = make_attributions(
        region.d1,
        [
            attribution([region.fives[1]], given, 5),  # 5 + 5: at the cap, accepted
            attribution([region.fives[2]], given, 5),  # 15: refused
            attribution([region.tens[0]], ref, 10),
            attribution([region.fives[3]], ref, 5),  # the line above counts: refused
        ],
    )
    answer = receive(hub, document)
    assert outcomes(answer) == [
        ("accepted", None, 10),
        ("refused", "beneficiary_cap", 10),
        ("accepted", None, 10),
        ("refused", "beneficiary_cap", 10),
    ]
    assert "déjà reçu 10 pass dans toute la région" in answer["results"][3]["message"]


def test_two_distributors_at_the_same_moment_cannot_both_pass_the_cap(region: Region) -> None:
    hub, ref = region.hub, reference(6)
    documents = {
        region.d1.id: make_attributions(region.d1, [attribution([region.tens[0]], ref, 10)]),
        region.d2.id: make_attributions(region.d2, [attribution([region.tens[1]], ref, 10)]),
    }
    start = threading.Barrier(2)
    answers: dict[str, dict] = {}
    errors: list[BaseException] = []

    def post(site_id: str) -> None:
        try:
            start.wait(timeout=30)
            answers[site_id] = hub_receive_attributions(hub, documents[site_id], site_id)
        except BaseException as error:  # reported below, in the test's thread
            errors.append(error)

    threads = [threading.Thread(target=post, args=(site_id,)) for site_id in documents]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert errors == []
    results = sorted(outcomes(answer)[0] for answer in answers.values())
    assert results == [("accepted", None, 10), ("refused", "beneficiary_cap", 10)]
    handed = [carnet(hub, c).beneficiary_ref for c in region.tens[:2]]
    assert sorted(handed, key=str) == sorted([ref, None], key=str)


# --- carnets ----------------------------------------------------------------------------------


def test_a_carnet_is_handed_out_once(region: Region) -> None:
    hub = region.hub
    ten = region.tens[0]
    document = make_attributions(
        region.d1,
        [attribution([ten], reference(7), 10), attribution([ten], reference(8), 10)],
    )
    answer = receive(hub, document)
    assert outcomes(answer) == [("accepted", None, 10), ("refused", "carnet_taken", 0)]
    message = answer["results"][1]["message"]
    assert message == (
        f"Le carnet {ten} est déjà attribué depuis le 10/11/2026 : remettez un autre carnet."
    )
    assert reference(7) not in message
    # A carnet the region handed out itself (world: carnets 0, 1 and 3, to BENEF-…, stored
    # without the dash).
    with read_session(hub.engine) as session:
        by_region = session.exec(
            select(HubCarnet).where(HubCarnet.beneficiary_ref == "BENEF0")
        ).one()
    later = receive(
        hub, make_attributions(region.d2, [attribution([by_region.id], reference(9), 10)])
    )
    assert outcomes(later) == [("refused", "carnet_taken", 0)]
    assert "depuis le 01/02/2026" in later["results"][0]["message"]
    assert "BENEF" not in later["results"][0]["message"]
    assert carnet(hub, ten).beneficiary_ref == reference(7)


def test_an_unknown_carnet(region: Region) -> None:
    item = attribution([region.fives[0], "C9999999"], reference(10), 10)
    answer = receive(region.hub, make_attributions(region.d1, [item]))
    assert outcomes(answer) == [("refused", "carnet_unknown", 0)]
    assert answer["results"][0]["message"].startswith(
        "Carnet inconnu du registre de la région : C9999999."
    )
    assert carnet(region.hub, region.fives[0]).attributed_on is None


@pytest.mark.parametrize(
    ("carnets", "passes", "words"),
    [
        (lambda r: [r.tens[0]], 5, "elle annonce 5 pass mais ses carnets en comptent 10"),
        (lambda r: [r.fives[0], r.fives[1]], 5, "annonce 5 pass mais ses carnets en comptent 10"),
        (lambda r: [], 0, "aucun carnet"),
        (lambda r: [r.fives[0]] * 2, 10, "figure deux fois"),
        (lambda r: r.fives[:3], 15, "2 carnets au plus"),
    ],
    ids=["passes-mismatch", "passes-mismatch-pair", "no-carnet", "same-carnet", "three"],
)
def test_inconsistent_attributions_are_invalid(region: Region, carnets, passes, words) -> None:
    item = attribution(carnets(region), reference(11), passes)
    document = make_attributions(region.d1, [item])
    answer = hub_receive_attributions(region.hub, document, region.d1.id)  # not schema-valid
    validate(answer, "attribution-answer")
    assert outcomes(answer) == [("refused", "invalid", 0)]
    assert words in answer["results"][0]["message"]
    assert [carnet(region.hub, c).attributed_on for c in region.fives[:3]] == [None] * 3


def test_a_carnet_size_the_rulebook_does_not_know_is_invalid(region: Region) -> None:
    tens_only = dataclasses.replace(NEW_BOOK, carnet_sizes=(10,))
    document = make_attributions(region.d1, [attribution([region.fives[0]], reference(12), 5)])
    answer = receive(region.hub, document, rulebooks=[tens_only])
    assert outcomes(answer) == [("refused", "invalid", 0)]
    assert answer["results"][0]["message"] == (
        f"Le carnet {region.fives[0]} compte 5 pass : le règlement hdf-2022-02 prévoit des "
        "carnets de 10 pass."
    )


# --- what the règlement grants, and carnets that can still be used ---------------------------


def test_a_request_made_alone_gets_no_more_than_the_rulebook_grants(region: Region) -> None:
    hub = region.hub
    items = [
        attribution([region.tens[0]], reference(60), 10, accompanied=False),
        attribution(region.fives[:2], reference(61), 10, accompanied=False),  # 5 + 5: the same
        attribution([region.fives[2]], reference(62), 5, accompanied=False),
        attribution([region.tens[1]], reference(63), 10, accompanied=True),
    ]
    answer = receive(hub, make_attributions(region.d1, items))
    assert outcomes(answer) == [
        ("refused", "invalid", 0),
        ("refused", "invalid", 0),
        ("accepted", None, 5),
        ("accepted", None, 10),
    ]
    assert answer["results"][0]["message"] == (
        "Demande faite seule : le règlement hdf-2022-02 prévoit au plus 5 pass par demande (un "
        "carnet de 5 ; un second carnet sur une nouvelle demande), mais cette attribution en "
        "remet 10."
    )
    assert answer["results"][1]["message"] == answer["results"][0]["message"]
    handed = [carnet(hub, c).beneficiary_ref for c in (region.tens[0], *region.fives[:3])]
    assert handed == [None, None, None, reference(62)]
    assert carnet(hub, region.tens[1]).beneficiary_ref == reference(63)
    rows = stored(hub)
    assert [rows[item["id"]].verdict for item in items] == ["refused"] * 2 + ["accepted"] * 2
    # A second carnet of 5 on a new request made alone: within the grant and the cap.
    second = attribution([region.fives[3]], reference(62), 5, accompanied=False)
    assert outcomes(receive(hub, make_attributions(region.d2, [second]))) == [
        ("accepted", None, 10)
    ]


def test_a_carnet_whose_programme_is_over_on_the_attribution_day(region: Region) -> None:
    hub = region.hub
    spec = ProgrammeSpec(
        id="HDFNUM-2025",
        label="Pass numérique 2025",
        valid_from=date(2025, 1, 1),
        valid_until=date(2025, 12, 31),
        grace_until=date(2026, 1, 31),
    )
    old = [c.id for c in issue(hub, spec, carnets=3, size=10).carnets]
    before = change_bodies(hub)
    items = [
        # 23:30 UTC on 31 December 2025 is 00:30 on 1 January 2026 in France: over.
        attribution([old[0]], reference(64), 10, received_on="2025-12-31",
                    attributed_at="2025-12-31T23:30:00Z"),
        attribution([old[1]], reference(65), 10),  # 10/11/2026
        # 23:30 in France on 31 December 2025: the programme's last day, still usable.
        attribution([old[2]], reference(66), 10, received_on="2025-12-31",
                    attributed_at="2025-12-31T22:30:00Z"),
    ]  # fmt: skip
    answer = receive(hub, make_attributions(region.d1, items))
    assert outcomes(answer) == [
        ("refused", "invalid", 0),
        ("refused", "invalid", 0),
        ("accepted", None, 10),
    ]
    assert answer["results"][0]["message"] == (
        f"Le carnet {old[0]} n'est plus utilisable : son programme « Pass numérique 2025 » a pris "
        "fin le 31/12/2025, avant le 01/01/2026, jour de l'attribution. Remettez un autre carnet."
    )
    assert "avant le 10/11/2026, jour de l'attribution" in answer["results"][1]["message"]
    assert [carnet(hub, c).attributed_on for c in old] == [None, None, date(2025, 12, 31)]
    assert [c["id"] for c in change_bodies(hub)[len(before) :]] == [old[2]]


def test_a_carnet_with_a_pass_in_opposition(region: Region) -> None:
    hub = region.hub
    fives = issue(hub, ProgrammeSpec(id=PROGRAMME), carnets=3, size=5).carnets
    good, one, two = fives
    revoke(hub, one.codes[2], "stolen", date(2026, 11, 5))
    # In opposition after the attribution day: the carnet is still not handed out (the site
    # checks the same on its replica); its passes would be refused anyway.
    revoke(hub, two.codes[4], "lost", date(2026, 11, 20))
    revoke(hub, two.codes[0], "cancelled", date(2026, 11, 25))
    counts = table_counts(hub)
    items = [
        attribution([good.id, one.id], reference(67), 10),
        attribution([two.id], reference(68), 5, accompanied=False),
    ]
    answer = receive(hub, make_attributions(region.d1, items))
    assert outcomes(answer) == [("refused", "invalid", 0), ("refused", "invalid", 0)]
    assert answer["results"][0]["message"] == (
        f"Le carnet {one.id} a un pass en opposition (volé) depuis le 05/11/2026 : la région ne "
        "peut pas l'attribuer. Remettez un autre carnet."
    )
    assert answer["results"][1]["message"] == (
        f"Le carnet {two.id} a 2 pass en opposition, le premier (perdu) depuis le 20/11/2026 : "
        "la région ne peut pas l'attribuer. Remettez un autre carnet."
    )
    assert [carnet(hub, c.id).attributed_on for c in fives] == [None, None, None]
    assert table_counts(hub) == {**counts, "hub_attribution": counts["hub_attribution"] + 2}


def test_a_carnet_with_a_pass_already_used(region: Region) -> None:
    hub = region.hub
    used = issue(hub, ProgrammeSpec(id=PROGRAMME), carnets=1, size=10).carnets[0]
    # The region accepts a pass of a carnet it handed out ...
    attribute(hub, used.id, "BENEF-USED", date(2026, 11, 2))
    site = region.world.sites[SITE_A]
    batch = make_batch(site, [line(used.codes[3], "2026-11-03T09:30:00Z")])
    ack = receive_batch(hub, batch, SITE_A)
    assert [item["verdict"] for item in ack.ack["lines"]] == ["accepted"]
    # ... and the carnet then shows as not handed out. `attribute --take-back` refuses this
    # (test_region_attribute.py): only a database changed by hand (or an older hub) has it.
    with write_session(hub.engine) as session:
        row = session.get(HubCarnet, used.id)
        assert row is not None
        row.attributed_on, row.beneficiary_ref = None, None
        session.add(row)
    counts, changes = table_counts(hub), change_bodies(hub)
    item = attribution([used.id], reference(69), 10)
    answer = receive(hub, make_attributions(region.d1, [item]))
    assert outcomes(answer) == [("refused", "invalid", 0)]
    assert answer["results"][0]["message"] == (
        f"Le carnet {used.id} a un pass déjà encaissé par la région (le 03/11/2026) : il a déjà "
        "servi, la région ne peut pas l'attribuer. Remettez un autre carnet."
    )
    assert carnet(hub, used.id).attributed_on is None
    assert change_bodies(hub) == changes
    assert table_counts(hub) == {**counts, "hub_attribution": counts["hub_attribution"] + 1}


def test_the_order_of_the_carnet_checks(region: Region) -> None:
    hub = region.hub
    five = issue(hub, ProgrammeSpec(id=PROGRAMME), carnets=1, size=5).carnets[0]
    revoke(hub, five.codes[0], "lost", date(2026, 11, 1))
    full = reference(70)
    attribute(hub, region.tens[0], full, date(2026, 10, 1))  # at the cap of 10
    items = [
        # A carnet already handed out: carnet_taken, before what the request was granted.
        attribution([region.tens[0]], reference(71), 10, accompanied=False),
        # More than granted, before the carnet's opposition.
        attribution([region.tens[1]], reference(72), 10, accompanied=False),
        # Unusable carnet or beyond the grant, before the cap.
        attribution([five.id], full, 5),
        attribution([region.tens[2]], full, 10, accompanied=False),
        attribution([region.fives[0]], full, 5),  # usable, granted: the cap
    ]
    answer = receive(hub, make_attributions(region.d1, items))
    assert outcomes(answer) == [
        ("refused", "carnet_taken", 0),
        ("refused", "invalid", 0),
        ("refused", "invalid", 10),
        ("refused", "invalid", 10),
        ("refused", "beneficiary_cap", 10),
    ]
    messages = [result["message"] for result in answer["results"]]
    assert messages[1].startswith("Demande faite seule")
    assert messages[2].startswith(f"Le carnet {five.id} a un pass en opposition (perdu)")
    assert messages[3].startswith("Demande faite seule")


def test_the_carnet_checks_read_the_database_once_per_document(region: Region) -> None:
    hub = region.hub
    fives = issue(hub, ProgrammeSpec(id=PROGRAMME), carnets=8, size=5).carnets
    revoke(hub, fives[7].codes[1], "stolen", date(2026, 11, 1))
    items = [
        attribution([fives[2 * n].id, fives[2 * n + 1].id], reference(80 + n), 10) for n in range(4)
    ]
    statements: list[str] = []

    def record(_conn, _cursor, statement, _parameters, _context, _executemany) -> None:
        statements.append(statement)

    event.listen(hub.engine, "before_cursor_execute", record)
    try:
        answer = receive(hub, make_attributions(region.d1, items))
    finally:
        event.remove(hub.engine, "before_cursor_execute", record)
    assert outcomes(answer) == [("accepted", None, 10)] * 3 + [("refused", "invalid", 0)]
    for table in ("hub_programme", "hub_revocation", "hub_used_pass"):
        assert len([s for s in statements if table in s]) == 1, table


# --- the rulebook -----------------------------------------------------------------------------


def test_the_hub_picks_the_rulebook_in_force(region: Region) -> None:
    items = [
        attribution([region.tens[0]], reference(13), 10, received_on="2019-06-30"),
        # The 2020 version has no lycée category.
        attribution([region.tens[1]], reference(14), 10, received_on="2021-03-01",
                    category="lycee", establishment=LYCEE),
        # The 2022 version: lycée criteria not set yet.
        attribution([region.tens[2]], reference(15), 10, received_on="2022-06-01",
                    category="lycee", establishment=LYCEE),
        # The 2022 version, outside the experiment's window.
        attribution([region.tens[3]], reference(16), 10, received_on="2026-11-10",
                    category="lycee", establishment=LYCEE),
        # The site said another version: the hub's choice counts. The 2020 version grants a
        # carnet of 5 per request (a second on a new request), even accompanied: not 10.
        attribution([region.tens[4]], reference(17), 10, received_on="2021-03-01",
                    rulebook="hdf-2022-02"),
        attribution([region.fives[0]], reference(17), 5, received_on="2021-03-01",
                    rulebook="hdf-2022-02"),
    ]  # fmt: skip
    answer = receive(region.hub, make_attributions(region.d1, items))
    assert outcomes(answer) == [
        ("refused", "no_rulebook", 0),
        ("refused", "no_rulebook", 0),
        ("refused", "no_rulebook", 0),
        ("refused", "no_rulebook", 0),
        ("refused", "invalid", 0),
        ("accepted", None, 5),
    ]
    messages = [item["message"] for item in answer["results"]]
    assert messages[0] == (
        "Aucun règlement d'attribution n'était en vigueur le 30/06/2019, jour de réception de "
        "la demande."
    )
    assert messages[1] == (
        "La catégorie « lycee » n'est pas prévue par le règlement en vigueur le 01/03/2021 "
        "(hdf-2020-07)."
    )
    assert messages[2] == PENDING
    assert "du 01/01/2022 au 31/12/2022" in messages[3]
    assert messages[4] == (
        "Demande accompagnée par un prescripteur : le règlement hdf-2020-07 prévoit au plus 5 "
        "pass par demande (un carnet de 5 ; un second carnet sur une nouvelle demande), mais "
        "cette attribution en remet 10."
    )
    assert stored(region.hub)[items[5]["id"]].rulebook == "hdf-2022-02"  # as the site sent it


def test_the_lycee_quota_of_4000_passes_stops_the_request_that_would_pass_it(
    world: World,
) -> None:
    hub = world.hub
    distributor = enrol(hub, DISTRIBUTOR_1, "PIMMS", distributor=True)
    tens = [c.id for c in issue(hub, ProgrammeSpec(id=PROGRAMME), carnets=400, size=10).carnets]
    fives = [c.id for c in issue(hub, ProgrammeSpec(id=PROGRAMME), carnets=2, size=5).carnets]
    books = [*default_rulebooks()[:-1], lycee_book()]
    assert books[-1].categories["lycee"].experiment.max_passes == 4000

    def lycee(carnets: list[str], number: int, passes: int, on: str = "2022-03-01") -> dict:
        return attribution(
            carnets, reference(number), passes, category="lycee", received_on=on,
            establishment=LYCEE, attributed_at=f"{on}T09:00:00Z",
        )  # fmt: skip

    # 3,990 passes in one document, then 5 more: 3,995.
    first = [lycee([carnet_id], n, 10) for n, carnet_id in enumerate(tens[:399])]
    first.append(lycee([fives[0]], 399, 5))
    answer = receive(hub, make_attributions(distributor, first), rulebooks=books)
    assert {outcome for outcome in outcomes(answer)} == {
        ("accepted", None, 10),
        ("accepted", None, 5),
    }
    # 10 more would make 4,005: refused; 5 more make exactly 4,000: accepted; then nothing.
    # A job seeker's request (another category) is not counted against the quota.
    second = [
        lycee([tens[399]], 400, 10),
        lycee([fives[1]], 401, 5),
        attribution([tens[399]], reference(402), 10, received_on="2022-03-01"),
    ]
    answer = receive(hub, make_attributions(distributor, second), rulebooks=books)
    assert outcomes(answer) == [
        ("refused", "lycee_cap", 0),
        ("accepted", None, 5),
        ("accepted", None, 10),
    ]
    assert answer["results"][0]["message"] == (
        "Lycéen·ne (expérimentation 2022) : le plafond de 4 000 pass de l'expérimentation est "
        "atteint dans la région (3 995 pass déjà attribués, 5 pass restants)."
    )
    # Outside the window, a lycée request is not the experiment's.
    late = receive(
        hub,
        make_attributions(distributor, [lycee([fives[1]], 403, 5, on="2023-01-02")]),
        rulebooks=books,
    )
    assert outcomes(late) == [("refused", "no_rulebook", 0)]


# --- idempotence ------------------------------------------------------------------------------


def test_posting_again_returns_the_same_results_and_changes_nothing(region: Region) -> None:
    hub = region.hub
    document = make_attributions(
        region.d1,
        [
            attribution([region.tens[0]], reference(20), 10),
            attribution([region.tens[0]], reference(21), 10),
        ],
    )
    first = receive(hub, document)
    counts, changes = table_counts(hub), change_bodies(hub)
    again = receive(hub, document)
    assert again["results"] == first["results"]
    assert (table_counts(hub), change_bodies(hub)) == (counts, changes)
    # The same id with another body: its stored result, whatever the body says.
    changed = copy.deepcopy(document["attributions"][1])
    changed.update(carnets=[region.tens[1]], beneficiary_ref=reference(22))
    fresh = attribution([region.fives[0]], reference(23), 5)
    mixed = receive(hub, make_attributions(region.d1, [changed, fresh]))
    assert mixed["results"][0] == first["results"][1]
    assert outcomes(mixed) == [("refused", "carnet_taken", 0), ("accepted", None, 5)]
    assert carnet(hub, region.tens[1]).attributed_on is None
    assert len(stored(hub)) == 3


def test_an_id_another_site_already_used_is_refused_and_changes_nothing(region: Region) -> None:
    hub = region.hub
    taken, refused = random_id(), random_id()
    first = receive(
        hub,
        make_attributions(
            region.d1,
            [
                attribution([region.tens[0]], reference(24), 10, attribution_id=taken),
                attribution(["C9999999"], reference(25), 10, attribution_id=refused),
            ],
        ),
    )
    assert outcomes(first) == [("accepted", None, 10), ("refused", "carnet_unknown", 0)]
    rows_before = {row_id: row.model_dump() for row_id, row in stored(hub).items()}
    counts, changes = table_counts(hub), change_bodies(hub)
    # Another distributor posts the same ids (with carnets of its own), and a fresh one.
    fresh = attribution([region.fives[0]], reference(26), 5)
    document = make_attributions(
        region.d2,
        [
            attribution([region.tens[1]], reference(24), 10, attribution_id=taken),
            attribution([region.tens[2]], reference(27), 10, attribution_id=refused),
            fresh,
        ],
    )
    answer = receive(hub, document)
    assert outcomes(answer) == [
        ("refused", "invalid", 10),
        ("refused", "invalid", 0),
        ("accepted", None, 5),
    ]
    for result in answer["results"][:2]:
        assert result["message"].startswith("Identifiant déjà utilisé par un autre site")
        assert DISTRIBUTOR_1 not in result["message"]
    # Nothing of the first site's attributions changed; the other site's carnets are not
    # handed out; only the fresh attribution is stored (with its carnet and change).
    after = stored(hub)
    assert {row_id: after[row_id].model_dump() for row_id in rows_before} == rows_before
    assert carnet(hub, region.tens[0]).beneficiary_ref == reference(24)
    assert carnet(hub, region.tens[1]).attributed_on is None
    assert carnet(hub, region.tens[2]).attributed_on is None
    assert set(after) == {taken, refused, fresh["id"]}
    assert table_counts(hub) == {
        **counts,
        "hub_attribution": counts["hub_attribution"] + 1,
        "hub_change": counts["hub_change"] + 1,
    }
    assert change_bodies(hub)[: len(changes)] == changes
    # The same document again: the same answer (the fresh one is now this site's own).
    assert receive(hub, document)["results"] == answer["results"]
    # The first site still gets its own stored result back.
    replay = attribution(["C9999999"], reference(25), 10, attribution_id=taken)
    again = receive(hub, make_attributions(region.d1, [replay]))
    assert again["results"][0] == first["results"][0]


# --- documents refused as a whole -------------------------------------------------------------


def test_a_site_that_is_not_a_distributor_is_refused(region: Region) -> None:
    hub, plain = region.hub, region.world.sites[SITE_A]
    before = table_counts(hub)
    document = make_attributions(plain, [attribution([region.tens[0]], reference(30), 10)])
    with pytest.raises(Forbidden, match="La région n'a pas fait du site AVESNES-EPN un site"):
        hub_receive_attributions(hub, document, plain.id)
    with pytest.raises(Forbidden, match="n'a pas fait du site AVESNES-EPN un site distributeur"):
        hub_receive_attributions(hub, document)  # by file: the document's own site
    assert table_counts(hub) == before


def test_a_document_of_another_site_is_refused(region: Region) -> None:
    document = make_attributions(
        region.d1, [attribution([region.tens[0]], reference(31), 10)], site_id=DISTRIBUTOR_2
    )
    with pytest.raises(Forbidden, match=f"celles du site {DISTRIBUTOR_2}"):
        hub_receive_attributions(region.hub, document, DISTRIBUTOR_1)


def test_a_tampered_or_foreign_document_is_refused_and_nothing_is_stored(region: Region) -> None:
    hub = region.hub
    before = table_counts(hub)
    document = make_attributions(region.d1, [attribution([region.tens[0]], reference(32), 5)])
    tampered = copy.deepcopy(document)
    tampered["attributions"][0]["passes"] = 10  # made to look consistent after signing
    with pytest.raises(ProtocolError, match="Signature invalide"):
        hub_receive_attributions(hub, tampered, DISTRIBUTOR_1)
    signed_by_other = sign_document(
        {k: v for k, v in document.items() if k != "signature"},
        region.d2.key,
        f"site:{DISTRIBUTOR_1}",
    )
    with pytest.raises(ProtocolError, match="Signature invalide"):
        hub_receive_attributions(hub, signed_by_other, DISTRIBUTOR_1)
    foreign = make_attributions(region.d1, document["attributions"], region_id="NORMANDIE")
    with pytest.raises(ProtocolError, match="destinées à la région « NORMANDIE », pas à HDF"):
        hub_receive_attributions(hub, foreign, DISTRIBUTOR_1)
    assert table_counts(hub) == before


def bad(item_changes: dict[str, Any]) -> dict[str, Any]:
    return {**attribution(["C0000001"], reference(40), 10), **item_changes}


@pytest.mark.parametrize(
    ("items", "message"),
    [
        ([bad({"id": "1234"})], "Attribution n° 1 : identifiant (id) invalide"),
        ([bad({"beneficiary_ref": "Camille Martin"})], "référence du bénéficiaire"),
        ([bad({"beneficiary_ref": reference(1).lower()})], "référence du bénéficiaire"),
        ([bad({"received_on": "02/03/2026"})], "date de réception (received_on) invalide"),
        ([bad({"received_on": "2026-02-30"})], "date de réception (received_on) invalide"),
        ([bad({"attributed_at": "2026-03-02T10:00"})], "date d'attribution (attributed_at)"),
        ([bad({"accompanied": "oui"})], "accompanied doit valoir true ou false"),
        ([bad({"carnets": "C0000001"})], "liste de carnets (carnets) invalide"),
        ([bad({"passes": "10"})], "nombre de pass (passes) invalide"),
        ([bad({"category": ""})], "category invalide"),
        ([{k: v for k, v in bad({}).items() if k != "rulebook"}], "manquant(s) : rulebook"),
        ([bad({"id": "a" * 32}), bad({"id": "a" * 32})], "figure deux fois dans le document"),
        ([bad({})] * (MAX_ATTRIBUTIONS_PER_DOCUMENT + 1), "dans un document : 1 000 au plus"),
    ],
    ids=[
        "id", "ref", "ref-lower", "french-date", "30-february", "naive-instant", "accompanied",
        "carnets-string", "passes-text", "category-empty", "missing-field", "same-id-twice",
        "too-many",
    ],
)  # fmt: skip
def test_a_malformed_document_is_refused(region: Region, items, message) -> None:
    before = table_counts(region.hub)
    document = make_attributions(region.d1, items)
    with pytest.raises(ProtocolError) as caught:
        hub_receive_attributions(region.hub, document, DISTRIBUTOR_1)
    assert message in str(caught.value)
    assert table_counts(region.hub) == before


# --- distributors, the enrolment answer and the beneficiary key -------------------------------


def test_only_a_distributor_receives_the_beneficiary_key(region: Region) -> None:
    hub = region.hub
    validate(region.d1.answer, "enrolment")
    assert decode_key(region.d1.answer["beneficiary_key"]) == hub.beneficiary_key
    plain = region.world.sites[SITE_A].answer
    validate(plain, "enrolment")
    assert "beneficiary_key" not in plain
    # Enrolling again without saying keeps what the site is; False makes it a plain site.
    again = enrol(hub, DISTRIBUTOR_1, "PIMMS du Cateau-Cambrésis")
    assert decode_key(again.answer["beneficiary_key"]) == hub.beneficiary_key
    assert site_record(hub, DISTRIBUTOR_1).distributor is True
    enrol_site(hub, DISTRIBUTOR_1, "PIMMS", distributor=False)
    assert site_record(hub, DISTRIBUTOR_1).distributor is False
    plain_again = enrol(hub, SITE_A, "EPN d'Avesnes-sur-Helpe", distributor=True)
    assert decode_key(plain_again.answer["beneficiary_key"]) == hub.beneficiary_key


def test_the_beneficiary_key_file_is_private_and_stable(
    settings: HubSettings, world, capsys
) -> None:
    path = settings.directory / BENEFICIARY_KEY_FILENAME
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    key = path.read_bytes()
    assert len(key) == 32 and key == world.hub.beneficiary_key
    reopened = open_hub(settings)
    try:
        assert reopened.beneficiary_key == key
    finally:
        reopened.engine.dispose()
    assert main(["--dir", str(settings.directory), "--db", settings.database_url, "init",
                 "--region-id", "HDF"]) == 0  # fmt: skip
    assert f"Clé des bénéficiaires : {path} (à sauvegarder" in capsys.readouterr().out
    assert path.read_bytes() == key


def test_the_loser_of_a_race_for_the_key_file_reads_the_winners(
    tmp_path: Path, monkeypatch
) -> None:
    path = tmp_path / BENEFICIARY_KEY_FILENAME
    winner = os.urandom(32)
    real_link = os.link

    def link_after_the_winner(source, target):  # the other process links first
        Path(target).write_bytes(winner)
        return real_link(source, target)

    monkeypatch.setattr(os, "link", link_after_the_winner)
    assert load_or_create_beneficiary_key(path) == winner
    assert sorted(p.name for p in tmp_path.iterdir()) == [BENEFICIARY_KEY_FILENAME]


_LOAD = """
import sys
from pathlib import Path
from mediateur_tui.hub.database import load_or_create_beneficiary_key
print(load_or_create_beneficiary_key(Path(sys.argv[1])).hex())
"""


def test_processes_racing_for_the_key_file_all_get_the_same_key(tmp_path: Path) -> None:
    path = tmp_path / "hub" / BENEFICIARY_KEY_FILENAME
    arguments = [sys.executable, "-c", _LOAD, str(path)]
    processes = [
        subprocess.Popen(arguments, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        for _ in range(4)
    ]
    results = [process.communicate(timeout=60) for process in processes]
    assert [stderr for _out, stderr in results] == [""] * 4
    keys = {out.strip() for out, _err in results}
    assert keys == {path.read_bytes().hex()}
    assert sorted(p.name for p in path.parent.iterdir()) == [BENEFICIARY_KEY_FILENAME]


def test_enrol_site_command_says_whether_the_site_is_a_distributor(
    settings: HubSettings, world, capsys
) -> None:
    base = ["--dir", str(settings.directory), "--db", settings.database_url, "enrol-site"]

    def enrol_by_command(*options: str) -> str:
        assert main([*base, "--site-id", "LILLE-CCAS", "--name", "CCAS", "--no-qr", *options]) == 0
        return capsys.readouterr().out

    assert "Site distributeur : non." in enrol_by_command()
    assert "Site distributeur : oui" in enrol_by_command("--distributeur")
    assert "Site distributeur : oui" in enrol_by_command()  # unchanged
    assert "Site distributeur : non." in enrol_by_command("--no-distributeur")
    assert site_record(world.hub, "LILLE-CCAS").distributor is False


def test_refused_attributions_keep_the_other_results_of_the_document(region: Region) -> None:
    hub = region.hub
    items = [
        attribution(["C9999999"], reference(50), 10),
        attribution([region.tens[0]], reference(50), 10, attribution_id=random_id()),
    ]
    answer = receive(hub, make_attributions(region.d1, items))
    assert outcomes(answer) == [("refused", "carnet_unknown", 0), ("accepted", None, 10)]
    rows = stored(hub)
    assert [rows[item["id"]].verdict for item in items] == ["refused", "accepted"]
