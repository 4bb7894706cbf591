"""Home: the replica and its sync state, what waits to be remitted, this month, the open
session; keys to the desk, the sync with the region, (for a responsable) the month end and (for
a distributeur or a responsable) the attribution of carnets."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Grid, Vertical
from textual.message import Message
from textual.widgets import Header, Static

from mediateur_tui.domain.formatting import (
    format_datetime,
    format_euros,
    format_month,
    plural,
    thousands,
)
from mediateur_tui.domain.roles import ALLOWED_ROLES, REFUSALS
from mediateur_tui.services.backup import BackupStatus
from mediateur_tui.services.batches import BatchInfo
from mediateur_tui.services.dashboard import HomeView, age_text
from mediateur_tui.services.sync import SyncStatus
from mediateur_tui.ui.messages import LogOutRequested, SessionWanted
from mediateur_tui.ui.screens.activity_report import ActivityReportScreen
from mediateur_tui.ui.screens.attribution_request import AttributionRequestScreen
from mediateur_tui.ui.screens.base import SiteScreen
from mediateur_tui.ui.screens.history import HistoryScreen
from mediateur_tui.ui.screens.month_end import MonthEndScreen
from mediateur_tui.ui.screens.reconciliation import ReconciliationScreen
from mediateur_tui.ui.screens.scanner_test import scanner_test_binding
from mediateur_tui.ui.screens.sync import SyncScreen
from mediateur_tui.ui.screens.verify import VerifyScreen
from mediateur_tui.ui.widgets.day_chart import DayChart
from mediateur_tui.ui.widgets.keys_footer import KeysFooter


class HomeScreen(SiteScreen[None]):
    # The footer has 80 columns: short descriptions there, the long ones (tooltips) in F1 and
    # the palette. An operator does not see the keys of other roles (ALLOWED_ROLES); pressed
    # anyway, they say why.
    # A responsable's keys do not all fit in 80 columns: these go first (F1 lists them).
    FOOTER_DROPS_FIRST = ("sync", "verify", "activity_report", "history")
    distributor = False  # this site hands out carnets: known once the home's view is read
    BINDINGS = [
        Binding(
            "n",
            "new_session",
            "Séance",
            tooltip="Nouvelle séance (ou reprendre la séance ouverte)",
            id="home.new_session",
        ),
        Binding("n", "refuse('new_session')", show=False),
        Binding(
            "v", "verify", "Vérifier", tooltip="Vérifier un pass sans l'encaisser", id="home.verify"
        ),
        Binding("h", "history", "Historique", id="home.history"),
        Binding("s", "sync", "Synchro", tooltip="Synchroniser avec la région", id="home.sync"),
        # In the footer at a distributor site; elsewhere the key opens the screen that says why
        # carnets cannot be handed out here.
        Binding(
            "a",
            "attribution(True)",
            "Carnets",
            tooltip="Attribuer des carnets",
            id="home.attribution",
        ),
        Binding(
            "a",
            "attribution(False)",
            "Carnets",
            show=False,
            tooltip="Attribuer des carnets",
            id="home.attribution_hidden",
        ),
        Binding("a", "refuse('attribution')", show=False),
        Binding(
            "m",
            "month_end",
            "Fin de mois",
            tooltip="Fin de mois : clore le mois, remises, accusés de réception",
            id="home.month_end",
        ),
        Binding("m", "refuse('month_end')", show=False),
        Binding(
            "r",
            "reconciliation",
            "Rapprocher",
            tooltip="Rapprochement de la dernière remise accusée par la région",
            id="home.reconciliation",
        ),
        Binding("r", "refuse('reconciliation')", show=False),
        Binding(
            "t",
            "activity_report",
            "Activité",
            tooltip="Rapport d'activité du mois : thématiques, heures, pass",
            id="home.activity_report",
        ),
        Binding("d", "log_out", "Déconnexion", id="home.log_out"),
        scanner_test_binding("home"),
    ]

    @dataclass
    class Loaded(Message, bubble=False):
        view: HomeView

    @dataclass
    class LatestAcknowledged(Message, bubble=False):
        batch: BatchInfo | None

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
                yield Static("Séance", classes="card-title", id="desk-card-title")
                yield Static("…", id="open-session")
        yield KeysFooter()

    def on_screen_resume(self) -> None:
        self.sub_title = f"{self.context.operator_name} — accueil"
        self.refresh_stats()

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "attribution":
            in_footer = bool(parameters[0]) if parameters else True
            allowed = self.context.has_role(*ALLOWED_ROLES[action])
            shown = self.distributor or self.context.has_role("distributeur")
            return allowed and in_footer == shown
        if action in ALLOWED_ROLES:
            return self.context.has_role(*ALLOWED_ROLES[action])
        if action == "refuse":
            return not self.context.has_role(*ALLOWED_ROLES[str(parameters[0])])
        return True

    @work(thread=True, exclusive=True, exit_on_error=False)
    def refresh_stats(self) -> None:
        self.post_message(self.Loaded(self.context.site.home(self.context.operator_id)))

    @on(Loaded)
    def show(self, message: Loaded) -> None:
        view = message.view
        stats, sync_status = view.stats, view.sync
        open_session, unsent_attributions = view.open_session, view.unsent_attributions
        if view.distributor != self.distributor:
            self.distributor = view.distributor
            self.refresh_bindings()
        now = self.context.site.clock()
        self.query_one("#replica", Static).update(
            f"{thousands(stats.replica_pass_count)} pass"
            + f"\nMise à jour {age_text(stats.replica_updated_at, now)}"
            + f"\n{sync_text(sync_status, now)}"
            + f"\n{backup_text(view.backup, now)}"
        )
        waiting = f"{stats.waiting_count} pass\n{format_euros(stats.waiting_cents)}"
        if sync_status.pending_batches:
            count = sync_status.pending_batches
            waiting += f"\n{plural(count, 'remise')} sans accusé de réception"
        if sync_status.hub_url and sync_status.pending_declarations:
            count = sync_status.pending_declarations
            declared = "déclaré" if count == 1 else "déclarés"
            waiting += f"\n{plural(count, 'encaissement')} non encore {declared}"
        if unsent_attributions:
            waiting += f"\n{plural(unsent_attributions, 'attribution')} de carnets à envoyer"
        self.query_one("#waiting", Static).update(waiting)
        month = format_month(stats.month_start.year, stats.month_start.month)
        self.query_one("#month", Static).update(
            f"{month} : {stats.month_count} pass, {format_euros(stats.month_cents)}"
        )
        self.query_one(DayChart).show(stats.per_day)
        if not self.context.has_role(*ALLOWED_ROLES["new_session"]):
            self.query_one("#desk-card-title", Static).update("Carnets")
            text = (
                "Une demande de pass numériques :\n[b]a[/b] pour vérifier les droits\n"
                "et remettre les carnets."
            )
        elif open_session is None:
            text = "Aucune séance ouverte.\n[b]n[/b] pour en commencer une."
        else:
            text = (
                f"« {open_session.title} », ouverte le {format_datetime(open_session.started_at)}"
                "\n[b]n[/b] pour la reprendre."
            )
        self.query_one("#open-session", Static).update(text)

    def action_new_session(self) -> None:
        self.post_message(SessionWanted())

    def action_verify(self) -> None:
        self.app.push_screen(VerifyScreen(self.context))

    def action_history(self) -> None:
        self.app.push_screen(HistoryScreen(self.context))

    def action_log_out(self) -> None:
        self.post_message(LogOutRequested())

    def action_sync(self) -> None:
        self.app.push_screen(SyncScreen(self.context))

    def action_month_end(self) -> None:
        self.app.push_screen(MonthEndScreen(self.context))

    def action_activity_report(self) -> None:
        period = self.context.site.activity_report.current_period()
        self.app.push_screen(ActivityReportScreen(self.context, period))

    def action_attribution(self, in_footer: bool = True) -> None:
        self.app.push_screen(AttributionRequestScreen(self.context))

    def action_reconciliation(self) -> None:
        self.open_latest_reconciliation()

    def action_refuse(self, what: str) -> None:
        self.notify(REFUSALS[what], severity="warning")
        self.app.bell()

    @work(thread=True, exclusive=True, group="reconciliation", exit_on_error=False)
    def open_latest_reconciliation(self) -> None:
        self.post_message(
            self.LatestAcknowledged(self.context.site.month_end.latest_acknowledged())
        )

    @on(LatestAcknowledged)
    def show_reconciliation(self, message: LatestAcknowledged) -> None:
        if message.batch is None:
            self.notify(
                "Aucune remise n'a encore d'accusé de réception de la région : "
                "rien à rapprocher pour l'instant.",
                severity="warning",
            )
            return
        self.app.push_screen(ReconciliationScreen(self.context, message.batch.batch_id))


def backup_text(status: BackupStatus, now: datetime) -> str:
    """One line on the site's backups, for the replica card."""
    if status.last_error:
        return "Dernière sauvegarde en échec"
    if status.last_backup_at is None:
        return "Aucune sauvegarde" if status.folder else "Sauvegarde non réglée"
    age = age_text(status.last_backup_at, now)
    if status.folder and not status.folder_present:
        return f"Sauvegardée {age} (clé absente)"
    return f"Sauvegardée {age}"


def sync_text(status: SyncStatus, now: datetime) -> str:
    """One line on the sync with the region, for the replica card."""
    if not status.enrolled:
        return "Non inscrit auprès de la région"
    if not status.hub_url:
        return "Inscrit par fichier (clé USB)"
    if status.last_error:
        return "Dernière synchro en échec"
    if status.last_sync_at is None:
        return "Jamais synchronisée"
    return f"Synchronisée {age_text(status.last_sync_at, now)}"
