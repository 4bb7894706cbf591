"""The Textual app driven by a Pilot at 80×24: log-in, sessions, scanning, cancelling,
verification, history, help, command palette and images."""

from __future__ import annotations

from datetime import timedelta

from textual.command import CommandList, CommandPalette
from textual.widgets import DataTable, Input, Select
from textual.widgets.input import Selection

from mediateur_tui.domain.codes import make_code
from mediateur_tui.store.errors import DatabaseBusy
from mediateur_tui.store.models import Cancellation, DeskSession, RefusedScan
from mediateur_tui.ui.screens.cancel_redemption import CancelRedemptionScreen
from mediateur_tui.ui.screens.help import HelpScreen
from mediateur_tui.ui.screens.history import HistoryScreen
from mediateur_tui.ui.screens.history_row import HistoryRowScreen
from mediateur_tui.ui.screens.home import HomeScreen
from mediateur_tui.ui.screens.image_file import ImageFileScreen
from mediateur_tui.ui.screens.login import LoginScreen
from mediateur_tui.ui.screens.new_session import NewSessionScreen
from mediateur_tui.ui.screens.session import SessionScreen
from mediateur_tui.ui.screens.session_summary import SessionSummaryScreen
from mediateur_tui.ui.screens.verify import VerifyScreen

from .helpers import (
    NOW,
    SIZE,
    bare,
    burst,
    count_bells,
    keys_back_to_back,
    log_in,
    scan,
    settle,
    text_of,
    type_text,
    wait_for_bells,
)

# Refused categories of the demo and the label the verdict panel shows for them.
REFUSED = {
    "expired": "PASS EXPIRÉ",
    "not_yet_valid": "PAS ENCORE VALABLE",
    "revoked": "PASS EN OPPOSITION",
    "redeemed_elsewhere": "DÉJÀ ENCAISSÉ AILLEURS",
    "unattributed": "CARNET NON ATTRIBUÉ",
    "other_programme": "PROGRAMME NON ACCEPTÉ ICI",
}


def verdict(app) -> str:
    return text_of(app.screen.query_one("#verdict"))


def table_rows(app, selector: str) -> list[list[str]]:
    table = app.screen.query_one(selector, DataTable)
    return [[str(cell) for cell in table.get_row_at(index)] for index in range(table.row_count)]


async def start_session(pilot) -> SessionScreen:
    """From the log-in screen to a new session with the default title, type and duration."""
    await log_in(pilot)
    assert isinstance(pilot.app.screen, HomeScreen)
    await pilot.press("n")
    await settle(pilot)
    assert isinstance(pilot.app.screen, NewSessionScreen)
    await pilot.press("enter")
    await settle(pilot)
    assert isinstance(pilot.app.screen, SessionScreen)
    return pilot.app.screen


# --- log-in ---------------------------------------------------------------------------------


async def test_wrong_pin_says_how_many_attempts_are_left(demo, monkeypatch):
    app = demo.app()
    async with app.run_test(size=SIZE) as pilot:
        bells = count_bells(monkeypatch, app)
        await log_in(pilot, "0000")
        assert isinstance(app.screen, LoginScreen)
        message = text_of(app.screen.query_one("#login-message"))
        assert message == "Code PIN incorrect. Encore 4 essai(s) avant blocage."
        assert app.screen.query_one("#pin", Input).value == ""
        assert len(bells) == 1


async def test_five_failures_lock_the_operator_even_with_the_right_pin(demo):
    app = demo.app()
    async with app.run_test(size=SIZE) as pilot:
        for left in (4, 3, 2, 1):
            await log_in(pilot, "9999")
            assert f"Encore {left} essai(s)" in text_of(app.screen.query_one("#login-message"))
        await log_in(pilot, "9999")
        message = text_of(app.screen.query_one("#login-message"))
        assert message == "Code PIN incorrect. Compte bloqué 15 minutes après 5 erreurs."
        await log_in(pilot, "1234")
        assert isinstance(app.screen, LoginScreen)
        # NOW is 10:30 in Paris: locked for 15 minutes.
        message = text_of(app.screen.query_one("#login-message"))
        assert message.startswith("Compte bloqué après 5 erreurs, jusqu'au 28/11/2026 à 10:45.")
        assert app.context.operator is None


