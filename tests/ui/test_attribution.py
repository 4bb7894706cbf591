"""The distributor's desk driven by a Pilot at 80×24, on the demo (a distributor site): who may
open it, the request and its decision, the carnets scanned, the record and its receipt, and
that no name is ever written anywhere."""

from __future__ import annotations

import base64
import logging
import re
import zlib
from dataclasses import replace

from sqlmodel import Session, col, select
from textual.widgets import Checkbox, DataTable, Input, Select

from mediateur_tui.domain.beneficiaries import beneficiary_reference, format_reference
from mediateur_tui.domain.clock import fixed_clock
from mediateur_tui.domain.roles import REFUSALS
from mediateur_tui.domain.rulebooks import Grant, load_rulebooks
from mediateur_tui.services.attribution import NOT_A_DISTRIBUTOR, AttributionDesk
from mediateur_tui.services.demo import DEMO_BENEFICIARY
from mediateur_tui.store.keys import BENEFICIARY_KEY_FILENAME, load_beneficiary_key
from mediateur_tui.store.models import Carnet, PassRecord
from mediateur_tui.store.sqlite_file import DATABASE_FILENAME
from mediateur_tui.ui.screens.attribution_cancel import AttributionCancelScreen
from mediateur_tui.ui.screens.attribution_carnets import AttributionCarnetsScreen
from mediateur_tui.ui.screens.attribution_request import AttributionRequestScreen
from mediateur_tui.ui.screens.attributions import AttributionsScreen
from mediateur_tui.ui.screens.help import HelpScreen
from mediateur_tui.ui.screens.home import HomeScreen

from .helpers import (
    DISTRIBUTOR,
    NOW,
    SIZE,
    count_bells,
    footer_keys,
    keys_back_to_back,
    log_in,
    notifications,
    scan,
    settle,
    text_of,
    type_text,
)

KARIM = ("5678", "Karim Benali")
# Carnets of the demo's stock (unattributed): four of 10 passes, then four of 5.
TEN, FIVE = "C0000017", "C0000021"
SENIOR = {"last": "Martin", "first": "Paul", "birth": "02/05/1950", "category": "senior"}
JEANNE = {"last": "Dupont", "first": "Jeanne", "birth": "14/03/1958", "category": "senior"}
BOTH_PROOFS = ("residence", "age_proof")
NAME_BYTES = (b"Dupont", b"DUPONT", b"Jeanne", b"JEANNE")


def shown(app, selector: str) -> str:
    return text_of(app.screen.query_one(selector))


def desk(demo) -> AttributionDesk:
    return AttributionDesk(demo.engine, demo.data_dir, fixed_clock(NOW))


def pass_codes(demo, carnet_id: str) -> list[str]:
    with Session(demo.engine) as session:
        codes = session.exec(
            select(PassRecord.code)
            .join(Carnet, col(Carnet.ref) == col(PassRecord.carnet_ref))
            .where(Carnet.id == carnet_id)
        )
        return list(codes.all())


async def open_request(pilot, who: tuple[str, str] = DISTRIBUTOR) -> AttributionRequestScreen:
    await log_in(pilot, *who)
    assert isinstance(pilot.app.screen, HomeScreen)
    await pilot.press("a")
    await settle(pilot)
    assert isinstance(pilot.app.screen, AttributionRequestScreen)
    return pilot.app.screen


async def fill(
    pilot,
    person: dict[str, str],
    proofs: tuple[str, ...] = BOTH_PROOFS,
    postcode: str = "59440",
    accompanied: bool = False,
) -> None:
    """Fills the request form (as a distributor would, field by field) and waits for the
    decision."""
    screen = pilot.app.screen
    screen.query_one("#last-name", Input).value = person["last"]
    screen.query_one("#first-name", Input).value = person["first"]
    screen.query_one("#birth-date", Input).value = person["birth"]
    screen.query_one("#postcode", Input).value = postcode
    screen.query_one("#category", Select).value = person["category"]
    await settle(pilot)
    screen.query_one("#accompanied", Checkbox).value = accompanied
    for token in proofs:
        screen.query_one(f"#proof-{token}", Checkbox).value = True
    await settle(pilot)


