"""Month end and reconciliation, for the responsable (Karim in the demo), with a fixed clock
(28 November 2026) and passes taken in October: close the month, export the batch for the
USB key, import the region's acknowledgement (signed with the demo region's key), read the
reconciliation; and the médiatrice (Camille) is kept out."""

from __future__ import annotations

import gzip
import json
from datetime import UTC, datetime

from textual.widgets import DataTable, Input, RadioSet

from mediateur_tui.domain.clock import fixed_clock
from mediateur_tui.services.batches import batch_document
from mediateur_tui.services.month_end import MonthEnd
from mediateur_tui.store.models import Batch
from mediateur_tui.ui.screens.close_month import CloseMonthScreen
from mediateur_tui.ui.screens.close_period import ClosePeriodScreen
from mediateur_tui.ui.screens.export_batches import ExportBatchesScreen
from mediateur_tui.ui.screens.home import HomeScreen
from mediateur_tui.ui.screens.month_end import MonthEndScreen
from mediateur_tui.ui.screens.path_prompt import PathPromptScreen
from mediateur_tui.ui.screens.reconciliation import ReconciliationScreen
from mediateur_tui.ui.screens.sync import SyncScreen

from .helpers import (
    NOW,
    PREVIOUS_MONTH,
    SIZE,
    bare,
    footer_keys,
    log_in,
    notifications,
    settle,
    text_of,
    type_text,
)
from .region import demo_ack, write_ack
from .test_flow import table_rows

KARIM = ("5678", "Karim Benali")
# The site that took the pass first, and when (17:45 in Paris).
WINNER = {"site_id": "FOURMIES-MEDIA", "redeemed_at": "2026-10-13T15:45:00Z"}


def shown(app, selector: str) -> str:
    return text_of(app.screen.query_one(selector))


async def open_month_end(pilot, logged_in: bool = False) -> MonthEndScreen:
    if not logged_in:
        await log_in(pilot, *KARIM)
    await pilot.press("m")
    await settle(pilot)
    assert isinstance(pilot.app.screen, MonthEndScreen)
    return pilot.app.screen


def close_october(demo) -> str:
    """Seals October through the service (as `close-month` does); returns the batch id."""
    return MonthEnd(demo.engine, demo.data_dir, fixed_clock(NOW)).close_month().batch_id


def acknowledge(demo, batch_id: str, path, conflict: bool = True):
    """The region's answer to the batch, as a file: the first line refused (conflict)."""
    document = batch_document(demo.engine, batch_id)
    first = document["redemptions"][0]["id"]
    refused = {first: ("conflict", WINNER)} if conflict else {}
    return write_ack(demo_ack(document, refused), path)


# --- who may --------------------------------------------------------------------------------


async def test_a_mediatrice_has_no_month_end(october):
    app = october.app()
    async with app.run_test(size=SIZE) as pilot:
        await log_in(pilot)  # Camille, médiatrice
        footer = "n Séance v Vérifier h Historique s Synchro t Activité d Déconnexion f1 Aide"
        assert footer_keys(app) == footer
        await pilot.press("m")
        await settle(pilot)
        assert isinstance(app.screen, HomeScreen)
        await pilot.press("r")
        await settle(pilot)
        assert isinstance(app.screen, HomeScreen)
        assert notifications(app) == [
            "La fin de mois est réservée aux responsables du lieu : connectez-vous avec un "
            "compte responsable.",
            "Le rapprochement des remises est réservé aux responsables du lieu : connectez-vous "
            "avec un compte responsable.",
        ]
        # Even opened some other way, the screen refuses and offers nothing.
        app.push_screen(MonthEndScreen(app.context))
        await settle(pilot)
        assert shown(app, "#month-message") == (
            "La fin de mois est réservée aux responsables du lieu."
        )
        assert footer_keys(app) == "esc Retour f1 Aide"
        await pilot.press("c")
        await settle(pilot)
        assert not isinstance(app.screen, (ClosePeriodScreen, CloseMonthScreen))
    assert october.rows(Batch) == []