async def test_right_pin_opens_home_with_the_figures(demo):
    app = demo.app()
    async with app.run_test(size=SIZE) as pilot:
        await log_in(pilot, "5678", name="Karim Benali")
        assert isinstance(app.screen, HomeScreen)
        assert app.context.operator.name == "Karim Benali"
        assert app.context.operator.role == "responsable"
        assert app.screen.sub_title == "Karim Benali — accueil"
        replica = text_of(app.screen.query_one("#replica"))
        assert replica == (
            "300 pass\nMise à jour à l'instant\nNon inscrit auprès de la région"
            "\nSauvegarde non réglée"
        )
        assert text_of(app.screen.query_one("#waiting")) == "0 pass\n0,00 €"
        assert text_of(app.screen.query_one("#month")) == "novembre 2026 : 0 pass, 0,00 €"
        assert "Aucune séance ouverte" in text_of(app.screen.query_one("#open-session"))


# --- sessions and scanning ------------------------------------------------------------------


async def test_valid_scan_is_recorded_and_shown(demo, monkeypatch):
    app = demo.app()
    async with app.run_test(size=SIZE) as pilot:
        bells = count_bells(monkeypatch, app)
        screen = await start_session(pilot)
        assert "Séance du 28/11/2026" in text_of(screen.query_one("#session-title"))
        code = demo.codes["valid"][1]  # a bare code, typed by hand
        await pilot.press(*code.lower(), "enter")  # a person typing: one key at a time
        await settle(pilot)
        assert verdict(app).startswith("✔  PASS VALIDE")
        assert screen.query_one("#verdict").has_class("good")
        rows = table_rows(app, "#lines")
        assert len(rows) == 1
        assert rows[0][1].replace("-", "") == code
        assert rows[0][2:] == ["10,00 €", "lecteur/clavier"]
        assert text_of(screen.query_one("#totals")) == "1 pass encaissé · 10,00 €"
        assert bells == []
    [redemption] = demo.redemptions()
    assert (redemption.code, redemption.input_method) == (code, "scan")
    assert redemption.value_cents == 1000


async def test_grace_period_pass_is_taken_with_a_warning(demo, monkeypatch):
    app = demo.app()
    async with app.run_test(size=SIZE) as pilot:
        bells = count_bells(monkeypatch, app)
        screen = await start_session(pilot)
        await scan(pilot, demo.codes["grace"][0])
        assert verdict(app).startswith("✔  PASS VALIDE (PÉRIODE DE GRÂCE)")
        assert screen.query_one("#verdict").has_class("warn")
        assert len(table_rows(app, "#lines")) == 1
        await wait_for_bells(pilot, bells, 1)  # a warning: one bell (a refusal rings twice)
    assert [r.code for r in demo.redemptions()] == [bare(demo.codes["grace"][0])]


async def test_each_refusal_shows_its_label_rings_and_adds_no_row(demo, monkeypatch):
    valid = demo.codes["valid"][1]
    typo = valid[:4] + ("X" if valid[4] != "X" else "Y") + valid[5:]
    refused = {category: demo.codes[category][index % 2] for index, category in enumerate(REFUSED)}
    labels = dict(REFUSED)
    refused["typo"], labels["typo"] = typo, "CODE MAL SAISI"
    refused["unknown"], labels["unknown"] = make_code("000000000000"), "PASS INCONNU"
    app = demo.app()
    async with app.run_test(size=SIZE) as pilot:
        bells = count_bells(monkeypatch, app)
        screen = await start_session(pilot)
        for rings, (category, text) in enumerate(refused.items(), start=1):
            await scan(pilot, text)
            assert verdict(app).startswith(f"✘  {labels[category]}"), category
            assert screen.query_one("#verdict").has_class("bad")
            assert table_rows(app, "#lines") == [], category
            await wait_for_bells(pilot, bells, 2 * rings)  # two bells a refusal
        assert text_of(screen.query_one("#totals")) == "0 pass encaissé · 0,00 €"
    assert demo.redemptions() == []
    assert len(demo.rows(RefusedScan)) == len(refused)


