"""A session at the desk: scan or type passes; each accepted pass is recorded at once.

The scan field always has the focus. Submitted scans go into a queue that one thread worker
processes in order, so a burst from a fast scanner never blocks the screen or gets reordered.
The same worker reads the session's lines first, so they arrive before the one line each
redemption adds.
"""

from __future__ import annotations

import logging
import queue
from collections import deque
from dataclasses import dataclass, field
from pathlib import Path

from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.message import Message
from textual.widgets import DataTable, Header, Static
from textual.worker import get_current_worker

from mediateur_tui.domain.codes import first_unknown_symbol, format_code
from mediateur_tui.domain.errors import UserError
from mediateur_tui.domain.formatting import LOCAL_TZ, format_euros, plural
from mediateur_tui.domain.keyboard import Typing
from mediateur_tui.domain.verdicts import CheckResult, Verdict
from mediateur_tui.services.desk import RedemptionLine, SessionInfo, SessionSummary
from mediateur_tui.services.images import decode_image
from mediateur_tui.ui.context import DeskContext
from mediateur_tui.ui.screens.base import SiteScreen
from mediateur_tui.ui.screens.cancel_redemption import CancelRedemptionScreen
from mediateur_tui.ui.screens.image_file import ImageFileScreen
from mediateur_tui.ui.screens.new_session import NewSessionScreen, SessionForm
from mediateur_tui.ui.screens.scanner_test import scanner_test_binding
from mediateur_tui.ui.screens.session_summary import SessionSummaryScreen
from mediateur_tui.ui.widgets.keys_footer import KeysFooter
from mediateur_tui.ui.widgets.scan_field import ScanField
from mediateur_tui.ui.widgets.verdict_panel import (
    Outcome,
    VerdictKind,
    VerdictLine,
    VerdictPanel,
    ring,
)

log = logging.getLogger(__name__)
SCAN_PROMPT = "Scannez ou tapez un pass, puis Entrée."
UNEXPECTED_ERROR = (
    "Erreur inattendue : rien n'a été enregistré pour cette lecture. Réessayez ; si cela "
    "se répète, notez le pass sur papier et prévenez le ou la responsable (journal : "
    "mediateur.log)."
)
METHOD_LABELS = {"scan": "lecteur/clavier", "image": "image", "cli": "ligne de commande"}
DOUBLE_READ = "Lecture en double : ce pass est déjà enregistré dans cette séance."
_POLL_SECONDS = 0.2
MAX_TYPED_CODE = 32  # longer is no typed code: it is not given back to be corrected
CODE_COLUMN = "code"


@dataclass
class ImageCodes:
    """The codes of one image read with F2: shown together once every one has its verdict."""

    name: str  # the image's file name
    size: int  # how many codes it holds
    outcomes: list[Outcome] = field(default_factory=list)


