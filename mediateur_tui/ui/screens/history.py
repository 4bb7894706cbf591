"""History: every redemption and refused scan, searchable, filterable, exportable to CSV."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal
from textual.message import Message
from textual.widgets import DataTable, Header, Input, Select, Static
from textual.widgets.select import NoSelection

from mediateur_tui.domain.formatting import LOCAL_TZ, format_euros, parse_french_date, plural
from mediateur_tui.services.history import (
    HISTORY_LIMIT,
    HistoryFilter,
    HistoryRow,
    Status,
)
from mediateur_tui.ui.context import DeskContext
from mediateur_tui.ui.screens.base import SiteScreen
from mediateur_tui.ui.screens.history_row import HistoryRowScreen
from mediateur_tui.ui.widgets.form_field import OrderedInput
from mediateur_tui.ui.widgets.keys_footer import KeysFooter


class HistoryScreen(SiteScreen[None]):
    BINDINGS = [
        # priority: the search field has the focus, and Input binds ctrl+e to "end of line".
        Binding("ctrl+e", "export", "Exporter en CSV", id="history.export", priority=True),
        Binding("escape", "app.pop_screen", "Retour", id="history.back"),
    ]
    AUTO_FOCUS = "#search"

    @dataclass
    class SessionsLoaded(Message, bubble=False):
        options: list[tuple[str, int]]  # (label, session id), newest first

    @dataclass
    class RowsLoaded(Message, bubble=False):
        rows: list[HistoryRow]
        generation: int  # of the filter it answers: a late answer to an older one is left out

    @dataclass
    class Exported(Message, bubble=False):
        count: int
        path: Path

    def __init__(self, context: DeskContext) -> None:
        super().__init__(context)
        self.rows: list[HistoryRow] = []
        self.generation = 0  # one per change of the filters

    def compose(self) -> ComposeResult:
        yield Header()
        with Horizontal(classes="filters"):
            yield OrderedInput(placeholder="Code ou partie du code", id="search")
            yield Select(
                [(status.label, status.value) for status in Status], prompt="Statut", id="status"
            )
        with Horizontal(classes="filters"):
            yield OrderedInput(placeholder="Du JJ/MM/AAAA", id="since", max_length=10)
            yield OrderedInput(placeholder="Au JJ/MM/AAAA", id="until", max_length=10)
            yield Select([], prompt="Séance", id="session")
        yield Static("", id="history-count")
        yield DataTable(id="history", cursor_type="row", zebra_stripes=True)
        yield KeysFooter()

    def on_mount(self) -> None:
        self.sub_title = "historique"
        self.query_one("#history", DataTable).add_columns(
            "Date", "Statut", "Code", "Montant", "Détail", "Séance", "Par"
        )
        self.load_sessions()
        self.reload()

    @work(thread=True, group="sessions", exit_on_error=False)
    def load_sessions(self) -> None:
        sessions = self.context.site.history.sessions()
        self.post_message(self.SessionsLoaded([(label, number) for number, label in sessions]))

    @on(SessionsLoaded)
    def sessions_loaded(self, message: SessionsLoaded) -> None:
        # The list arriving changes no filter: no second load of the table (whose rows would
        # be drawn twice, the second time racing the first).
        with self.prevent(Select.Changed):
            self.query_one("#session", Select).set_options(message.options)

    @on(Input.Changed)
    @on(Select.Changed)
    def filters_changed(self) -> None:
        self.reload()

    def current_filter(self) -> HistoryFilter | None:
        """The filter from the form, or None (with a message) when a date is not valid."""
        try:
            since = parse_french_date(self.query_one("#since", Input).value)
            until = parse_french_date(self.query_one("#until", Input).value)
        except ValueError:
            self.query_one("#history-count", Static).update("Date attendue : JJ/MM/AAAA.")
            return None
        status = self.query_one("#status", Select).value
        session_id = self.query_one("#session", Select).value
        return HistoryFilter(
            text=self.query_one("#search", Input).value.strip(),
            since=since,
            until=until,
            status=None if isinstance(status, NoSelection) else Status(status),
            session_id=None if isinstance(session_id, NoSelection) else int(session_id),
        )

    def reload(self) -> None:
        self.generation += 1
        wanted = self.current_filter()
        if wanted is not None:
            self.load(wanted, self.generation)

    @work(thread=True, exclusive=True, group="history", exit_on_error=False)
    def load(self, wanted: HistoryFilter, generation: int) -> None:
        rows = self.context.site.history.search(wanted)
        self.post_message(self.RowsLoaded(rows, generation))

    @on(RowsLoaded)
    def show(self, message: RowsLoaded) -> None:
        if message.generation != self.generation:
            return
        rows = self.rows = message.rows
        table = self.query_one("#history", DataTable)
        table.clear()
        for row in rows:
            table.add_row(
                f"{row.at.astimezone(LOCAL_TZ):%d/%m/%y %H:%M}",
                row.status.label,
                row.code,
                format_euros(row.value_cents) if row.value_cents else "",
                row.detail,
                row.session_title,
                row.operator_name,
            )
        limit = f" (les {HISTORY_LIMIT} plus récentes)" if len(rows) >= HISTORY_LIMIT else ""
        self.query_one("#history-count", Static).update(
            f"{plural(len(rows), 'ligne')}{limit} · Entrée : détail de la ligne · "
            "Ctrl+E : exporter en CSV"
        )

    @on(DataTable.RowSelected, "#history")
    def open_row(self, event: DataTable.RowSelected) -> None:
        if 0 <= event.cursor_row < len(self.rows):
            self.app.push_screen(HistoryRowScreen(self.rows[event.cursor_row]))

    def action_export(self) -> None:
        self.export(list(self.rows))

    @work(thread=True, group="export", exit_on_error=False)
    def export(self, rows: list[HistoryRow]) -> None:
        path = self.context.site.history.export(rows)
        self.post_message(self.Exported(len(rows), path))

    @on(Exported)
    def exported(self, message: Exported) -> None:
        exported = plural(message.count, "ligne exportée", "lignes exportées")
        self.notify(f"{exported} dans {message.path}")