async def test_the_responsable_sees_month_end_in_the_footer_and_the_palette(october):
    app = october.app()
    async with app.run_test(size=SIZE) as pilot:
        await log_in(pilot, *KARIM)
        # 80 columns: v and s are left to F1 and the palette.
        assert footer_keys(app) == (
            "n Séance h Historique a Carnets m Fin de mois r Rapprocher d Déconnexion f1 Aide"
        )
        commands = {command.title: command.help for command in app.get_system_commands(app.screen)}
        assert commands["Vérifier un pass sans l'encaisser"] == "Touche V"
        assert commands["Synchroniser avec la région"] == "Touche S"
        assert commands["Fin de mois : clore le mois, remises, accusés de réception"] == "Touche M"
        assert commands["Rapprochement de la dernière remise accusée par la région"] == "Touche R"
        screen = await open_month_end(pilot, logged_in=True)
        assert footer_keys(app) == (
            "c Clore le mois e Exporter i Importer accusé r Rapprochement esc Retour f1 Aide"
        )
        commands = {command.title for command in app.get_system_commands(screen)}
        assert {
            "Clore un mois, le précédent par défaut (sceller sa remise)",
            "Exporter des remises (clé USB)",
            "Importer un accusé de réception de la région",
            "Rapprochement de la remise sélectionnée (ou Entrée)",
            "Synchroniser avec la région (envoyer les remises, recevoir les accusés)",
            "Retour",
        } <= commands
        await pilot.press("f1")
        await settle(pilot)
        help_text = "\n".join(text_of(static) for static in app.screen.query("#help Static"))
        assert "S  Synchroniser avec la région" in help_text  # not in the footer, but here
        assert "Entrée sur une remise ouvre son rapprochement" in help_text
        await pilot.press("escape")
        await settle(pilot)
        await pilot.press("s")
        await settle(pilot)
        assert isinstance(app.screen, SyncScreen)
        await pilot.press("escape")
        await settle(pilot)
        assert app.screen is screen


# --- closing the month ----------------------------------------------------------------------


async def test_closing_last_month_seals_its_passes_after_a_confirmation(october):
    app = october.app()
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_month_end(pilot)
        assert shown(app, "#month-info") == (
            "Mois à clore : octobre 2026 (touche c)\nAucune remise pour l'instant."
        )
        assert table_rows(app, "#batches") == []
        await pilot.press("c")
        await settle(pilot)
        assert isinstance(app.screen, ClosePeriodScreen)  # which month: the previous one
        assert app.screen.query_one("#period", Input).value == PREVIOUS_MONTH
        assert app.focused is app.screen.query_one("#period")
        await pilot.press("enter")
        await settle(pilot)
        assert isinstance(app.screen, CloseMonthScreen)
        dialog = "\n".join(text_of(static) for static in app.screen.query("#close-month Static"))
        assert "Clore le mois d'octobre 2026 ?" in dialog
        assert "3 pass encaissés, 30,00 €" in dialog
        assert "de 2 séances, avec 1 lecture refusée." in dialog
        await pilot.press("escape")  # not yet
        await settle(pilot)
        assert app.screen is screen
        assert october.rows(Batch) == []

        await pilot.press("c", "enter")
        await settle(pilot)
        await pilot.press("enter")
        await settle(pilot)
        assert app.screen is screen
        assert table_rows(app, "#batches") == [["octobre 2026", "1", "3", "30,00 €", "scellée"]]
        assert shown(app, "#month-message").startswith(
            "Mois d'octobre 2026 clos : remise n° 1, 3 pass, 30,00 €."
        )
        assert shown(app, "#month-info") == (  # October is closed: no month to close now
            "Mois à clore : aucun — novembre 2026 pourra l'être dès le 01/12/2026\n"
            "1 remise, dont 1 sans accusé de réception · Entrée : rapprochement"
        )

        await pilot.press("c", "enter")  # twice: refused, in French, nothing more sealed
        await settle(pilot)
        assert app.screen is screen
        assert shown(app, "#month-message") == (
            "Le mois d'octobre 2026 est déjà clos : remise n° 1 du 28/11/2026 10:30."
        )
        assert screen.query_one("#month-message").has_class("error")
    [batch] = october.rows(Batch)
    assert (batch.period, batch.redemption_count, batch.refused_count) == (PREVIOUS_MONTH, 3, 1)
    in_november = [r for r in october.redemptions() if r.batch_id is None]
    assert [r.code for r in in_november] == [bare(october.codes["valid"][3])]