async def test_double_read_records_once_and_does_not_ring(demo, monkeypatch):
    payload = demo.codes["valid"][0]  # the QR payload, then the same pass's printed code
    app = demo.app()
    async with app.run_test(size=SIZE) as pilot:
        bells = count_bells(monkeypatch, app)
        screen = await start_session(pilot)
        await scan(pilot, payload)
        await scan(pilot, payload)
        assert verdict(app).startswith("ℹ  DÉJÀ ENCAISSÉ ICI")  # a notice, not a refusal
        assert screen.query_one("#verdict").has_class("warn")
        assert "Lecture en double" in verdict(app)
        await scan(pilot, bare(payload))
        assert "Lecture en double" in verdict(app)
        assert len(table_rows(app, "#lines")) == 1
        assert text_of(screen.query_one("#totals")) == "1 pass encaissé · 10,00 €"
        assert bells == []
    assert [r.code for r in demo.redemptions()] == [bare(payload)]


async def test_a_mistyped_code_is_given_back_whole_with_the_cursor_at_its_fault(demo):
    valid = bare(demo.codes["valid"][1])
    shown = f"{valid[:4]}-{valid[4:8]}-{valid[8:]}"
    app = demo.app()
    async with app.run_test(size=SIZE) as pilot:
        screen = await start_session(pilot)
        field = screen.query_one("#scan", Input)
        await scan(pilot, shown[:6] + "!" + shown[7:])  # « ! » where a symbol was
        assert verdict(app).startswith("✘  CODE MAL SAISI")
        assert field.value == shown[:6] + "!" + shown[7:]
        assert field.selection == Selection(0, len(shown))  # all of it: a scan replaces it
        await pilot.press("right")  # to edit instead: the cursor goes to « ! » …
        await pilot.press("delete")  # … which goes
        await type_text(pilot, shown[6])  # the faulty symbol fixed, nothing retyped
        await scan(pilot, "")
        assert verdict(app).startswith("✔  PASS VALIDE")
        assert field.value == ""
        typo = valid[:4] + ("X" if valid[4] != "X" else "Y") + valid[5:]
        await scan(pilot, typo)  # a check symbol that fails: no place to point at
        assert field.value == typo and field.selection == Selection(0, len(typo))
        await scan(pilot, bare(demo.codes["valid"][3]))  # a scan replaces it, never glued
        assert verdict(app).startswith("✔  PASS VALIDE")
    assert [r.code for r in demo.redemptions()] == [valid, bare(demo.codes["valid"][3])]


async def test_typing_in_the_scan_field_lays_nothing_out_and_a_long_payload_scrolls(
    demo, monkeypatch
):
    """The screen (its table of passes included) is laid out again when a verdict comes, not
    at each key of a scan nor at the Enter that empties the field."""
    payload = demo.codes["valid"][0]  # a QR payload, wider than the field
    app = demo.app()
    async with app.run_test(size=SIZE) as pilot:
        screen = await start_session(pilot)
        field = screen.query_one("#scan", Input)
        layouts: list[None] = []
        lay_out = screen._refresh_layout
        monkeypatch.setattr(
            screen, "_refresh_layout", lambda *a, **k: (layouts.append(None), lay_out(*a, **k))
        )
        await type_text(pilot, payload)
        assert field.value == payload
        assert layouts == []
        assert 0 < field.scroll_x == field.max_scroll_x  # the field shows the end of the text
        await scan(pilot, "")
        assert verdict(app).startswith("✔  PASS VALIDE")
        assert field.value == "" and field.scroll_x == 0
        assert layouts  # the verdict's panel and the new row
    assert [r.code for r in demo.redemptions()] == [bare(payload)]


async def test_a_scanner_burst_records_every_pass_in_order(demo, monkeypatch):
    payloads = demo.codes["valid"][0:6:2]  # three QR payloads, about 140 characters each
    assert all(len(p) > 100 for p in payloads)
    app = demo.app()
    async with app.run_test(size=SIZE) as pilot:
        bells = count_bells(monkeypatch, app)
        screen = await start_session(pilot)
        burst(app, "".join(payload + "\n" for payload in payloads))
        await settle(pilot)
        assert screen.pending == 0
        # One row added per pass, newest first: the table is the session as stored.
        rows = [row[1].replace("-", "") for row in table_rows(app, "#lines")]
        assert rows == [bare(p) for p in reversed(payloads)]
        stored = app.context.site.desk.session_redemptions(screen.desk_session.id)
        assert [line.id for line in screen.lines] == [line.id for line in stored]
        assert text_of(screen.query_one("#totals")) == "3 pass encaissés · 30,00 €"
        assert screen.query_one("#scan", Input).value == ""
        assert bells == []
    assert [r.code for r in demo.redemptions()] == [bare(p) for p in payloads]
    assert [r.raw_input for r in demo.redemptions()] == payloads
    assert demo.rows(RefusedScan) == []  # nothing garbled


