"""The activity report screen (ui/screens/activity_report.py), from the home and from the
month end, and the month end's export of the month's activity for La Coop; an 80×24
snapshot, on the fixed clock of 28 November 2026."""

from __future__ import annotations

import io
from datetime import UTC, datetime

import pytest
from openpyxl import load_workbook
from rich.console import Console
from textual.widgets import Input

from mediateur_tui.domain.activity import Activity, Thematique, TypeActivite
from mediateur_tui.ui.screens.activity_report import ActivityReportScreen
from mediateur_tui.ui.screens.month_end import MonthEndScreen
from mediateur_tui.ui.screens.path_prompt import PathPromptScreen
from mediateur_tui.ui.widgets.activity_chart import bar, render_weeks

from .helpers import SIZE, footer_keys, log_in, settle, text_of, type_text
from .test_month_end import open_month_end, shown

IN_NOVEMBER = datetime(2026, 11, 3, 9, 0, tzinfo=UTC)  # a Tuesday
LATER_IN_NOVEMBER = datetime(2026, 11, 18, 13, 0, tzinfo=UTC)
IN_OCTOBER = datetime(2026, 10, 14, 8, 0, tzinfo=UTC)


def start(demo, moment: datetime, activity: Activity, title: str, codes: list[str]) -> None:
    desk = demo.desk(moment)
    operator = demo.operator().id
    session = desk.start_activity(operator, title, activity)
    for code in codes:
        assert desk.redeem(session.id, operator, code).redeemable
    desk.end_session(session.id)


@pytest.fixture
def activity(demo):
    """November: an atelier of 6 (2 thématiques, 2 passes) and an accompagnement (1 pass);
    October: one accompagnement."""
    valid = demo.codes["valid"]
    atelier = Activity(
        type=TypeActivite.COLLECTIF,
        date=IN_NOVEMBER.date(),
        duration_minutes=90,
        thematiques=(Thematique.EMAIL, Thematique.NAVIGATION_SUR_INTERNET),
        title="Atelier e-mail",
        participants=6,
    )
    start(demo, IN_NOVEMBER, atelier, "Atelier e-mail", valid[0:2])
    caf = Activity(
        type=TypeActivite.INDIVIDUEL,
        date=LATER_IN_NOVEMBER.date(),
        duration_minutes=45,
        thematiques=(Thematique.AIDE_AUX_DEMARCHES_ADMINISTRATIVES, Thematique.SOCIAL_SANTE),
    )
    start(demo, LATER_IN_NOVEMBER, caf, "Dossier CAF", valid[2:3])
    october = Activity(
        type=TypeActivite.INDIVIDUEL,
        date=IN_OCTOBER.date(),
        duration_minutes=30,
        thematiques=(Thematique.BUREAUTIQUE,),
    )
    start(demo, IN_OCTOBER, october, "Traitement de texte", valid[3:4])
    return demo


def table_text(app, selector: str) -> str:
    """What a Static holding a rich Table shows, at the screen's width."""
    console = Console(width=78, file=io.StringIO())
    console.print(app.screen.query_one(selector).content)
    return console.file.getvalue()


def test_bars_to_an_eighth():
    assert bar(0, 5) == ""
    assert bar(5, 5, width=4) == "████"
    assert bar(1, 16, width=4) == "▎"  # 2 eighths
    assert bar(1, 1000, width=4) == "▏"  # never invisible