async def test_a_month_with_nothing_to_remit_is_not_closed(demo):
    app = demo.app()
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_month_end(pilot)
        await pilot.press("c", "enter")
        await settle(pilot)
        assert app.screen is screen
        assert shown(app, "#month-message") == (
            "Aucun encaissement à remettre pour octobre 2026 : aucune remise n'a été créée."
        )
        await pilot.press("e")
        await settle(pilot)
        assert shown(app, "#month-message") == (
            "Aucune remise à exporter : clore d'abord un mois (touche c)."
        )
    assert demo.rows(Batch) == []


async def choose_period(pilot, text: str) -> None:
    """c, then the month typed over the default one, and Enter."""
    await pilot.press("c")
    await settle(pilot)
    assert isinstance(pilot.app.screen, ClosePeriodScreen)
    field = pilot.app.screen.query_one("#period", Input)
    field.value = ""
    await type_text(pilot, text)
    await pilot.press("enter")
    await settle(pilot)


async def test_closing_another_month_than_the_previous_one(october):
    """September (a pass taken then) closed first, typed MM/AAAA; then October, typed AAAA-MM."""
    valid = october.codes["valid"]
    october.take(datetime(2026, 9, 15, 12, 0, tzinfo=UTC), "Atelier tablette", valid[4:6])
    app = october.app()
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_month_end(pilot)
        await choose_period(pilot, "9/2026")
        assert isinstance(app.screen, CloseMonthScreen)
        dialog = "\n".join(text_of(static) for static in app.screen.query("#close-month Static"))
        assert "Clore le mois de septembre 2026 ?" in dialog
        assert "2 pass encaissés, 20,00 €" in dialog
        await pilot.press("enter")
        await settle(pilot)
        assert app.screen is screen
        assert shown(app, "#month-message").startswith(
            "Mois de septembre 2026 clos : remise n° 1, 2 pass, 20,00 €."
        )
        assert table_rows(app, "#batches") == [["septembre 2026", "1", "2", "20,00 €", "scellée"]]
        assert "Mois à clore : octobre 2026" in shown(app, "#month-info")  # still the default

        await choose_period(pilot, " 2026-10 ")
        assert isinstance(app.screen, CloseMonthScreen)
        await pilot.press("enter")
        await settle(pilot)
        assert shown(app, "#month-message").startswith(
            "Mois d'octobre 2026 clos : remise n° 2, 3 pass, 30,00 €."
        )
    batches = october.rows(Batch)
    assert [(b.period, b.sequence, b.redemption_count) for b in batches] == [
        ("2026-09", 1, 2),
        ("2026-10", 2, 3),
    ]


async def test_the_month_typed_is_checked_and_the_refusals_are_shown(october):
    app = october.app()
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_month_end(pilot)
        for typed in ("octobre", "2026-13", "13/2026", "10-2026"):
            await choose_period(pilot, typed)
            assert isinstance(app.screen, ClosePeriodScreen), typed
            assert shown(app, "#period-message") == (
                f"Mois invalide : « {typed} » (format attendu AAAA-MM ou MM/AAAA, par ex. "
                "2026-03 ou 03/2026)."
            )
            await pilot.press("escape")  # nothing done
            await settle(pilot)
            assert app.screen is screen

        await choose_period(pilot, "11/2026")  # this month: not over
        assert app.screen is screen
        assert shown(app, "#month-message") == (
            "Le mois de novembre 2026 n'est pas terminé : il pourra être clos à partir du "
            "01/12/2026."
        )
        assert screen.query_one("#month-message").has_class("error")

        await choose_period(pilot, "2026-08")  # nothing taken up to the end of August
        assert shown(app, "#month-message") == (
            "Aucun encaissement à remettre pour août 2026 : aucune remise n'a été créée."
        )

        await choose_period(pilot, "10/2026")
        await pilot.press("enter")
        await settle(pilot)
        await choose_period(pilot, "10/2026")  # already closed
        assert app.screen is screen
        assert shown(app, "#month-message").startswith("Le mois d'octobre 2026 est déjà clos")
    assert [b.period for b in october.rows(Batch)] == [PREVIOUS_MONTH]


# --- the USB-key route ----------------------------------------------------------------------