def decision(app) -> str:
    return shown(app, "#decision")


def pdf_text(data: bytes) -> bytes:
    """The content streams of a reportlab PDF, decoded (ASCII85, then Flate)."""
    parts = [data]
    for stream in re.findall(rb"stream\r?\n(.*?)endstream", data, re.DOTALL):
        try:
            parts.append(zlib.decompress(base64.a85decode(stream.strip().removesuffix(b"~>"))))
        except (ValueError, zlib.error):
            parts.append(stream)
    return b"\n".join(parts)


# --- who may --------------------------------------------------------------------------------


async def test_a_distributeur_has_the_carnets_key_and_no_sessions(demo, monkeypatch):
    app = demo.app()
    async with app.run_test(size=SIZE) as pilot:
        bells = count_bells(monkeypatch, app)
        await log_in(pilot, *DISTRIBUTOR)
        assert isinstance(app.screen, HomeScreen)
        assert footer_keys(app) == (
            "v Vérifier h Historique s Synchro a Carnets t Activité d Déconnexion f1 Aide"
        )
        assert "a pour vérifier les droits" in shown(app, "#open-session")
        await pilot.press("n")
        await settle(pilot)
        assert isinstance(app.screen, HomeScreen)
        assert notifications(app) == [
            "Les séances sont réservées aux médiateur·rices et aux responsables du lieu : "
            "connectez-vous avec l'un de leurs comptes."
        ]
        assert len(bells) == 1
        commands = {c.title: c.help for c in app.get_system_commands(app.screen)}
        assert commands["Attribuer des carnets"] == "Touche A"
        assert not any("séance" in title.casefold() for title in commands)


async def test_a_mediatrice_is_refused_the_carnets(demo, monkeypatch):
    app = demo.app()
    async with app.run_test(size=SIZE) as pilot:
        bells = count_bells(monkeypatch, app)
        await log_in(pilot)  # Camille, médiatrice
        assert footer_keys(app) == (
            "n Séance v Vérifier h Historique s Synchro t Activité d Déconnexion f1 Aide"
        )
        commands = {c.title for c in app.get_system_commands(app.screen)}
        assert "Attribuer des carnets" not in commands
        await pilot.press("a")
        await settle(pilot)
        assert isinstance(app.screen, HomeScreen)
        assert notifications(app) == [
            "L'attribution de carnets est réservée aux distributeur·rices et aux responsables "
            "du lieu : connectez-vous avec l'un de leurs comptes."
        ]
        assert len(bells) == 1
        # Even opened some other way, the screen refuses and offers nothing.
        app.push_screen(AttributionRequestScreen(app.context))
        await settle(pilot)
        assert shown(app, "#request-unavailable") == REFUSALS["attribution"]
        assert not app.screen.query_one("#request-form").display
        assert footer_keys(app) == "esc Retour f1 Aide"


async def test_a_responsable_has_the_key_in_f1_and_the_palette(demo):
    app = demo.app()
    async with app.run_test(size=SIZE) as pilot:
        await log_in(pilot, *KARIM)
        # 80 columns: the responsable's own keys are there, Vérifier and Synchro left to F1.
        assert footer_keys(app) == (
            "n Séance h Historique a Carnets m Fin de mois r Rapprocher d Déconnexion f1 Aide"
        )
        await pilot.resize_terminal(120, 24)
        await settle(pilot)
        assert footer_keys(app) == (
            "n Séance v Vérifier h Historique s Synchro a Carnets m Fin de mois r Rapprocher "
            "t Activité d Déconnexion f1 Aide"
        )
        await pilot.resize_terminal(*SIZE)
        await settle(pilot)
        commands = {c.title: c.help for c in app.get_system_commands(app.screen)}
        assert commands["Attribuer des carnets"] == "Touche A"
        await pilot.press("f1")
        await settle(pilot)
        help_text = "\n".join(text_of(static) for static in app.screen.query("#help Static"))
        assert "A  Attribuer des carnets" in help_text
        await pilot.press("escape", "a")
        await settle(pilot)
        assert isinstance(app.screen, AttributionRequestScreen)
        assert app.screen.query_one("#request-form").display


