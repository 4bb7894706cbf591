"""History: every redemption and refused scan, searchable, filterable, exportable to CSV."""

from __future__ import annotations

from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal
from textual.screen import Screen
from textual.widgets import DataTable, Header, Input, Select, Static

from mediateur_tui.domain.formatting import LOCAL_TZ, format_euros, parse_french_date
from mediateur_tui.services.history import (
    HISTORY_LIMIT,
    HistoryFilter,
    HistoryRow,
    Status,
    export_csv,
    search,
    sessions,
)
from mediateur_tui.widgets.keys_footer import KeysFooter


class HistoryScreen(Screen):
    BINDINGS = [
        # priority: the search field has the focus, and Input binds ctrl+e to "end of line".
        Binding("ctrl+e", "export", "Exporter en CSV", id="history.export", priority=True),
        Binding("escape", "app.pop_screen", "Retour", id="history.back"),
    ]
    AUTO_FOCUS = "#search"

    def __init__(self) -> None:
        super().__init__()
        self.rows: list[HistoryRow] = []

    def compose(self) -> ComposeResult:
        yield Header()
        with Horizontal(classes="filters"):
            yield Input(placeholder="Code ou partie du code", id="search")
            yield Select(
                [(status.label, status.value) for status in Status], prompt="Statut", id="status"
            )
        with Horizontal(classes="filters"):
            yield Input(placeholder="Du JJ/MM/AAAA", id="since", max_length=10)
            yield Input(placeholder="Au JJ/MM/AAAA", id="until", max_length=10)
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

    @work(thread=True, group="sessions")
    def load_sessions(self) -> None:
        options = [(label, session_id) for session_id, label in sessions(self.app.engine)]
        self.app.call_from_thread(self.query_one("#session", Select).set_options, options)

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
            status=None if status is Select.NULL else Status(status),
            session_id=None if session_id is Select.NULL else int(session_id),
        )

    def reload(self) -> None:
        wanted = self.current_filter()
        if wanted is not None:
            self.load(wanted)

    @work(thread=True, exclusive=True, group="history")
    def load(self, wanted: HistoryFilter) -> None:
        rows = search(self.app.engine, wanted)
        self.app.call_from_thread(self._show, rows)

    def _show(self, rows: list[HistoryRow]) -> None:
        self.rows = rows
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
            f"{len(rows)} ligne(s){limit} · Ctrl+E : exporter en CSV"
        )

    def action_export(self) -> None:
        self.export(list(self.rows))

    @work(thread=True, group="export")
    def export(self, rows: list[HistoryRow]) -> None:
        stamp = self.app.clock()
        name = f"historique-{stamp.astimezone(LOCAL_TZ):%Y%m%d-%H%M%S}.csv"
        try:
            path = export_csv(rows, self.app.data_dir / "exports" / name)
        except OSError as error:
            self.app.call_from_thread(self.notify, f"Export impossible : {error}", severity="error")
            return
        self.app.call_from_thread(self.notify, f"{len(rows)} ligne(s) exportée(s) dans {path}")