async def test_export_writes_the_pending_batches_to_the_default_directory(october):
    close_october(october)
    app = october.app()
    async with app.run_test(size=SIZE) as pilot:
        await open_month_end(pilot)
        await pilot.press("e")
        await settle(pilot)
        assert isinstance(app.screen, ExportBatchesScreen)
        default = october.data_dir / "remises"
        assert app.screen.query_one("#directory", Input).value == str(default)
        await pilot.press("enter")
        await settle(pilot)
        assert isinstance(app.screen, MonthEndScreen)
        message = shown(app, "#month-message")
        assert message.startswith(f"1 remise exportée dans {default}")
        assert "remise-AVESNES-EPN-2026-10.json.gz" in message
    names = sorted(path.name for path in default.iterdir())
    assert names == [
        "activite-AVESNES-EPN-2026-10.csv",  # the activity report, written by the close
        "activite-AVESNES-EPN-2026-10.pdf",
        "remise-AVESNES-EPN-2026-10.csv",
        "remise-AVESNES-EPN-2026-10.json.gz",
        "remise-AVESNES-EPN-2026-10.pdf",
    ]


async def test_export_of_the_selected_batch_to_another_directory(october, tmp_path):
    batch_id = close_october(october)
    acknowledge(october, batch_id, tmp_path / "accuse.json.gz")
    MonthEnd(october.engine, october.data_dir).import_ack_file(tmp_path / "accuse.json.gz")
    app = october.app()
    async with app.run_test(size=SIZE) as pilot:
        await open_month_end(pilot)
        await pilot.press("e")
        await settle(pilot)
        # Nothing pending any more: the selected (acknowledged) batch is the choice.
        assert app.screen.query_one(RadioSet).pressed_button.id == "which-selected"
        assert app.screen.query_one("#which-pending").disabled
        field = app.screen.query_one("#directory", Input)
        field.value = ""
        await type_text(pilot, str(tmp_path / "cle-usb"))
        await pilot.press("enter")
        await settle(pilot)
        assert shown(app, "#month-message").startswith(
            f"1 remise exportée dans {tmp_path / 'cle-usb'}"
        )
    assert len(list((tmp_path / "cle-usb").iterdir())) == 3


async def test_import_of_the_ack_then_the_reconciliation(october, tmp_path):
    batch_id = close_october(october)
    ack = acknowledge(october, batch_id, tmp_path / "cle-usb" / f"accuse-{batch_id}.json.gz")
    app = october.app()
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_month_end(pilot)
        await pilot.press("i")
        await settle(pilot)
        assert isinstance(app.screen, PathPromptScreen)
        await pilot.press("enter")  # nothing typed yet
        await settle(pilot)
        assert shown(app, "#path-message") == "Indiquez un chemin de fichier."
        await type_text(pilot, f"'{ack}'")  # as a file manager pastes it
        await pilot.press("enter")
        await settle(pilot)
        assert app.screen is screen
        assert shown(app, "#month-message") == (
            "Accusé de réception de la remise n° 1 (octobre 2026) : 2 pass acceptés pour "
            "20,00 €, 1 pass refusé. Entrée : le rapprochement."
        )
        assert table_rows(app, "#batches") == [
            ["octobre 2026", "1", "3", "30,00 €", "accusée : 2 acceptés, 1 refusé"]
        ]

        await pilot.press("enter")
        await settle(pilot)
        assert isinstance(app.screen, ReconciliationScreen)
        assert shown(app, "#recon-title") == (
            "Remise n° 1 — octobre 2026 · 3 pass, 30,00 €\n"
            "Accusé de réception de la région du 28/11/2026 10:30"
        )
        rows = table_rows(app, "#recon-lines")
        valid = [bare(code) for code in october.codes["valid"][:3]]
        assert [row[0].replace("-", "") for row in rows] == valid
        assert [row[1:] for row in rows] == [
            [
                "14/10 10:05",
                "10,00 €",
                "Refusé",
                "Encaissé à FOURMIES-MEDIA",
            ],
            ["14/10 10:10", "10,00 €", "Accepté", ""],
            ["21/10 10:05", "10,00 €", "Accepté", ""],
        ]
        assert shown(app, "#recon-totals") == (
            "Acceptés : 2 pass, 20,00 € · Refusés : 1 pass, 10,00 €"
        )
        assert shown(app, "#recon-detail").endswith(
            "encaissé le 14/10/2026 10:05 : refusé — Déjà encaissé ailleurs : FOURMIES-MEDIA, "
            "le 13/10/2026 17:45."
        )
        await pilot.press("down")
        await settle(pilot)
        assert shown(app, "#recon-detail").endswith(": accepté par la région.")

        await pilot.press("f")
        await settle(pilot)
        rows = table_rows(app, "#recon-lines")
        assert [row[3] for row in rows] == ["Refusé"]
        assert shown(app, "#recon-totals").endswith("\nFiltre : refusés seulement (1 sur 3)")
        await pilot.press("f")
        await settle(pilot)
        assert len(table_rows(app, "#recon-lines")) == 3
        await pilot.press("escape")
        await settle(pilot)
        assert app.screen is screen

        await pilot.press("i")  # the same file again: nothing changes, and it says so
        await settle(pilot)
        await type_text(pilot, str(ack))
        await pilot.press("enter")
        await settle(pilot)
        assert "(déjà importé : rien n'a changé)" in shown(app, "#month-message")