async def test_a_site_without_the_beneficiary_key_says_why_and_nothing_else(demo):
    (demo.data_dir / BENEFICIARY_KEY_FILENAME).unlink()
    app = demo.app()
    async with app.run_test(size=SIZE) as pilot:
        await open_request(pilot)
        assert shown(app, "#request-unavailable") == NOT_A_DISTRIBUTOR
        assert not app.screen.query_one("#request-form").display
        assert not app.screen.query_one("#decision").display
        assert footer_keys(app) == "esc Retour f1 Aide"
        await pilot.press("ctrl+s")
        await settle(pilot)
        assert isinstance(app.screen, AttributionRequestScreen)
        await pilot.press("escape")
        await settle(pilot)
        assert isinstance(app.screen, HomeScreen)


# --- the request ----------------------------------------------------------------------------


async def test_quick_typing_with_tab_and_enter_fills_each_field(demo):
    """Keys queued back to back: the focus moves while Tab (or Enter) is dispatched, so the
    keys typed right after it go to the next field, not to the one left."""
    app = demo.app()
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_request(pilot)
        keys_back_to_back(app, *"Duranf", "backspace", "d", "tab", *"Paul", "enter")
        keys_back_to_back(app, *"02/05/1950", "shift+tab", "end", "e")
        await settle(pilot)
        values = [
            screen.query_one(selector, Input).value
            for selector in ("#last-name", "#first-name", "#birth-date")
        ]
        assert values == ["Durand", "Paule", "02/05/1950"]
        assert app.focused is screen.query_one("#first-name")


async def test_the_form_says_what_is_missing_or_wrong_instead_of_a_decision(demo):
    app = demo.app()
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_request(pilot)
        assert screen.query_one("#received-on", Input).value == "28/11/2026"  # today
        assert decision(app) == (
            "Pour décider, complétez : le nom, le prénom, la date de naissance, la catégorie, "
            "le code postal."
        )
        # Typed, as at the desk: Enter goes on to the next field.
        await type_text(pilot, "Dupont")
        await pilot.press("enter")
        await type_text(pilot, "Jeanne")
        await pilot.press("enter")
        await type_text(pilot, "31/02/1958")
        await settle(pilot)
        assert screen.query_one("#first-name", Input).value == "Jeanne"
        assert decision(app) == (
            "Date de naissance : date JJ/MM/AAAA attendue (par exemple 14/03/1958).\n"
            "Pour décider, complétez : la catégorie, le code postal."
        )
        screen.query_one("#birth-date", Input).value = "14/03/1958"
        screen.query_one("#received-on", Input).value = "15/06/2019"  # before any règlement
        screen.query_one("#postcode", Input).value = "594"
        await settle(pilot)
        assert decision(app) == (
            "Code postal : 5 chiffres.\n"
            "Aucun règlement d'attribution n'était en vigueur le 15/06/2019 : vérifiez la date "
            "de réception de la demande.\n"
            "Pour décider, complétez : la catégorie."
        )
        assert screen.query_one("#decision").has_class("idle")
        await pilot.press("ctrl+s")
        await settle(pilot)
        assert isinstance(app.screen, AttributionRequestScreen)