async def test_the_report_of_this_month_from_the_home(activity):
    app = activity.app()
    async with app.run_test(size=SIZE) as pilot:
        await log_in(pilot)  # Camille, médiatrice
        assert "t Activité" in footer_keys(app)
        await pilot.press("t")
        await settle(pilot)
        screen = app.screen
        assert isinstance(screen, ActivityReportScreen)
        assert footer_keys(app) == "p Mois précédent s Mois suivant esc Retour f1 Aide"
        title = shown(app, "#report-title")
        assert title.startswith("Rapport d'activité — novembre 2026")
        assert "2 séances, 7 participants, 2 h 15 de médiation, 3 pass encaissés (30,00 €)" in (
            title
        )
        types = table_text(app, "#report-types")
        assert "Atelier collectif" in types and "1 h 30" in types
        themes = table_text(app, "#report-themes").splitlines()
        email = next(line for line in themes if line.startswith("E-mail"))
        assert email.split()[-2:] == ["20,00", "€"]  # the atelier's 2 passes under each
        total = next(line for line in themes if line.startswith("Total du mois"))
        assert total.split()[-2:] == ["30,00", "€"]  # each pass once
        chart = shown(app, "#report-chart").splitlines()
        assert chart[:2] == [
            "Séances par semaine",
            "01/11–01/11" + " " * 32 + "0 séance, 0 participant",
        ]
        assert any("1 séance, 6 participants" in line for line in chart)

        await pilot.press("p")
        await settle(pilot)
        assert shown(app, "#report-title").startswith("Rapport d'activité — octobre 2026")
        assert "Bureautique" in table_text(app, "#report-themes")
        await pilot.press("s", "s")
        await settle(pilot)
        assert shown(app, "#report-title").startswith("Rapport d'activité — décembre 2026")
        assert "0 séance," in shown(app, "#report-title")
        await pilot.press("escape")
        await settle(pilot)
        assert not isinstance(app.screen, ActivityReportScreen)


async def test_the_responsable_opens_the_month_to_close_from_the_month_end(activity):
    app = activity.app()
    async with app.run_test(size=SIZE) as pilot:
        await open_month_end(pilot)
        commands = {command.title: command.help for command in app.get_system_commands(app.screen)}
        assert commands["Rapport d'activité du mois à clore : thématiques, heures, pass"] == (
            "Touche T"
        )
        await pilot.press("t")
        await settle(pilot)
        assert isinstance(app.screen, ActivityReportScreen)
        assert shown(app, "#report-title").startswith("Rapport d'activité — octobre 2026")
        await pilot.press("escape")
        await settle(pilot)
        assert isinstance(app.screen, MonthEndScreen)


async def test_the_month_end_exports_the_months_activity_for_the_coop(activity, tmp_path):
    app = activity.app()
    async with app.run_test(size=SIZE) as pilot:
        await open_month_end(pilot)
        await pilot.press("x")
        await settle(pilot)
        assert isinstance(app.screen, PathPromptScreen)
        field = app.screen.query_one("#path", Input)
        assert field.value == str(activity.data_dir / "remises" / "coop-activite-2026-10.xlsx")
        field.value = ""
        await type_text(pilot, "/proc/coop.xlsx")
        await pilot.press("enter")
        await settle(pilot)
        # Refused: asked again, with the reason and the path typed.
        assert isinstance(app.screen, PathPromptScreen)
        assert text_of(app.screen.query_one("#path-message")).startswith(
            "Export impossible vers /proc/coop.xlsx"
        )
        field = app.screen.query_one("#path", Input)
        assert field.value == "/proc/coop.xlsx"
        field.value = ""
        target = tmp_path / "cle-usb" / "coop.xlsx"
        await type_text(pilot, str(target))
        await pilot.press("enter")
        await settle(pilot)
        assert isinstance(app.screen, MonthEndScreen)
        assert shown(app, "#month-message") == (
            f"Activité d'octobre 2026 exportée pour La Coop : 1 séance dans {target}."
        )
    rows = list(load_workbook(target)["Activités"].iter_rows(values_only=True))
    assert len(rows) == 2
    assert rows[1][15] == "Bureautique"


def test_the_chart_of_an_empty_month_has_no_bar():
    from mediateur_tui.domain.activity_report import build_report

    text = render_weeks(build_report("2026-11", []).weeks).plain
    assert text.splitlines()[1] == "01/11–01/11" + " " * 32 + "0 séance, 0 participant"


async def _report_run_before(pilot) -> None:
    await log_in(pilot)
    await pilot.press("t")
    await settle(pilot)
    await pilot.pause()


def test_activity_report_screen(activity, snap_compare):
    assert snap_compare(activity.app(), terminal_size=SIZE, run_before=_report_run_before)