class SessionScreen(SiteScreen[None]):
    BINDINGS = [
        Binding(
            "ctrl+z", "cancel_last", "Annuler dernier", id="session.cancel_last", priority=True
        ),
        Binding("f2", "read_image", "Lire image", id="session.read_image"),
        scanner_test_binding("session"),
        Binding(
            "f4",
            "correct_activity",
            "Activité",
            tooltip="Compléter ou corriger l'activité de la séance (La Coop)",
            id="session.activity",
        ),
        Binding("escape", "end_session", "Fin de séance", id="session.end"),
    ]
    AUTO_FOCUS = "#scan"

    @dataclass
    class ScanAnswered(Message, bubble=False):
        result: CheckResult
        line: RedemptionLine | None  # the redemption recorded, if the pass was taken
        method: str = "scan"  # how the text came in: "scan" (scanner, keyboard) or "image"

    @dataclass
    class ScanFailed(Message, bubble=False):
        reason: str  # nothing was recorded for this scan
        text: str
        method: str

    @dataclass
    class LinesLoaded(Message, bubble=False):
        lines: list[RedemptionLine]

    @dataclass
    class LinesUnread(Message, bubble=False):
        reason: str  # the session's earlier lines could not be read

    @dataclass
    class Cancelled(Message, bubble=False):
        note: str
        redemption_id: str

    @dataclass
    class ImageRead(Message, bubble=False):
        name: str  # the image's file name
        texts: list[str]  # the codes found, in reading order
        note: str  # why there are none

    @dataclass
    class ActivityCorrected(Message, bubble=False):
        desk_session: SessionInfo

    @dataclass
    class Ended(Message, bubble=False):
        summary: SessionSummary

    def __init__(self, context: DeskContext, desk_session: SessionInfo) -> None:
        super().__init__(context)
        self.desk_session = desk_session
        self.lines: list[RedemptionLine] = []
        self.pending = 0  # scans submitted and not yet answered
        # (text, input method, how its keys came)
        self._scans: queue.Queue[tuple[str, str, Typing]] = queue.Queue()
        self._images: deque[ImageCodes] = deque()  # images whose codes wait for their verdicts

    def compose(self) -> ComposeResult:
        yield Header()
        yield Static(self._title_text(), id="session-title")
        yield ScanField(placeholder=SCAN_PROMPT, id="scan")
        yield VerdictPanel(id="verdict")
        table: DataTable[str] = DataTable(id="lines", cursor_type="row", zebra_stripes=True)
        table.can_focus = False
        yield table
        yield Static("", id="totals")
        yield VerdictLine(id="verdict-line")
        yield KeysFooter()

    def on_mount(self) -> None:
        self.sub_title = f"{self.context.operator_name} — séance en cours"
        table = self.query_one("#lines", DataTable)
        table.add_column("Heure")
        table.add_column("Code", key=CODE_COLUMN)
        table.add_columns("Montant", "Saisie")
        self.query_one(VerdictPanel).show_waiting(SCAN_PROMPT)
        self.process_scans()

    def _title_text(self) -> str:
        kind = "Atelier collectif" if self.desk_session.kind == "collectif" else "Individuel"
        themes = f" — {self.desk_session.themes}" if self.desk_session.themes else ""
        return (
            f"[b]{self.desk_session.title}[/b]  ({kind}, "
            f"{self.desk_session.duration_minutes} min){themes}"
        )

    # --- scanning -------------------------------------------------------------------------

    @on(ScanField.Submitted, "#scan")
    def submit_scan(self, event: ScanField.Submitted) -> None:
        text = event.value  # ScanField has already emptied itself, ready for the next scan
        if text.strip():
            self.enqueue(text, "scan", event.typing)

    def enqueue(self, text: str, method: str, typing: Typing = Typing.UNKNOWN) -> None:
        self.pending += 1
        self._scans.put((text, method, typing))

    @work(thread=True, exit_on_error=False)
    def process_scans(self) -> None:
        desk, operator_id = self.context.site.desk, self.context.operator_id
        try:
            self.post_message(self.LinesLoaded(desk.session_redemptions(self.desk_session.id)))
        except Exception as error:  # the scans must still be taken, shown one by one
            log.exception("session lines not read")
            reason = str(error) if isinstance(error, UserError) else UNEXPECTED_ERROR
            self.post_message(self.LinesUnread(reason))
        worker = get_current_worker()
        while not worker.is_cancelled:
            try:
                text, method, typing = self._scans.get(timeout=_POLL_SECONDS)
            except queue.Empty:
                continue
            try:
                scanned = desk.record_scan(self.desk_session.id, operator_id, text, method, typing)
            except UserError as error:
                self.post_message(self.ScanFailed(str(error), text, method))
                continue
            except Exception:  # the loop must survive, or every later scan would wait forever
                log.exception("scan failed")
                self.post_message(self.ScanFailed(UNEXPECTED_ERROR, text, method))
                continue
            self.post_message(self.ScanAnswered(scanned.result, scanned.line, method))

    @on(ScanAnswered)
    def show_result(self, message: ScanAnswered) -> None:
        result = message.result
        self.pending -= 1
        already_in_session = any(line.code == result.code for line in self.lines)
        notice = result.verdict is Verdict.REDEEMED_HERE and already_in_session
        gathered = message.method == "image" and self._gather(Outcome(result.input, result, notice))
        if notice and not gathered:
            self.query_one(VerdictPanel).show_result(result, DOUBLE_READ, notice=True)
        elif not gathered:
            ring(self.app, self.query_one(VerdictPanel).show_result(result))
            if result.verdict is Verdict.MALFORMED:
                self._give_back(result.input)
        if message.line is not None:
            self._add_line(message.line)

    def _give_back(self, typed: str) -> None:
        """Puts a mistyped code back in the empty field, to be corrected rather than retyped.
        The whole text is selected, so that a scan (or typing) replaces it rather than being
        glued to it; ← or → then puts the cursor on the first character no code holds (the
        verdict names it). Not while other scans wait, nor for a QR payload."""
        field = self.query_one("#scan", ScanField)
        if self.pending or field.value or ":" in typed or len(typed) > MAX_TYPED_CODE:
            return
        field.give_back(typed, first_unknown_symbol(typed))

    @on(ScanFailed)
    def show_failure(self, message: ScanFailed) -> None:
        self.pending -= 1
        outcome = Outcome(message.text, None, failure=message.reason)
        if message.method == "image" and self._gather(outcome):
            return
        self.query_one(VerdictPanel).show_waiting(message.reason)
        ring(self.app, VerdictKind.REFUSED)

    def _gather(self, outcome: Outcome) -> bool:
        """Adds the verdict of a code read from an image; whether it waits for the summary of
        an image with several codes (shown, with its bells, once the last one is in). Image
        codes come back in the order their images were read."""
        image = self._images[0]
        image.outcomes.append(outcome)
        if len(image.outcomes) == image.size:
            self._images.popleft()
            if image.size > 1:
                panel = self.query_one(VerdictPanel)
                ring(self.app, panel.show_summary(image.name, image.outcomes))
        return image.size > 1

    @on(LinesLoaded)
    def lines_loaded(self, message: LinesLoaded) -> None:
        self._show_lines(message.lines)

    @on(LinesUnread)
    def lines_unread(self, message: LinesUnread) -> None:
        self.query_one(VerdictPanel).show_waiting(message.reason)

    def _show_lines(self, lines: list[RedemptionLine]) -> None:
        self.lines = list(lines)
        table = self.query_one("#lines", DataTable)
        table.clear()
        for line in reversed(lines):  # newest first
            self._add_row(table, line)
        self._show_totals()

    def _add_line(self, line: RedemptionLine) -> None:
        """One more redemption: one row added, so the 200th scan of an atelier costs what the
        first did (rebuilding the table would cost the whole session at every scan)."""
        for stale in [shown for shown in self.lines if shown.code == line.code]:
            # Taken again, so its earlier line was cancelled meanwhile (in another window).
            self._remove_line(stale.id)
        table = self.query_one("#lines", DataTable)
        self.lines.append(line)
        self._add_row(table, line)
        # DataTable adds at the bottom; sorting moves only its row keys: newest first again.
        # A code has one active redemption at a site (and here one line), so it names its line.
        position = {format_code(line.code): index for index, line in enumerate(self.lines)}
        table.sort(CODE_COLUMN, key=lambda code: -position[code])
        self._show_totals()

    def _remove_line(self, redemption_id: str) -> None:
        self.lines = [line for line in self.lines if line.id != redemption_id]
        self.query_one("#lines", DataTable).remove_row(redemption_id)

    @staticmethod
    def _add_row(table: DataTable[str], line: RedemptionLine) -> None:
        table.add_row(
            f"{line.redeemed_at.astimezone(LOCAL_TZ):%H:%M:%S}",
            format_code(line.code),
            format_euros(line.value_cents),
            METHOD_LABELS.get(line.input_method, line.input_method),
            key=line.id,
        )

    def _show_totals(self) -> None:
        lines = self.lines
        total = sum(line.value_cents for line in lines)
        self.query_one("#totals", Static).update(
            f"[b]{plural(len(lines), 'pass', 'pass')} encaissé{'s' if len(lines) > 1 else ''}"
            f" · {format_euros(total)}[/b]"
        )

    # --- cancelling -----------------------------------------------------------------------

    def action_cancel_last(self) -> None:
        if self.pending:
            self.notify("Lecture en cours : attendez le verdict avant d'annuler.")
            return
        if not self.lines:
            self.notify("Aucun encaissement à annuler dans cette séance.", severity="warning")
            return
        line = self.lines[-1]

        def cancel(reason: str | None) -> None:
            if reason is not None:
                self.cancel_redemption(line, reason)

        self.app.push_screen(CancelRedemptionScreen(line), cancel)

    @work(thread=True, group="cancel", exit_on_error=False)
    def cancel_redemption(self, line: RedemptionLine, reason: str) -> None:
        desk = self.context.site.desk
        desk.cancel(line.id, self.context.operator_id, reason)
        note = f"Encaissement du pass {format_code(line.code)} annulé ({reason})."
        self.post_message(self.Cancelled(note, line.id))

    @on(Cancelled)
    def cancelled(self, message: Cancelled) -> None:
        self.query_one(VerdictPanel).show_waiting(message.note)
        if any(line.id == message.redemption_id for line in self.lines):
            self._remove_line(message.redemption_id)
            self._show_totals()

    # --- images ---------------------------------------------------------------------------

    def action_read_image(self) -> None:
        def read(path: Path | None) -> None:
            if path is not None:
                self.read_image(path)

        self.app.push_screen(ImageFileScreen(), read)

    @work(thread=True, group="image", exit_on_error=False)
    def read_image(self, path: Path) -> None:
        try:
            texts = decode_image(path)
        except UserError as error:
            self.post_message(self.ImageRead(path.name, [], str(error)))
            return
        none_found = f"Aucun QR code ni code-barres trouvé dans {path.name}."
        self.post_message(self.ImageRead(path.name, texts, none_found))

    @on(ImageRead)
    def image_read(self, message: ImageRead) -> None:
        if not message.texts:
            self.query_one(VerdictPanel).show_waiting(message.note)
            return
        self._images.append(ImageCodes(message.name, len(message.texts)))
        for text in message.texts:
            self.enqueue(text, "image", Typing.SCANNER)  # decoded from the image: no keyboard

    # --- the session's activity -------------------------------------------------------------

    def action_correct_activity(self) -> None:
        def save(form: SessionForm | None) -> None:
            if form is not None:
                self.save_activity(form)

        form = NewSessionScreen(self.desk_session.activity, title=self.desk_session.title)
        self.app.push_screen(form, save)

    @work(thread=True, exclusive=True, group="activity", exit_on_error=False)
    def save_activity(self, form: SessionForm) -> None:
        desk = self.context.site.desk
        corrected = desk.correct_activity(
            self.desk_session.id, self.context.operator_id, form.title, form.activity
        )
        self.post_message(self.ActivityCorrected(corrected))

    @on(ActivityCorrected)
    def activity_corrected(self, message: ActivityCorrected) -> None:
        self.desk_session = message.desk_session
        self.query_one("#session-title", Static).update(self._title_text())
        self.query_one(VerdictPanel).show_waiting("Activité de la séance enregistrée.")

    # --- ending ---------------------------------------------------------------------------

    def action_end_session(self) -> None:
        if self.pending:
            self.notify("Lecture en cours : attendez le verdict avant de terminer.")
            return
        self.end_session()

    @work(thread=True, exclusive=True, group="end", exit_on_error=False)
    def end_session(self) -> None:
        self.post_message(self.Ended(self.context.site.desk.end_session(self.desk_session.id)))

    @on(Ended)
    def ended(self, message: Ended) -> None:
        self.app.pop_screen()
        self.app.push_screen(SessionSummaryScreen(message.summary))