def shown_codes(app) -> list[str]:
    return [row[1].replace("-", "") for row in table_rows(app, "#lines")]


async def test_the_lines_read_again_never_show_a_redemption_twice(demo):
    """A full reading of the lines that already holds a redemption, then that redemption's
    own answer: one row (the table refuses a second row of the same key)."""
    code = demo.codes["valid"][1]
    app = demo.app()
    async with app.run_test(size=SIZE) as pilot:
        screen = await start_session(pilot)
        scanned = app.context.site.desk.record_scan(
            screen.desk_session.id, app.context.operator_id, code
        )
        assert scanned.line is not None
        screen.post_message(SessionScreen.LinesLoaded([scanned.line]))
        screen.pending += 1
        screen.post_message(SessionScreen.ScanAnswered(scanned.result, scanned.line))
        await settle(pilot)
        assert shown_codes(app) == [code]
        assert [line.id for line in screen.lines] == [scanned.line.id]
        assert text_of(screen.query_one("#totals")) == "1 pass encaissé · 10,00 €"


async def test_a_pass_cancelled_elsewhere_and_scanned_again_is_one_line(demo):
    first, again = demo.codes["valid"][1], demo.codes["valid"][3]
    app = demo.app()
    async with app.run_test(size=SIZE) as pilot:
        screen = await start_session(pilot)
        await scan(pilot, first)
        await scan(pilot, again)
        desk = app.context.site.desk
        taken = desk.session_redemptions(screen.desk_session.id)[-1]
        desk.cancel(taken.id, app.context.operator_id, "autre fenêtre")  # another window
        await scan(pilot, again)
        await settle(pilot)
        assert shown_codes(app) == [again, first]
        stored = desk.session_redemptions(screen.desk_session.id)
        assert [line.id for line in screen.lines] == [line.id for line in stored]
        assert text_of(screen.query_one("#totals")) == "2 pass encaissés · 20,00 €"


async def test_lines_that_cannot_be_read_are_said_and_scans_go_on(demo, monkeypatch):
    app = demo.app()
    async with app.run_test(size=SIZE) as pilot:
        desk = app.context.site.desk
        real_lines = desk.session_redemptions

        def busy(session_id):
            monkeypatch.setattr(desk, "session_redemptions", real_lines)
            raise DatabaseBusy(demo.data_dir, 10)

        monkeypatch.setattr(desk, "session_redemptions", busy)
        screen = await start_session(pilot)
        assert verdict(app).startswith("La base de données est occupée")
        await scan(pilot, demo.codes["valid"][1])  # the scan worker is alive
        assert verdict(app).startswith("✔  PASS VALIDE")
        assert shown_codes(app) == [demo.codes["valid"][1]]
        assert screen.pending == 0


async def test_a_burst_typed_through_the_pilot_is_recorded_too(demo):
    """The same burst with pilot.press: slower (the pilot idles after each key), so short."""
    codes = [demo.codes["valid"][1], demo.codes["valid"][3], demo.codes["grace"][1]]
    app = demo.app()
    async with app.run_test(size=SIZE) as pilot:
        await start_session(pilot)
        await pilot.press(*[key for code in codes for key in (*code, "enter")])
        await settle(pilot)
        assert len(table_rows(app, "#lines")) == 3
    assert [r.code for r in demo.redemptions()] == codes


async def test_ctrl_z_cancels_the_last_redemption_with_a_reason(demo, monkeypatch):
    first, last = demo.codes["valid"][1], demo.codes["valid"][3]
    app = demo.app()
    async with app.run_test(size=SIZE) as pilot:
        bells = count_bells(monkeypatch, app)
        await start_session(pilot)
        await scan(pilot, first)
        await scan(pilot, last)
        await pilot.press("ctrl+z")
        await settle(pilot)
        assert isinstance(app.screen, CancelRedemptionScreen)
        assert "Pass " + last[:4] in text_of(app.screen.query(".dialog Static")[1])
        await pilot.press("enter")
        await settle(pilot)
        assert isinstance(app.screen, CancelRedemptionScreen)
        assert text_of(app.screen.query_one("#reason-message")) == "Le motif est obligatoire."
        assert len(bells) == 1
        await type_text(pilot, "erreur de saisie")
        await pilot.press("enter")
        await settle(pilot)
        assert isinstance(app.screen, SessionScreen)
        rows = table_rows(app, "#lines")
        assert [row[1].replace("-", "") for row in rows] == [first]
        assert text_of(app.screen.query_one("#totals")) == "1 pass encaissé · 10,00 €"
        assert "annulé (erreur de saisie)" in verdict(app)
    redemptions = {r.code: r for r in demo.redemptions()}
    assert redemptions[first].cancelled_at is None
    assert redemptions[last].cancelled_at == NOW
    [cancellation] = demo.rows(Cancellation)
    assert cancellation.redemption_id == redemptions[last].id
    assert cancellation.reason == "erreur de saisie"