async def test_a_senior_alone_with_both_proofs_gets_one_carnet_of_five(demo, monkeypatch):
    app = demo.app()
    async with app.run_test(size=SIZE) as pilot:
        bells = count_bells(monkeypatch, app)
        screen = await open_request(pilot)
        await fill(pilot, SENIOR, proofs=("residence",))
        # The checklist of the category: residence, then the proof of age.
        boxes = [box.id for box in screen.query("#proofs Checkbox")]
        assert boxes == ["proof-residence", "proof-age_proof"]
        text = decision(app)
        assert text.startswith("✘  DEMANDE REFUSÉE")
        assert "Justificatif manquant : un justificatif d'âge (pièce d'identité)." in text
        assert screen.query_one("#proof-age_proof").has_class("missing")
        assert screen.query_one("#decision").has_class("bad")
        await pilot.press("ctrl+s")
        await settle(pilot)
        assert isinstance(app.screen, AttributionRequestScreen)
        assert notifications(app)[-1] == "La demande n'est pas acceptée : aucun carnet à remettre."
        assert len(bells) == 1

        screen.query_one("#proof-age_proof", Checkbox).value = True
        await settle(pilot)
        text = decision(app)
        assert text.startswith("✔  DEMANDE ACCEPTÉE : un carnet de 5 pass")
        assert "déjà reçus : 0 pass (connus ici)" in text
        assert "Demande faite seule : un carnet de 5 pass (5 pass)." in text
        assert screen.query_one("#decision").has_class("good")
        assert not screen.query_one("#proof-age_proof").has_class("missing")

        # Accompanied by a prescripteur: one carnet of 10.
        screen.query_one("#accompanied", Checkbox).value = True
        await settle(pilot)
        assert decision(app).startswith("✔  DEMANDE ACCEPTÉE : un carnet de 10 pass")

        # Removing a proof refuses again, and names it.
        screen.query_one("#proof-residence", Checkbox).value = False
        await settle(pilot)
        text = decision(app)
        assert text.startswith("✘  DEMANDE REFUSÉE")
        assert "Justificatif manquant : un justificatif de domicile en Hauts-de-France." in text


async def test_the_checklist_follows_the_category_and_keeps_what_was_ticked(demo):
    app = demo.app()
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_request(pilot)
        await fill(pilot, SENIOR)
        screen.query_one("#category", Select).value = "youth_insertion"
        await settle(pilot)
        rows = [text_of(row) for row in screen.query("#proofs Label")]
        boxes = [box.id for box in screen.query("#proofs Checkbox")]
        assert boxes == [
            "proof-residence",
            "proof-age_proof",
            "proof-internship_certificate",
            "proof-mission_locale_certificate",
        ]
        assert rows.count("ou") == 1  # the two certificates are alternatives
        assert screen.query_one("#proof-age_proof", Checkbox).value  # still ticked

        screen.query_one("#category", Select).value = "job_seeker"
        await settle(pilot)
        assert [box.id for box in screen.query("#proofs Checkbox")] == [
            "proof-residence",
            "proof-job_seeker_certificate",
        ]
        screen.query_one("#proof-job_seeker_certificate", Checkbox).value = True
        field = screen.query_one("#proof-date-job_seeker_certificate", Input)
        field.value = "01/07/2026"  # more than 3 months before the request
        await settle(pilot)
        assert "plus de 3 mois avant la demande" in decision(app)
        field.value = "02/11/2026"
        await settle(pilot)
        assert decision(app).startswith("✔  DEMANDE ACCEPTÉE : un carnet de 5 pass")

        screen.query_one("#category", Select).value = "senior"
        await settle(pilot)
        assert screen.query_one("#proof-age_proof", Checkbox).value  # ticked before, kept
        assert decision(app).startswith("✔  DEMANDE ACCEPTÉE")


# --- handing out --------------------------------------------------------------------------