async def test_a_tampered_ack_is_refused_and_changes_nothing(october, tmp_path):
    batch_id = close_october(october)
    path = acknowledge(october, batch_id, tmp_path / "accuse.json.gz", conflict=False)
    document = json.loads(gzip.decompress(path.read_bytes()))
    document["lines"][0]["verdict"], document["lines"][0]["reason"] = "refused", "revoked"
    document["totals"] = {"accepted": 2, "accepted_cents": 2000, "refused": 1}
    path.write_bytes(gzip.compress(json.dumps(document).encode()))
    app = october.app()
    async with app.run_test(size=SIZE) as pilot:
        await open_month_end(pilot)
        await pilot.press("i")
        await settle(pilot)
        await type_text(pilot, str(path))
        await pilot.press("enter")
        await settle(pilot)
        # Asked again, with the path typed, the reason, and the focus there to correct it.
        prompt = app.screen
        assert isinstance(prompt, PathPromptScreen)
        assert prompt.query_one("#path", Input).value == str(path)
        assert app.focused is prompt.query_one("#path")
        message = shown(app, "#path-message")
        assert message.startswith("Accusé de réception refusé : Signature invalide")
        assert message.endswith("Rien n'a été importé.")
        await type_text(pilot, str(tmp_path / "absent.json.gz"))  # replaces the selected path
        await pilot.press("enter")
        await settle(pilot)
        assert isinstance(app.screen, PathPromptScreen)
        assert "Fichier introuvable" in shown(app, "#path-message")
        await pilot.press("escape")
        await settle(pilot)
        assert "Fichier introuvable" in shown(app, "#month-message")
        assert app.screen.query_one("#month-message").has_class("error")
        assert table_rows(app, "#batches")[0][4] == "scellée"
    [batch] = october.rows(Batch)
    assert batch.acknowledged_at is None


# --- reconciliation from the home screen ----------------------------------------------------


async def test_home_r_opens_the_latest_answered_batch_or_says_there_is_none(october, tmp_path):
    app = october.app()
    async with app.run_test(size=SIZE) as pilot:
        await log_in(pilot, *KARIM)
        await pilot.press("r")
        await settle(pilot)
        assert isinstance(app.screen, HomeScreen)
        assert notifications(app) == [
            "Aucune remise n'a encore d'accusé de réception de la région : rien à rapprocher "
            "pour l'instant."
        ]
    batch_id = close_october(october)
    path = acknowledge(october, batch_id, tmp_path / "accuse.json.gz")
    MonthEnd(october.engine, october.data_dir).import_ack_file(path)
    app = october.app()
    async with app.run_test(size=SIZE) as pilot:
        await log_in(pilot, *KARIM)
        assert text_of(app.screen.query_one("#waiting")) == "1 pass\n10,00 €"  # November's
        await pilot.press("r")
        await settle(pilot)
        assert isinstance(app.screen, ReconciliationScreen)
        assert app.screen.batch_id == batch_id
        assert app.screen.query_one("#recon-lines", DataTable).row_count == 3


async def test_a_batch_without_answer_shows_its_lines_waiting(october):
    close_october(october)
    app = october.app()
    async with app.run_test(size=SIZE) as pilot:
        await open_month_end(pilot)
        await pilot.press("r")
        await settle(pilot)
        assert isinstance(app.screen, ReconciliationScreen)
        assert shown(app, "#recon-title").endswith(
            "Pas encore d'accusé de réception de la région : lignes en attente."
        )
        assert {row[3] for row in table_rows(app, "#recon-lines")} == {"En attente"}
        assert shown(app, "#recon-totals") == (
            "Acceptés : 0 pass, 0,00 € · Refusés : 0 pass, 0,00 € · En attente : 3"
        )
