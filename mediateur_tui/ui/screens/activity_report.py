"""A month's activity report: the sessions by type and by thématique, hours, participants and
passes, and a chart of the weeks (docs/guide-utilisateur.md, « Le rapport d'activité »)."""

from __future__ import annotations

from dataclasses import dataclass

from rich import box
from rich.table import Table
from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.message import Message
from textual.widgets import Header, Static
from textual.worker import Worker

from mediateur_tui.domain.activity_report import (
    COLUMNS,
    NOTES,
    Line,
    Tally,
    cells,
    hours_text,
    shifted_period,
)
from mediateur_tui.domain.formatting import format_euros, plural
from mediateur_tui.domain.periods import period_label
from mediateur_tui.services.activity_report import SiteReport
from mediateur_tui.ui.context import DeskContext
from mediateur_tui.ui.screens.base import SiteScreen, failure_text
from mediateur_tui.ui.widgets.activity_chart import ActivityChart
from mediateur_tui.ui.widgets.keys_footer import KeysFooter


class ActivityReportScreen(SiteScreen[None]):
    BINDINGS = [
        Binding(
            "p",
            "shift(-1)",
            "Mois précédent",
            tooltip="Rapport d'activité du mois précédent",
            id="activity_report.previous",
        ),
        Binding(
            "s",
            "shift(1)",
            "Mois suivant",
            tooltip="Rapport d'activité du mois suivant",
            id="activity_report.next",
        ),
        Binding("escape", "app.pop_screen", "Retour", id="activity_report.back"),
    ]
    KEY_NOTES = (
        "[b]Rapport d'activité[/b]\n"
        "Les séances du mois (par leur date) : par type, par thématique, par semaine. Une "
        "séance à plusieurs thématiques compte dans chacune, ses pass aussi ; le total compte "
        "chaque séance et chaque pass une fois. Flèches, Pg.Préc/Pg.Suiv : faire défiler."
    )
    AUTO_FOCUS = "#report-body"

    @dataclass
    class Loaded(Message, bubble=False):
        site: SiteReport

    def __init__(self, context: DeskContext, period: str) -> None:
        super().__init__(context)
        self.period = period

    def compose(self) -> ComposeResult:
        yield Header()
        with VerticalScroll(id="report-body"):
            yield Static("…", id="report-title")
            yield ActivityChart(id="report-chart")
            yield Static("", id="report-types", classes="report-table")
            yield Static("", id="report-themes", classes="report-table")
            yield Static("\n".join(NOTES), id="report-notes")
        yield KeysFooter()

    def on_mount(self) -> None:
        self.sub_title = "rapport d'activité"
        self.load()

    def work_failed(self, worker: Worker[object], error: BaseException) -> bool:
        self.query_one("#report-title", Static).update(Text(failure_text(error)))
        return True

    @work(thread=True, exclusive=True, exit_on_error=False)
    def load(self) -> None:
        self.post_message(self.Loaded(self.context.site.activity_report.report(self.period)))

    @on(Loaded)
    def show(self, message: Loaded) -> None:
        site = message.site
        report = site.report
        if report.period != self.period:  # another month was asked meanwhile
            return
        total = report.total
        title = Text()
        title.append(f"Rapport d'activité — {period_label(report.period)}", style="bold")
        title.append(f"\n{site.site_label}\n")
        title.append(
            f"{plural(total.sessions, 'séance')}, {plural(total.participants, 'participant')}, "
            f"{hours_text(total.minutes)} de médiation, "
            f"{plural(total.passes, 'pass encaissé', 'pass encaissés')} "
            f"({format_euros(total.cents)})"
        )
        self.query_one("#report-title", Static).update(title)
        self.query_one(ActivityChart).show(report.weeks)
        self.query_one("#report-types", Static).update(report_table("Type", report.by_type, total))
        self.query_one("#report-themes", Static).update(
            report_table("Thématique", report.by_thematique, total)
        )

    def action_shift(self, months: int) -> None:
        self.period = shifted_period(self.period, months)
        self.query_one("#report-title", Static).update(f"{period_label(self.period)}…")
        self.load()


def report_table(heading: str, lines: tuple[Line, ...], total: Tally) -> Table:
    """A table of the report, its total line last (each session once)."""
    table = Table(box=box.SIMPLE_HEAD, show_edge=False, pad_edge=False, expand=True)
    table.add_column(heading, ratio=1, overflow="ellipsis", no_wrap=True)
    for name in COLUMNS:
        table.add_column(name.replace("Participants", "Partic."), justify="right", no_wrap=True)
    for line in lines:
        table.add_row(line.label, *cells(line.tally))
    bold = [Text(cell, style="bold") for cell in ("Total du mois", *cells(total))]
    table.add_row(*bold)
    return table