async def test_escape_in_the_cancel_dialog_cancels_nothing(demo):
    app = demo.app()
    async with app.run_test(size=SIZE) as pilot:
        await start_session(pilot)
        await scan(pilot, demo.codes["valid"][1])
        await pilot.press("ctrl+z")
        await settle(pilot)
        assert isinstance(app.screen, CancelRedemptionScreen)
        await pilot.press("escape")
        await settle(pilot)
        assert isinstance(app.screen, SessionScreen)
        assert len(table_rows(app, "#lines")) == 1
    assert demo.rows(Cancellation) == []
    assert demo.redemptions()[0].cancelled_at is None


async def test_escape_ends_the_session_with_a_summary(demo):
    app = demo.app()
    async with app.run_test(size=SIZE) as pilot:
        await start_session(pilot)
        await scan(pilot, demo.codes["valid"][1])
        await scan(pilot, demo.codes["grace"][1])
        await scan(pilot, demo.codes["expired"][1])
        await pilot.press("escape")
        await settle(pilot)
        assert isinstance(app.screen, SessionSummaryScreen)
        summary = "\n".join(text_of(static) for static in app.screen.query("#summary Static"))
        assert "« Séance du 28/11/2026 »" in summary
        assert "2 pass encaissés : 20,00 €" in summary
        assert "1 lecture refusée" in summary
        await pilot.press("enter")
        await settle(pilot)
        assert isinstance(app.screen, HomeScreen)
        assert "Aucune séance ouverte" in text_of(app.screen.query_one("#open-session"))
        assert text_of(app.screen.query_one("#waiting")) == "2 pass\n20,00 €"
    [desk_session] = demo.rows(DeskSession)
    assert desk_session.ended_at == NOW


async def test_n_resumes_the_open_session(demo):
    desk = demo.desk(NOW - timedelta(hours=1))
    operator = demo.operator()
    opened = desk.start_session(operator.id, "Atelier courriel", "collectif", "courriel", 90)
    desk.redeem(opened.id, operator.id, demo.codes["valid"][1])
    app = demo.app()
    async with app.run_test(size=SIZE) as pilot:
        await log_in(pilot)
        assert "« Atelier courriel »" in text_of(app.screen.query_one("#open-session"))
        await pilot.press("n")
        await settle(pilot)
        assert isinstance(app.screen, SessionScreen)
        assert app.screen.desk_session.id == opened.id
        assert "Atelier collectif, 90 min" in text_of(app.screen.query_one("#session-title"))
        assert len(table_rows(app, "#lines")) == 1


# --- verification ---------------------------------------------------------------------------


async def test_verify_shows_the_verdict_and_records_nothing(demo, monkeypatch):
    app = demo.app()
    async with app.run_test(size=SIZE) as pilot:
        bells = count_bells(monkeypatch, app)
        await log_in(pilot)
        await pilot.press("v")
        await settle(pilot)
        assert isinstance(app.screen, VerifyScreen)
        await scan(pilot, demo.codes["valid"][0])
        assert verdict(app).startswith("✔  PASS VALIDE")
        assert bells == []
        await scan(pilot, demo.codes["expired"][0])
        assert verdict(app).startswith("✘  PASS EXPIRÉ")
        await wait_for_bells(pilot, bells, 2)  # a refusal: two bells
        await pilot.press("escape")
        await settle(pilot)
        assert isinstance(app.screen, HomeScreen)
    assert demo.redemptions() == []
    assert demo.rows(RefusedScan) == []


# --- history --------------------------------------------------------------------------------


async def open_history(pilot) -> HistoryScreen:
    await log_in(pilot)
    await pilot.press("h")
    await settle(pilot)
    assert isinstance(pilot.app.screen, HistoryScreen)
    return pilot.app.screen


