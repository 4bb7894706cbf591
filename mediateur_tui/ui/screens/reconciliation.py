"""Reconciliation (rapprochement) of one batch: every line with the region's verdict and its
reason, the totals in euros, and a filter to see only the refused lines."""

from __future__ import annotations

from dataclasses import dataclass

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.message import Message
from textual.widgets import DataTable, Header, Static
from textual.worker import Worker

from mediateur_tui.domain.codes import format_code
from mediateur_tui.domain.errors import UserError
from mediateur_tui.domain.formatting import LOCAL_TZ, format_datetime, format_euros, plural
from mediateur_tui.domain.periods import period_label
from mediateur_tui.services.reconciliation import Reconciliation, ReconciliationLine
from mediateur_tui.ui.context import DeskContext
from mediateur_tui.ui.screens.base import SiteScreen, failure_text
from mediateur_tui.ui.widgets.keys_footer import KeysFooter


class ReconciliationScreen(SiteScreen[None]):
    BINDINGS = [
        Binding(
            "f",
            "toggle_filter",
            "Refusés seulement",
            tooltip="Afficher seulement les lignes refusées (ou toutes)",
            id="reconciliation.filter",
        ),
        Binding("escape", "app.pop_screen", "Retour", id="reconciliation.back"),
    ]

    @dataclass
    class Loaded(Message, bubble=False):
        result: Reconciliation | str  # the batch line by line, or why it cannot be read

    def __init__(self, context: DeskContext, batch_id: str) -> None:
        super().__init__(context)
        self.batch_id = batch_id
        self.result: Reconciliation | None = None
        self.refused_only = False

    def compose(self) -> ComposeResult:
        yield Header()
        yield Static("…", id="recon-title")
        yield DataTable(id="recon-lines", cursor_type="row", zebra_stripes=True)
        yield Static("", id="recon-detail")
        yield Static("", id="recon-totals")
        yield KeysFooter()

    def on_mount(self) -> None:
        self.sub_title = "rapprochement"
        self.query_one("#recon-lines", DataTable).add_columns(
            "Code", "Date", "Montant", "Verdict", "Motif"
        )
        self.load()

    def work_failed(self, worker: Worker[object], error: BaseException) -> bool:
        self.query_one("#recon-title", Static).update(Text(failure_text(error)))
        return True

    @work(thread=True, exclusive=True, exit_on_error=False)
    def load(self) -> None:
        try:
            result: Reconciliation | str = self.context.site.month_end.reconciliation(self.batch_id)
        except UserError as error:
            result = str(error)
        self.post_message(self.Loaded(result))

    @on(Loaded)
    def show(self, message: Loaded) -> None:
        if isinstance(message.result, str):
            self.query_one("#recon-title", Static).update(Text(message.result))
            return
        result = self.result = message.result
        batch = result.batch
        title = (
            f"[b]Remise n° {batch.sequence} — {period_label(batch.period)}[/b] · "
            f"{plural(batch.redemption_count, 'pass', 'pass')}, {format_euros(batch.value_cents)}"
        )
        if batch.acknowledged_at is not None:
            title += (
                f"\nAccusé de réception de la région du {format_datetime(batch.acknowledged_at)}"
            )
        else:
            title += "\nPas encore d'accusé de réception de la région : lignes en attente."
        self.query_one("#recon-title", Static).update(title)
        self._fill()

    def _fill(self) -> None:
        result = self.result
        if result is None:
            return
        table = self.query_one("#recon-lines", DataTable)
        table.clear()
        lines = [line for line in result.lines if line.refused or not self.refused_only]
        for line in lines:
            table.add_row(
                format_code(line.code),
                f"{line.redeemed_at.astimezone(LOCAL_TZ):%d/%m %H:%M}",
                format_euros(line.value_cents),
                verdict_text(line),
                line.reason_short,
                key=line.redemption_id,
            )
        totals = (
            f"[b]Acceptés : {result.accepted_count} pass, "
            f"{format_euros(result.accepted_cents)}[/b] · "
            f"Refusés : {result.refused_count} pass, {format_euros(result.refused_cents)}"
        )
        waiting = len(result.lines) - result.accepted_count - result.refused_count
        if waiting:
            totals += f" · En attente : {waiting}"
        if self.refused_only:
            totals += f"\nFiltre : refusés seulement ({len(lines)} sur {len(result.lines)})"
        self.query_one("#recon-totals", Static).update(totals)
        self._show_detail(lines[0] if lines else None)

    @on(DataTable.RowHighlighted, "#recon-lines")
    def highlighted(self, event: DataTable.RowHighlighted) -> None:
        if self.result is None or event.row_key is None:
            return
        line = next(
            (line for line in self.result.lines if line.redemption_id == event.row_key.value),
            None,
        )
        self._show_detail(line)

    def _show_detail(self, line: ReconciliationLine | None) -> None:
        detail = self.query_one("#recon-detail", Static)
        if line is None:
            detail.update("Aucune ligne refusée." if self.refused_only else "")
            return
        text = Text()
        text.append(f"{format_code(line.code)}", style="bold")
        text.append(f", encaissé le {format_datetime(line.redeemed_at)} : ")
        if line.refused:
            text.append(f"refusé — {line.reason_text}.")
        elif line.accepted:
            text.append("accepté par la région.")
        else:
            text.append("en attente de l'accusé de réception.")
        detail.update(text)

    def action_toggle_filter(self) -> None:
        self.refused_only = not self.refused_only
        self._fill()


def verdict_text(line: ReconciliationLine) -> Text:
    """The verdict's word, in its colour (the word says it without the colour)."""
    style = "green" if line.accepted else "bold red" if line.refused else "dim"
    return Text(line.verdict_label, style=style)
