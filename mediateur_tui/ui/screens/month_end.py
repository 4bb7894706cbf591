"""Month end, for the responsable: the batches and their state, close the previous month,
export batches for the USB key, import the region's acknowledgement, open a reconciliation."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.message import Message
from textual.widgets import DataTable, Header, Static
from textual.worker import Worker

from mediateur_tui.domain.errors import UserError
from mediateur_tui.domain.formatting import acknowledged_passes, format_euros, plural
from mediateur_tui.domain.periods import (
    month_of,
    nothing_to_close,
    period_label,
    period_to_close,
)
from mediateur_tui.services.acks import AckSummary
from mediateur_tui.services.batch_files import ExportedBatch
from mediateur_tui.services.batches import BatchInfo
from mediateur_tui.services.month_end import report_not_written
from mediateur_tui.services.reconciliation import BatchOverview, ClosePreview
from mediateur_tui.ui.context import DeskContext
from mediateur_tui.ui.screens.activity_report import ActivityReportScreen
from mediateur_tui.ui.screens.base import SiteScreen, failure_text
from mediateur_tui.ui.screens.close_month import CloseMonthScreen
from mediateur_tui.ui.screens.close_period import ClosePeriodScreen
from mediateur_tui.ui.screens.export_batches import ExportBatchesScreen, ExportRequest
from mediateur_tui.ui.screens.path_prompt import PathPromptScreen
from mediateur_tui.ui.screens.reconciliation import ReconciliationScreen
from mediateur_tui.ui.screens.sync import SyncScreen
from mediateur_tui.ui.widgets.keys_footer import KeysFooter


class MonthEndScreen(SiteScreen[None]):
    BINDINGS = [
        Binding(
            "c",
            "close_month",
            "Clore le mois",
            tooltip="Clore un mois, le précédent par défaut (sceller sa remise)",
            id="month_end.close",
        ),
        Binding(
            "e",
            "export",
            "Exporter",
            tooltip="Exporter des remises (clé USB)",
            id="month_end.export",
        ),
        Binding(
            "i",
            "import_ack",
            "Importer accusé",
            tooltip="Importer un accusé de réception de la région",
            id="month_end.import_ack",
        ),
        Binding(
            "r",
            "open_batch",
            "Rapprochement",
            tooltip="Rapprochement de la remise sélectionnée (ou Entrée)",
            id="month_end.open",
        ),
        Binding(
            "t",
            "activity_report",
            "Activité",
            show=False,
            tooltip="Rapport d'activité du mois à clore : thématiques, heures, pass",
            id="month_end.activity_report",
        ),
        Binding(
            "x",
            "export_activity",
            "Export Coop",
            show=False,
            tooltip="Exporter l'activité du mois pour La Coop de la médiation numérique "
            "(.xlsx, .csv, .json)",
            id="month_end.export_activity",
        ),
        Binding("escape", "app.pop_screen", "Retour", id="month_end.back"),
        Binding(
            "s",
            "sync",
            "Synchro",
            show=False,
            tooltip="Synchroniser avec la région (envoyer les remises, recevoir les accusés)",
            id="month_end.sync",
        ),
    ]
    KEY_NOTES = (
        "[b]Fin de mois[/b]\n"
        "Clore le mois scelle ses encaissements dans une remise signée, envoyée à la région "
        "à la synchronisation (touche s de l'accueil) ou exportée sur une clé USB. "
        "La région répond par un accusé de réception, ligne par ligne : Entrée sur une "
        "remise ouvre son rapprochement. La touche s synchronise d'ici aussi. "
        "La touche t ouvre le rapport d'activité du mois à clore (écrit aussi en PDF et CSV "
        "à côté de la remise quand le mois est clos), x exporte son activité pour La Coop."
    )

    @dataclass
    class Listed(Message, bubble=False):
        rows: list[BatchOverview]
        select: str | None  # the batch to put the cursor on

    @dataclass
    class AckRefused(Message, bubble=False):
        text: str
        path: Path  # as typed: asked again, to correct it

    @dataclass
    class Said(Message, bubble=False):
        text: str
        error: bool = False

    @dataclass
    class Previewed(Message, bubble=False):
        preview: ClosePreview

    @dataclass
    class Closed(Message, bubble=False):
        batch: BatchInfo
        report_written: bool  # the month's activity report beside the remise

    @dataclass
    class Exported(Message, bubble=False):
        directory: Path
        exported: list[ExportedBatch]

    @dataclass
    class AckImported(Message, bubble=False):
        summary: AckSummary

    @dataclass
    class ActivityExported(Message, bubble=False):
        path: Path
        sessions: int

    @dataclass
    class ActivityExportRefused(Message, bubble=False):
        text: str
        path: Path  # as typed: asked again, to correct it

    def __init__(self, context: DeskContext) -> None:
        super().__init__(context)
        self.rows: list[BatchOverview] = []
        self.period = ""  # the month proposed by c: the previous one

    def compose(self) -> ComposeResult:
        yield Header()
        yield Static("", id="month-info")
        yield DataTable(id="batches", cursor_type="row", zebra_stripes=True)
        yield Static("", id="month-message", classes="message")
        yield KeysFooter()

    def on_mount(self) -> None:
        self.sub_title = "fin de mois"
        self.query_one("#batches", DataTable).add_columns("Période", "N°", "Pass", "Total", "État")
        # The home does not offer it to others; the palette must not either.
        if not self.context.is_responsable:
            self.say("La fin de mois est réservée aux responsables du lieu.", error=True)
            return
        self.period = self.context.site.month_end.default_period()

    def work_failed(self, worker: Worker[object], error: BaseException) -> bool:
        self.say(failure_text(error), error=True)
        self.app.bell()
        return True

    def on_screen_resume(self) -> None:
        """On arrival, and back from a sync or a reconciliation: the states may have changed."""
        if self.context.is_responsable:
            selected = self.selected()
            self.reload(select=selected.batch.batch_id if selected else None)

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action in (
            "close_month",
            "export",
            "import_ack",
            "open_batch",
            "sync",
            "activity_report",
            "export_activity",
        ):
            return self.context.is_responsable
        return True

    # --- the list -------------------------------------------------------------------------

    @work(thread=True, exclusive=True, group="batches", exit_on_error=False)
    def reload(self, select: str | None = None) -> None:
        self.post_message(self.Listed(self.context.site.month_end.overview(), select))

    @on(Listed)
    def show(self, message: Listed) -> None:
        rows = self.rows = message.rows
        select = message.select
        table = self.query_one("#batches", DataTable)
        table.clear()
        for row in rows:
            batch = row.batch
            table.add_row(
                period_label(batch.period),
                str(batch.sequence),
                str(batch.redemption_count),
                format_euros(batch.value_cents),
                state_text(row),
                key=batch.batch_id,
            )
        if select is not None:
            index = next((i for i, row in enumerate(rows) if row.batch.batch_id == select), 0)
            table.move_cursor(row=index)
        pending = sum(1 for row in rows if row.batch.acknowledged_at is None)
        now = self.context.site.clock()
        to_close = period_to_close(now, {row.batch.period for row in rows})
        if to_close is None:
            info = f"Mois à clore : {nothing_to_close(now)}"
        else:
            info = f"Mois à clore : [b]{period_label(to_close)}[/b] (touche c)"
        if not rows:
            info += "\nAucune remise pour l'instant."
        else:
            info += f"\n{plural(len(rows), 'remise')}"
            if pending:
                info += f", dont {pending} sans accusé de réception"
            info += " · Entrée : rapprochement"
        self.query_one("#month-info", Static).update(info)

    def selected(self) -> BatchOverview | None:
        table = self.query_one("#batches", DataTable)
        if not self.rows or table.cursor_row < 0 or table.cursor_row >= len(self.rows):
            return None
        return self.rows[table.cursor_row]

    def say(self, message: str, error: bool = False) -> None:
        line = self.query_one("#month-message", Static)
        line.update(Text(message))
        line.set_class(error, "error")

    # --- close a month (the previous one by default) ---------------------------------------

    def action_close_month(self) -> None:
        def chosen(period: str | None) -> None:
            if period is not None:
                self.say(f"Préparation de la clôture {month_of(period_label(period))}…")
                self.prepare_close(period)

        self.app.push_screen(ClosePeriodScreen(self.period), chosen)

    @work(thread=True, exclusive=True, group="close", exit_on_error=False)
    def prepare_close(self, period: str) -> None:
        self.post_message(self.Previewed(self.context.site.month_end.preview(period)))

    @on(Previewed)
    def confirm_close(self, message: Previewed) -> None:
        preview = message.preview
        if preview.problem is not None:
            self.say(preview.problem, error=True)
            self.app.bell()
            return
        self.say("")

        def closed(confirmed: bool | None) -> None:
            if confirmed:
                self.say(f"Clôture {month_of(preview.label)}…")
                self.close_month(preview.period)

        self.app.push_screen(CloseMonthScreen(preview), closed)

    @work(thread=True, exclusive=True, group="close", exit_on_error=False)
    def close_month(self, period: str) -> None:
        operator = self.context.operator
        try:
            batch = self.context.site.month_end.close_month(
                period, operator.id if operator else None
            )
        except UserError as error:
            self.post_message(self.Said(str(error), error=True))
            return
        written = self.context.site.month_end.activity_report_file(period) is not None
        self.post_message(self.Closed(batch, written))

    @on(Closed)
    def closed(self, message: Closed) -> None:
        batch = message.batch
        self.say(
            f"Mois {month_of(period_label(batch.period))} clos : remise n° {batch.sequence}, "
            f"{plural(batch.redemption_count, 'pass', 'pass')}, "
            f"{format_euros(batch.value_cents)}. Envoyez-la (synchronisation) ou exportez-la (e)."
            + ("" if message.report_written else " " + report_not_written(batch.period))
        )
        self.reload(select=batch.batch_id)

    @on(Said)
    def said(self, message: Said) -> None:
        self.say(message.text, message.error)

    # --- export ---------------------------------------------------------------------------

    def action_export(self) -> None:
        if not self.rows:
            self.say("Aucune remise à exporter : clore d'abord un mois (touche c).", error=True)
            return
        selected = self.selected()
        pending = sum(1 for row in self.rows if row.batch.acknowledged_at is None)

        def chosen(request: ExportRequest | None) -> None:
            if request is not None:
                self.say(f"Export vers {request.directory}…")
                self.export(request)

        screen = ExportBatchesScreen(
            self.context.site.month_end.default_export_directory(),
            selected.batch if selected else None,
            pending,
        )
        self.app.push_screen(screen, chosen)

    @work(thread=True, exclusive=True, group="export", exit_on_error=False)
    def export(self, request: ExportRequest) -> None:
        try:
            exported = self.context.site.month_end.export(request.directory, request.batch_id)
        except UserError as error:
            self.post_message(self.Said(str(error), error=True))
            return
        self.post_message(self.Exported(request.directory, exported))

    @on(Exported)
    def exported(self, message: Exported) -> None:
        if not message.exported:
            self.say("Aucune remise sans accusé de réception : rien n'a été exporté.", error=True)
            return
        names = ", ".join(item.document.name for item in message.exported)
        self.say(
            f"{plural(len(message.exported), 'remise exportée', 'remises exportées')} dans "
            f"{message.directory} : {names} (+ CSV et bordereau PDF). "
            "Remettez le fichier .json.gz à la région."
        )

    # --- the region's acknowledgement -----------------------------------------------------

    def action_import_ack(self, path: str = "", error: str = "") -> None:
        """Asks for the file; after a refusal, again with the path typed and the reason."""

        def chosen(path: Path | None) -> None:
            if path is not None:
                self.say(f"Lecture de {path}…")
                self.import_ack(path)

        self.app.push_screen(
            PathPromptScreen(
                "Importer un accusé de réception",
                "Fichier remis par la région (accuse-….json.gz) :",
                placeholder="/media/cle-usb/accuse-….json.gz",
                value=path,
                error=error,
            ),
            chosen,
        )

    @work(thread=True, exclusive=True, group="import", exit_on_error=False)
    def import_ack(self, path: Path) -> None:
        try:
            summary = self.context.site.month_end.import_ack_file(path)
        except UserError as error:
            text = f"Accusé de réception refusé : {error} Rien n'a été importé."
            self.post_message(self.AckRefused(text, path))
            return
        self.post_message(self.AckImported(summary))

    @on(AckRefused)
    def ack_refused(self, message: AckRefused) -> None:
        self.say(message.text, error=True)
        self.action_import_ack(str(message.path), message.text)

    @on(AckImported)
    def ack_imported(self, message: AckImported) -> None:
        summary = message.summary
        batch = summary.batch
        again = " (déjà importé : rien n'a changé)" if summary.already_imported else ""
        self.say(
            f"Accusé de réception de la remise n° {batch.sequence} "
            f"({period_label(batch.period)}){again} : "
            f"{acknowledged_passes(summary.accepted, summary.accepted_cents, summary.refused)}. "
            "Entrée : le rapprochement."
        )
        self.reload(select=batch.batch_id)

    def action_sync(self) -> None:
        self.app.push_screen(SyncScreen(self.context))

    # --- the month's activity (La Coop de la médiation numérique) ---------------------------

    def action_activity_report(self) -> None:
        self.app.push_screen(ActivityReportScreen(self.context, self.period))

    def action_export_activity(self, path: str = "", error: str = "") -> None:
        """Asks for the file; after a refusal, again with the path typed and the reason."""
        month_end = self.context.site.month_end
        default = month_end.default_export_directory() / f"coop-activite-{self.period}.xlsx"

        def chosen(path: Path | None) -> None:
            if path is not None:
                self.say(f"Export de l'activité vers {path}…")
                self.export_activity(path)

        self.app.push_screen(
            PathPromptScreen(
                f"Exporter l'activité {month_of(period_label(self.period))} pour La Coop",
                "Fichier à écrire (.xlsx, .csv ou .json) :",
                placeholder=str(default),
                value=path or str(default),
                error=error,
            ),
            chosen,
        )

    @work(thread=True, exclusive=True, group="export_activity", exit_on_error=False)
    def export_activity(self, path: Path) -> None:
        try:
            count = self.context.site.activity.export(path, self.period)
        except UserError as error:
            self.post_message(self.ActivityExportRefused(str(error), path))
            return
        self.post_message(self.ActivityExported(path, count))

    @on(ActivityExportRefused)
    def activity_export_refused(self, message: ActivityExportRefused) -> None:
        self.say(message.text, error=True)
        self.action_export_activity(str(message.path), message.text)

    @on(ActivityExported)
    def activity_exported(self, message: ActivityExported) -> None:
        self.say(
            f"Activité {month_of(period_label(self.period))} exportée pour La Coop : "
            f"{plural(message.sessions, 'séance')} dans {message.path}."
        )

    # --- reconciliation -------------------------------------------------------------------

    @on(DataTable.RowSelected, "#batches")
    def row_chosen(self) -> None:
        self.action_open_batch()

    def action_open_batch(self) -> None:
        selected = self.selected()
        if selected is None:
            self.say("Aucune remise pour l'instant.", error=True)
            return
        self.app.push_screen(ReconciliationScreen(self.context, selected.batch.batch_id))


def state_text(row: BatchOverview) -> Text:
    """`scellée`, `envoyée` or `accusée : 11 acceptés, 1 refusé` (colours repeat the words)."""
    if row.accepted is None:
        return Text(row.state)
    text = Text("accusée : ")
    text.append(plural(row.accepted, "accepté"), style="green")
    if row.refused:
        text.append(", ")
        text.append(plural(row.refused, "refusé"), style="bold red")
    return text