async def test_history_lists_filters_and_searches(history_data):
    demo = history_data
    app = demo.app()
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_history(pilot)
        rows = table_rows(app, "#history")
        assert len(rows) == 6
        statuses = sorted(row[1] for row in rows)
        assert statuses == ["Annulé", "Encaissé", "Encaissé", "Encaissé", "Refusé", "Refusé"]
        assert text_of(screen.query_one("#history-count")).startswith("6 lignes")
        cancelled = next(row for row in rows if row[1] == "Annulé")
        assert cancelled[4] == "Annulé : pass abîmé"

        # Part of a code, typed in lower case and without its dashes.
        wanted = bare(demo.codes["valid"][2])
        await type_text(pilot, wanted[3:9].lower())
        rows = table_rows(app, "#history")
        assert [row[2].replace("-", "") for row in rows] == [wanted]

        screen.query_one("#search", Input).value = ""
        screen.query_one("#status", Select).value = "refuse"
        await settle(pilot)
        rows = table_rows(app, "#history")
        assert len(rows) == 2
        assert {row[1] for row in rows} == {"Refusé"}
        assert sorted(row[4].split(" ")[1] for row in rows) == ["en", "expiré"]
        assert any(row[4].startswith("Pass en opposition (volé)") for row in rows)

        screen.query_one("#status", Select).value = Select.NULL
        screen.query_one("#since").focus()
        await type_text(pilot, "31/13/2026")
        assert text_of(screen.query_one("#history-count")) == "Date attendue : JJ/MM/AAAA."

        screen.query_one("#since", Input).value = "28/11/2026"
        await settle(pilot)
        rows = table_rows(app, "#history")
        assert len(rows) == 3  # today's session only
        assert {row[5] for row in rows} == {"Démarches CAF"}


async def test_quick_typing_with_a_correction_searches_what_was_typed(history_data):
    """Backspace typed quickly takes effect in its place, not after the next characters."""
    app = history_data.app()
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_history(pilot)
        keys_back_to_back(app, *"hm1dx", "backspace", "backspace", *"d-x", "left", "h")
        await settle(pilot)
        assert screen.query_one("#search", Input).value == "hm1d-hx"
        keys_back_to_back(app, "backspace", "end", "backspace", "x")
        await settle(pilot)
        assert screen.query_one("#search", Input).value == "hm1d-x"
        assert [row[2] for row in table_rows(app, "#history")] == ["HM1D-XHQ5-C069N"]


async def test_enter_on_a_history_line_shows_every_field_in_full(history_data):
    """The Détail column is cut at any width: a refusal's whole sentence is in the detail."""
    demo = history_data
    app = demo.app()
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_history(pilot)
        table = screen.query_one("#history", DataTable)
        index = next(i for i, row in enumerate(screen.rows) if row.detail.startswith("Pass en"))
        row = screen.rows[index]
        assert table.virtual_size.width > table.size.width  # the table goes out of sight
        table.focus()
        table.move_cursor(row=index)
        await pilot.press("enter")
        await settle(pilot)
        assert isinstance(app.screen, HistoryRowScreen)
        fields = text_of(app.screen.query_one("#history-row-fields"))
        assert f"Détail : {row.detail}" in fields
        assert f"Code : {row.code}" in fields
        assert "Séance : Démarches CAF" in fields or "Séance : Atelier smartphone" in fields
        assert "Statut : Refusé" in fields
        await pilot.press("escape")
        await settle(pilot)
        assert app.screen is screen


async def test_history_exports_csv_for_french_spreadsheets(history_data):
    demo = history_data
    app = demo.app()
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_history(pilot)
        assert app.focused is screen.query_one("#search")  # ctrl+e must work from there too
        await pilot.press("ctrl+e")
        await settle(pilot)
    exports = list((demo.data_dir / "exports").iterdir())
    assert [path.name for path in exports] == ["historique-20261128-103000.csv"]
    raw = exports[0].read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf")
    lines = raw.decode("utf-8-sig").splitlines()
    assert lines[0] == "Date;Heure;Statut;Code;Montant (€);Séance;Opérateur;Détail"
    assert len(lines) == 7
    assert all(line.count(";") >= 7 for line in lines[1:])
    assert any(";Annulé;" in line and ";0,00;" in line and "pass abîmé" in line for line in lines)


# --- help and command palette ---------------------------------------------------------------


