"""The attributions of carnets made on this site, the latest first, with where each stands with
the region; the receipt of the selected one can be written again."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from rich.markup import escape
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.message import Message
from textual.widgets import DataTable, Header, Static
from textual.worker import Worker

from mediateur_tui.domain.beneficiaries import format_reference
from mediateur_tui.domain.formatting import LOCAL_TZ, format_date, format_datetime, plural
from mediateur_tui.services.attribution import AttributionDesk, AttributionInfo
from mediateur_tui.services.attribution_receipt import write_receipt
from mediateur_tui.ui.context import DeskContext
from mediateur_tui.ui.screens.base import SiteScreen, failure_text
from mediateur_tui.ui.widgets.keys_footer import KeysFooter


def short_status(info: AttributionInfo) -> str:
    """The state in a few words, for the table (the detail says it all)."""
    if info.verdict is None:
        return "envoyée" if info.sent_at else "à envoyer"
    return "refusée" if info.refused else "acceptée"


class AttributionsScreen(SiteScreen[None]):
    BINDINGS = [
        Binding(
            "p",
            "receipt",
            "Reçu",
            tooltip="Écrire de nouveau le reçu (PDF) de l'attribution sélectionnée",
            id="attributions.receipt",
        ),
        Binding("escape", "app.pop_screen", "Retour", id="attributions.back"),
    ]
    AUTO_FOCUS = "#attributions"
    DESK_HELP = False

    @dataclass
    class Listed(Message, bubble=False):
        rows: list[AttributionInfo]

    @dataclass
    class ReceiptWritten(Message, bubble=False):
        path: Path

    def __init__(self, context: DeskContext, desk: AttributionDesk) -> None:
        super().__init__(context)
        self.desk = desk
        self.rows: list[AttributionInfo] = []

    def compose(self) -> ComposeResult:
        yield Header()
        yield Static("", id="attributions-count")
        yield DataTable(id="attributions", cursor_type="row", zebra_stripes=True)
        yield Static("", id="attribution-detail")
        yield KeysFooter()

    def on_mount(self) -> None:
        self.sub_title = "attributions de carnets"
        self.query_one("#attributions", DataTable).add_columns(
            "Remise le", "Bénéficiaire", "Pass", "État"
        )
        self.reload()

    def work_failed(self, worker: Worker[object], error: BaseException) -> bool:
        if worker.group != "attributions":
            return False
        unreadable = "Liste des attributions illisible : voir le journal (mediateur.log)."
        self.query_one("#attributions-count", Static).update(failure_text(error, unreadable))
        return True

    @work(thread=True, exclusive=True, group="attributions", exit_on_error=False)
    def reload(self) -> None:
        self.post_message(self.Listed(self.desk.recent()))

    @on(Listed)
    def show(self, message: Listed) -> None:
        rows = self.rows = message.rows
        table = self.query_one("#attributions", DataTable)
        table.clear()
        for info in rows:
            table.add_row(
                f"{info.attributed_at.astimezone(LOCAL_TZ):%d/%m/%y %H:%M}",
                format_reference(info.beneficiary_ref),
                str(info.passes),
                short_status(info),
                key=info.id,
            )
        unsent = sum(1 for info in rows if info.verdict is None and info.sent_at is None)
        count = plural(len(rows), "attribution")
        if unsent:
            count += f", dont {unsent} à envoyer à la région (synchronisation)"
        self.query_one("#attributions-count", Static).update(count)
        self._show_detail()

    def selected(self) -> AttributionInfo | None:
        table = self.query_one("#attributions", DataTable)
        if not self.rows or table.cursor_row < 0 or table.cursor_row >= len(self.rows):
            return None
        return self.rows[table.cursor_row]

    @on(DataTable.RowHighlighted, "#attributions")
    def _show_detail(self) -> None:
        info = self.selected()
        detail = self.query_one("#attribution-detail", Static)
        if info is None:
            detail.update("Aucune attribution enregistrée sur ce lieu.")
            return
        book = next((book for book in self.desk.rulebooks if book.id == info.rulebook), None)
        category = info.category
        if book is not None and info.category in book.categories:
            category = book.categories[info.category].label
        carnets = ", ".join(f"{carnet.id} ({carnet.size} pass)" for carnet in info.carnets)
        how = "accompagnée" if info.accompanied else "faite seule"
        detail.update(
            f"[b]{format_datetime(info.attributed_at)}[/b], par {escape(info.operator_name)} : "
            f"{carnets}\n"
            f"Demande du {format_date(info.received_on)}, {how} — {escape(category)} "
            f"(règlement {escape(info.rulebook)})\n"
            f"État : {escape(info.status)}"
        )

    def action_receipt(self) -> None:
        info = self.selected()
        if info is None:
            self.notify("Aucune attribution sélectionnée.", severity="warning")
            return
        self.write(info.id)

    @work(thread=True, group="receipt", exit_on_error=False)
    def write(self, attribution_id: str) -> None:
        self.post_message(self.ReceiptWritten(write_receipt(self.desk, attribution_id)))

    @on(ReceiptWritten)
    def receipt_written(self, message: ReceiptWritten) -> None:
        self.notify(f"Reçu écrit : {message.path}")