async def test_jeanne_gets_a_carnet_up_to_the_cap_then_no_more(demo, monkeypatch, caplog):
    caplog.set_level(logging.DEBUG)
    reference = beneficiary_reference(DEMO_BENEFICIARY, load_beneficiary_key(demo.data_dir))
    app = demo.app()
    async with app.run_test(size=SIZE) as pilot:
        bells = count_bells(monkeypatch, app)
        await open_request(pilot)
        await fill(pilot, JEANNE)
        text = decision(app)
        assert text.startswith("✔  DEMANDE ACCEPTÉE : un carnet de 5 pass")
        assert f"Réf. {format_reference(reference)} · déjà reçus : 5 pass (connus ici)" in text

        await pilot.press("ctrl+s")
        await settle(pilot)
        assert isinstance(app.screen, AttributionCarnetsScreen)
        assert shown(app, "#carnets-title").startswith("À remettre : un carnet de 5 pass")
        assert footer_keys(app) == "esc Abandonner f1 Aide"

        await scan(pilot, TEN)  # the carnet number, typed
        answer = shown(app, "#carnet-answer")
        assert answer == "✘  CARNET REFUSÉ\nCarnet C0000017 de 10 pass : la décision prévoit 5."
        assert app.screen.query_one("#carnet-answer").has_class("bad")
        assert len(bells) == 1

        await scan(pilot, pass_codes(demo, FIVE)[2])  # any pass of the carnet
        assert isinstance(app.screen, AttributionCarnetsScreen)
        assert len(bells) == 1
        answer = shown(app, "#carnet-answer")
        assert answer.startswith("✔  ATTRIBUTION ENREGISTRÉE")
        assert "État : à envoyer à la région" in answer
        assert footer_keys(app).startswith("esc Accueil")

        recorded = desk(demo).recent()
        assert len(recorded) == 1
        info = recorded[0]
        assert info.beneficiary_ref == reference
        assert [carnet.id for carnet in info.carnets] == [FIVE]
        assert info.passes == 5
        assert info.operator_name == "Nadia Lefèvre"
        assert info.status == "à envoyer à la région"
        receipts = list((demo.data_dir / "recus").glob("*.pdf"))
        assert len(receipts) == 1
        assert f"Reçu à imprimer et faire signer : {receipts[0]}" in answer.replace("\n", " ")
        receipt = receipts[0].read_bytes()
        assert receipt.startswith(b"%PDF")
        content = pdf_text(receipt)
        assert format_reference(reference).encode() in content  # the text is readable here
        assert not any(name in content for name in NAME_BYTES)

        await pilot.press("enter")
        await settle(pilot)
        assert isinstance(app.screen, HomeScreen)
        assert "1 attribution de carnets à envoyer" in shown(app, "#waiting")

        # A new request for her: 10 passes received, the cap.
        await pilot.press("a")
        await settle(pilot)
        await fill(pilot, JEANNE)
        text = decision(app)
        assert text.startswith("✘  DEMANDE REFUSÉE")
        assert "déjà reçus : 10 pass (connus ici)" in text
        assert "Le bénéficiaire a déjà reçu 10 pass : le plafond est de 10 pass par personne." in (
            text.replace("\n", " ")
        )

    # Her name was typed twice: it is nowhere on disk, nor in the log.
    database = demo.data_dir / DATABASE_FILENAME
    for path in (database, database.with_name(database.name + "-wal")):
        if path.exists():
            data = path.read_bytes()
            assert not any(name in data for name in NAME_BYTES), path.name
    assert reference.encode() in database.read_bytes() + (
        database.with_name(database.name + "-wal").read_bytes()
    )
    assert "Dupont" not in caplog.text and "Jeanne" not in caplog.text


async def test_a_carnet_already_handed_out_is_refused(demo, monkeypatch):
    app = demo.app()
    async with app.run_test(size=SIZE) as pilot:
        bells = count_bells(monkeypatch, app)
        await open_request(pilot)
        await fill(pilot, SENIOR)
        await pilot.press("ctrl+s")
        await settle(pilot)
        await scan(pilot, "carnet ?")
        assert shown(app, "#carnet-answer").startswith("✘  CARNET REFUSÉ")
        await scan(pilot, pass_codes(demo, "C0000001")[0])  # a carnet given long ago
        answer = shown(app, "#carnet-answer")
        assert answer.startswith("✘  CARNET REFUSÉ\nCarnet C0000001 déjà attribué le")
        assert len(bells) == 2
        assert desk(demo).recent() == []


async def test_a_failed_record_loses_nothing_and_says_why(demo):
    """Another distributor of this site hands her a carnet while the first one scans."""
    app = demo.app()
    async with app.run_test(size=SIZE) as pilot:
        request = await open_request(pilot)
        await fill(pilot, JEANNE)
        await pilot.press("ctrl+s")
        await settle(pilot)
        other = desk(demo)
        other.record(request.assessment, ["C0000022"], demo.operator("Karim Benali").id)

        await scan(pilot, FIVE)
        answer = shown(app, "#carnet-answer")
        assert answer.startswith("✘  RIEN N'A ÉTÉ ENREGISTRÉ\nLe bénéficiaire a reçu des carnets")
        assert "☐ un carnet de 5 pass : à scanner" in shown(app, "#carnets-list")
        assert [info.carnets[0].id for info in desk(demo).recent()] == ["C0000022"]

        await pilot.press("escape")  # nothing scanned any more: straight back
        await settle(pilot)
        assert app.screen is request
        assert request.query_one("#last-name", Input).value == "Dupont"  # the form is kept
        assert "déjà reçus : 10 pass (connus ici)" in decision(app)  # and decided again