async def test_f1_shows_the_keys_of_the_current_screen(demo):
    app = demo.app()
    async with app.run_test(size=SIZE) as pilot:
        await start_session(pilot)
        await pilot.press("f1")
        await settle(pilot)
        assert isinstance(app.screen, HelpScreen)
        help_text = "\n".join(text_of(static) for static in app.screen.query("#help Static"))
        assert "Ctrl+Z  Annuler dernier" in help_text
        assert "F2  Lire image" in help_text
        assert "Échap  Fin de séance" in help_text
        assert "Déjà encaissé ailleurs" in help_text
        await pilot.press("escape")
        await settle(pilot)
        assert isinstance(app.screen, SessionScreen)


async def test_command_palette_offers_the_screen_actions_in_french(demo):
    app = demo.app()
    async with app.run_test(size=SIZE) as pilot:
        await log_in(pilot)
        home = app.screen
        commands = {command.title: command.help for command in app.get_system_commands(home)}
        assert commands["Nouvelle séance (ou reprendre la séance ouverte)"] == "Touche N"
        assert commands["Vérifier un pass sans l'encaisser"] == "Touche V"
        assert commands["Historique"] == "Touche H"
        assert commands["Synchroniser avec la région"] == "Touche S"
        assert commands["Déconnexion"] == "Touche D"
        assert commands["Quitter"] == "Touche Ctrl+Q"  # not in the footer, still here
        assert commands["Aide"] == "Touche F1"
        # Camille is a médiatrice: no month end for her, in the palette or elsewhere.
        assert not any("Fin de mois" in title or "Rapprochement" in title for title in commands)
        assert all("Cursor" not in title and "Focus" not in title for title in commands)

        await pilot.press("ctrl+p")
        await settle(pilot)
        assert isinstance(app.screen, CommandPalette)
        await type_text(pilot, "vérifier")
        results = app.screen.query_one(CommandList)
        for _ in range(200):  # the palette searches its providers in the background
            if results.option_count and "Vérifier" in str(results.get_option_at_index(0).prompt):
                break
            await pilot.pause(0.01)
        else:
            raise AssertionError("the palette did not offer « Vérifier un pass »")
        await pilot.press("enter")
        await settle(pilot)
        assert isinstance(app.screen, VerifyScreen)


# --- images ---------------------------------------------------------------------------------


async def test_f2_reads_a_qr_image_and_records_the_pass(demo):
    image = demo.images[0]
    app = demo.app()
    async with app.run_test(size=SIZE) as pilot:
        await start_session(pilot)
        await pilot.press("f2")
        await settle(pilot)
        assert isinstance(app.screen, ImageFileScreen)
        await type_text(pilot, str(image.with_name("absente.png")))
        await pilot.press("enter")
        await settle(pilot)
        assert isinstance(app.screen, ImageFileScreen)
        message = text_of(app.screen.query_one("#image-message"))
        assert message.startswith("Fichier introuvable :")
        app.screen.query_one("#image-path", Input).value = ""
        await type_text(pilot, str(image))
        await pilot.press("enter")
        await settle(pilot)
        assert isinstance(app.screen, SessionScreen)
        assert verdict(app).startswith("✔  PASS VALIDE")
        assert table_rows(app, "#lines")[0][3] == "image"
    [redemption] = demo.redemptions()
    assert redemption.input_method == "image"
    assert redemption.raw_input.startswith("PN1:HDFNUM:")


async def test_an_unexpected_error_is_shown_in_french_and_scanning_goes_on(demo, monkeypatch):
    app = demo.app()
    async with app.run_test(size=SIZE) as pilot:
        screen = await start_session(pilot)
        real_record_scan = app.context.site.desk.record_scan
        failures = ["disk I/O error"]

        def record_scan_failing_once(*args, **kwargs):
            if failures:
                raise RuntimeError(failures.pop())
            return real_record_scan(*args, **kwargs)

        monkeypatch.setattr(app.context.site.desk, "record_scan", record_scan_failing_once)
        await scan(pilot, demo.codes["valid"][1])
        assert verdict(app).startswith("Erreur inattendue : rien n'a été enregistré")
        assert screen.pending == 0
        await scan(pilot, demo.codes["valid"][3])  # the scan loop is still alive
        assert verdict(app).startswith("✔  PASS VALIDE")
    assert [r.code for r in demo.redemptions()] == [demo.codes["valid"][3]]
