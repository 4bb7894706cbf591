"""Home: the replica, what waits to be remitted, this month, the open session."""

from __future__ import annotations

from textual import work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Grid, Vertical
from textual.screen import Screen
from textual.widgets import Header, Static

from mediateur_tui.domain.formatting import format_datetime, format_euros
from mediateur_tui.screens.history import HistoryScreen
from mediateur_tui.screens.verify import VerifyScreen
from mediateur_tui.services.dashboard import HomeStats, age_text, home_stats
from mediateur_tui.widgets.day_chart import DayChart
from mediateur_tui.widgets.keys_footer import KeysFooter

MONTHS = [
    "janvier",
    "février",
    "mars",
    "avril",
    "mai",
    "juin",
    "juillet",
    "août",
    "septembre",
    "octobre",
    "novembre",
    "décembre",
]


class HomeScreen(Screen):
    BINDINGS = [
        Binding("n", "new_session", "Nouvelle séance", id="home.new_session"),
        Binding("v", "verify", "Vérifier", id="home.verify"),
        Binding("h", "history", "Historique", id="home.history"),
        Binding("d", "log_out", "Déconnexion", id="home.log_out"),
    ]

    def compose(self) -> ComposeResult:
        yield Header()
        with Grid(id="home-grid"):
            with Vertical(classes="card"):
                yield Static("Réplique du registre", classes="card-title")
                yield Static("…", id="replica")
            with Vertical(classes="card"):
                yield Static("À remettre à la région", classes="card-title")
                yield Static("…", id="waiting")
            with Vertical(classes="card", id="month-card"):
                yield Static("Ce mois-ci", classes="card-title")
                yield Static("…", id="month")
                yield DayChart(id="chart")
            with Vertical(classes="card"):
                yield Static("Séance", classes="card-title")
                yield Static("…", id="open-session")
        yield KeysFooter()

    def on_screen_resume(self) -> None:
        self.sub_title = f"{self.app.operator.name} — accueil"
        self.refresh_stats()

    @work(thread=True, exclusive=True)
    def refresh_stats(self) -> None:
        stats = home_stats(self.app.engine, self.app.clock)
        open_session = self.app.desk.open_session(self.app.operator.id)
        self.app.call_from_thread(self._show, stats, open_session)

    def _show(self, stats: HomeStats, open_session) -> None:
        now = self.app.clock()
        self.query_one("#replica", Static).update(
            f"{stats.replica_pass_count:,} pass".replace(",", " ")
            + f"\nMise à jour {age_text(stats.replica_updated_at, now)}"
        )
        self.query_one("#waiting", Static).update(
            f"{stats.waiting_count} pass\n{format_euros(stats.waiting_cents)}"
        )
        month = MONTHS[stats.month_start.month - 1]
        self.query_one("#month", Static).update(
            f"{month} {stats.month_start.year} : {stats.month_count} pass, "
            f"{format_euros(stats.month_cents)}"
        )
        self.query_one(DayChart).show(stats.per_day)
        if open_session is None:
            text = "Aucune séance ouverte.\n[b]n[/b] pour en commencer une."
        else:
            text = (
                f"« {open_session.title} », ouverte le {format_datetime(open_session.started_at)}"
                "\n[b]n[/b] pour la reprendre."
            )
        self.query_one("#open-session", Static).update(text)

    def action_new_session(self) -> None:
        self.app.new_or_resume_session()

    def action_verify(self) -> None:
        self.app.push_screen(VerifyScreen())

    def action_history(self) -> None:
        self.app.push_screen(HistoryScreen())

    def action_log_out(self) -> None:
        self.app.log_out()