async def test_escape_after_a_scan_asks_before_giving_up(demo, monkeypatch):
    """A règlement giving two carnets (10 + 5, up to 20 passes): one scanned, then Esc."""
    books = [
        replace(
            book,
            max_passes_per_beneficiary=20,
            accompanied=Grant((10, 5), second_carnet_on_request=False),
        )
        for book in load_rulebooks()
    ]
    app = demo.app()
    site = app.context.site
    monkeypatch.setattr(
        site,
        "attribution_desk",
        lambda: AttributionDesk(demo.engine, demo.data_dir, site.clock, books),
    )
    async with app.run_test(size=SIZE) as pilot:
        request = await open_request(pilot)
        await fill(pilot, SENIOR, accompanied=True)
        assert decision(app).startswith(
            "✔  DEMANDE ACCEPTÉE : un carnet de 10 + un carnet de 5 pass"
        )
        await pilot.press("ctrl+s")
        await settle(pilot)
        await scan(pilot, TEN)
        assert shown(app, "#carnet-answer").startswith("✔  CARNET BON")
        listing = shown(app, "#carnets-list")
        assert "☑ Carnet C0000017 : 10 pass" in listing
        assert "☐ un carnet de 5 pass : à scanner" in listing

        await pilot.press("escape")
        await settle(pilot)
        assert isinstance(app.screen, AttributionCancelScreen)
        await pilot.press("escape")  # go on with the hand-out
        await settle(pilot)
        assert isinstance(app.screen, AttributionCarnetsScreen)
        await pilot.press("escape")
        await settle(pilot)
        await pilot.press("enter")  # give up
        await settle(pilot)
        assert app.screen is request
        assert desk(demo).recent() == []


async def test_the_list_of_attributions_and_a_receipt_written_again(demo):
    reference = beneficiary_reference(DEMO_BENEFICIARY, load_beneficiary_key(demo.data_dir))
    app = demo.app()
    async with app.run_test(size=SIZE) as pilot:
        request = await open_request(pilot)
        await fill(pilot, JEANNE)
        site = desk(demo)
        site.record(request.assessment, [FIVE], demo.operator("Nadia Lefèvre").id)
        await pilot.press("f3")
        await settle(pilot)
        assert isinstance(app.screen, AttributionsScreen)
        table = app.screen.query_one("#attributions", DataTable)
        assert [str(cell) for cell in table.get_row_at(0)] == [
            "28/11/26 10:30",
            format_reference(reference),
            "5",
            "à envoyer",
        ]
        assert shown(app, "#attributions-count") == (
            "1 attribution, dont 1 à envoyer à la région (synchronisation)"
        )
        detail = shown(app, "#attribution-detail")
        assert "Nadia Lefèvre : C0000021 (5 pass)" in detail
        assert "Personne de 60 ans ou plus (règlement hdf-2022-02)" in detail
        assert not (demo.data_dir / "recus").exists()
        await pilot.press("p")
        await settle(pilot)
        receipts = list((demo.data_dir / "recus").glob("*.pdf"))
        assert len(receipts) == 1
        assert notifications(app)[-1] == f"Reçu écrit : {receipts[0]}"


async def test_f1_on_the_request_lists_its_keys_without_the_verdicts_of_passes(demo):
    app = demo.app()
    async with app.run_test(size=SIZE) as pilot:
        await open_request(pilot)
        await pilot.press("f1")
        await settle(pilot)
        assert isinstance(app.screen, HelpScreen)
        help_text = "\n".join(text_of(static) for static in app.screen.query("#help Static"))
        assert "Ctrl+S  Remettre les carnets (demande acceptée)" in help_text
        assert "F3  Attributions de ce lieu" in help_text
        assert "Échap  Retour" in help_text
        assert "ne sont jamais enregistrés" in help_text
        assert "verdicts" not in help_text
