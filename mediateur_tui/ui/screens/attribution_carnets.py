"""Attribution of carnets, step 2: scan the carnets the decision gives, then record.

Scanning any pass of a carnet (QR code or code) or typing the carnet's number identifies it;
each answer is shown at once, a refusal in red with a bell. Once every carnet of the decision is
scanned, the attribution is recorded (one transaction) and its PDF receipt written; it goes to
the region with the next sync. Esc before that records nothing (after a confirmation when
carnets were already scanned).
"""

from __future__ import annotations

import logging
from collections import Counter, deque
from dataclasses import dataclass
from pathlib import Path

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.message import Message
from textual.widgets import Header, Static
from textual.worker import Worker

from mediateur_tui.domain.beneficiaries import format_reference
from mediateur_tui.domain.formatting import format_date
from mediateur_tui.domain.keyboard import Typing
from mediateur_tui.services.attribution import (
    Assessment,
    AttributionDesk,
    AttributionError,
    AttributionInfo,
    CarnetInfo,
    CarnetScan,
)
from mediateur_tui.services.attribution_receipt import write_receipt
from mediateur_tui.ui.context import DeskContext
from mediateur_tui.ui.screens.attribution_cancel import AttributionCancelScreen
from mediateur_tui.ui.screens.base import SiteScreen, failure_text
from mediateur_tui.ui.widgets.keys_footer import KeysFooter
from mediateur_tui.ui.widgets.scan_field import ScanField

log = logging.getLogger(__name__)
SCAN_PROMPT = "Scannez un pass du carnet ou tapez son numéro (C0000123), puis Entrée."
UNEXPECTED_SCAN = (
    "Erreur inattendue : ce carnet n'a pas pu être vérifié. Scannez-le de nouveau ; si cela "
    "se répète, prévenez le ou la responsable (journal : mediateur.log)."
)
UNEXPECTED_RECORD = (
    "Erreur inattendue : l'attribution n'a pas été enregistrée. Si cela se répète, prévenez "
    "le ou la responsable (journal : mediateur.log)."
)


def carnets_text(sizes: tuple[int, ...] | list[int]) -> str:
    """'un carnet de 10', 'un carnet de 10 + un carnet de 5'."""
    return " + ".join(f"un carnet de {size}" for size in sizes)


class AttributionCarnetsScreen(SiteScreen[AttributionInfo | None]):
    """Returns the attribution once recorded, None when given up."""

    BINDINGS = [
        Binding("escape", "give_up", "Abandonner", id="attribution_carnets.give_up"),
        Binding("enter,escape", "done", "Accueil", id="attribution_carnets.done"),
    ]
    AUTO_FOCUS = "#carnet-scan"
    DESK_HELP = False
    KEY_NOTES = (
        "[b]Remise des carnets[/b]\n"
        "Scannez un pass de chaque carnet à remettre (ou tapez le numéro du carnet, par "
        "exemple C0000123). Quand tous les carnets prévus sont scannés, l'attribution est "
        "enregistrée et son reçu écrit (PDF) : imprimez-le et faites-le signer. Elle part à "
        "la région à la prochaine synchronisation. Échap avant la fin : rien n'est enregistré."
    )

    @dataclass
    class Identified(Message, bubble=False):
        scan: CarnetScan

    @dataclass
    class RecordFailed(Message, bubble=False):
        reason: str  # nothing was recorded

    @dataclass
    class Recorded(Message, bubble=False):
        info: AttributionInfo
        receipt: Path | str  # the receipt written, or why it could not be

    def __init__(self, context: DeskContext, desk: AttributionDesk, assessment: Assessment) -> None:
        super().__init__(context)
        self.desk = desk
        self.assessment = assessment
        self.wanted = tuple(assessment.decision.carnets)
        self.scanned: list[CarnetInfo] = []
        # Scans submitted while one is being checked, with how their keys came.
        self.waiting: deque[tuple[str, Typing]] = deque()
        self.busy = False  # a scan is being checked
        self.recording = False
        self.recorded: AttributionInfo | None = None
        self.leaving = False  # the give-up confirmation is open: record nothing meanwhile

    def compose(self) -> ComposeResult:
        yield Header()
        yield Static("", id="carnets-title")
        yield Static("", id="carnets-list")
        yield ScanField(placeholder=SCAN_PROMPT, id="carnet-scan")
        yield Static("", id="carnet-answer", classes="tone-panel idle")
        yield KeysFooter()

    def on_mount(self) -> None:
        self.sub_title = f"{self.context.operator_name} — remise de carnets"
        reference = format_reference(self.assessment.beneficiary_ref)
        self.query_one("#carnets-title", Static).update(
            f"[b]À remettre : {carnets_text(self.wanted)} pass[/b]\nBénéficiaire {reference}"
        )
        self._show_list()
        self._answer("idle", Text(SCAN_PROMPT))

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "give_up":
            return self.recorded is None
        if action == "done":
            return self.recorded is not None
        return True

    def remaining(self) -> list[int]:
        """The sizes still to scan (the decision's, less the carnets scanned)."""
        left = Counter(self.wanted)
        left.subtract(carnet.size for carnet in self.scanned)
        return sorted(left.elements(), reverse=True)

    def _show_list(self) -> None:
        lines = [
            f"  ☑ Carnet {carnet.id} : {carnet.size} pass valables jusqu'au "
            f"{format_date(carnet.valid_until)}"
            for carnet in self.scanned
        ]
        lines += [f"  ☐ {carnets_text([size])} pass : à scanner" for size in self.remaining()]
        self.query_one("#carnets-list", Static).update("\n".join(lines))

    def _answer(self, tone: str, text: Text) -> None:
        panel = self.query_one("#carnet-answer", Static)
        panel.set_classes(f"tone-panel {tone}")
        panel.update(text)

    # --- scanning -------------------------------------------------------------------------

    @on(ScanField.Submitted, "#carnet-scan")
    def submit_scan(self, event: ScanField.Submitted) -> None:
        text = event.value  # ScanField has already emptied itself, ready for the next scan
        if text.strip() and not self.recording and self.recorded is None:
            self.waiting.append((text, event.typing))
            self._next_scan()

    def _next_scan(self) -> None:
        """Checks the scans one at a time, each against the carnets scanned before it."""
        if self.busy or self.recording or not self.waiting:
            return
        if not self.remaining():
            self.waiting.clear()
            return
        self.busy = True
        scanned = tuple(carnet.id for carnet in self.scanned)
        text, typing = self.waiting.popleft()
        self.identify(text, typing, tuple(self.remaining()), scanned)

    @work(thread=True, group="identify", exit_on_error=False)
    def identify(
        self, text: str, typing: Typing, wanted: tuple[int, ...], scanned: tuple[str, ...]
    ) -> None:
        carnet = self.desk.identify_carnet(text, wanted, scanned, typing)
        self.post_message(self.Identified(carnet))

    def work_failed(self, worker: Worker[object], error: BaseException) -> bool:
        if worker.group == "identify":
            scan = CarnetScan(None, failure_text(error, UNEXPECTED_SCAN))
            self.post_message(self.Identified(scan))
            return True
        if worker.group == "record":
            self.post_message(self.RecordFailed(failure_text(error, UNEXPECTED_RECORD)))
            return True
        return False

    @on(Identified)
    def identified(self, message: Identified) -> None:
        answer = message.scan
        self.busy = False
        if answer.carnet is None:
            self._answer("bad", Text.assemble(("✘  CARNET REFUSÉ", "bold"), f"\n{answer.message}"))
            self.app.bell()
        else:
            self.scanned.append(answer.carnet)
            self._show_list()
            self._answer("good", Text.assemble(("✔  CARNET BON", "bold"), f"\n{answer.message}"))
        if self.scanned and not self.remaining():
            self.waiting.clear()
            if not self.leaving:
                self._start_recording()
        else:
            self._next_scan()

    # --- recording ------------------------------------------------------------------------

    def _start_recording(self) -> None:
        self.recording = True
        self._answer("idle", Text("Enregistrement de l'attribution…"))
        self.record([carnet.id for carnet in self.scanned])

    @work(thread=True, exclusive=True, group="record", exit_on_error=False)
    def record(self, carnet_ids: list[str]) -> None:
        try:
            info = self.desk.record(self.assessment, carnet_ids, self.context.operator_id)
        except AttributionError as error:
            self.post_message(self.RecordFailed(str(error)))
            return
        try:
            receipt: Path | str = write_receipt(self.desk, info.id)
        except Exception as error:  # recorded all the same: the receipt can be written again
            log.exception("writing the receipt of attribution %s failed", info.id)
            receipt = str(error)
        self.post_message(self.Recorded(info, receipt))

    @on(RecordFailed)
    def record_failed(self, message: RecordFailed) -> None:
        self.recording = False
        self.scanned.clear()
        self._show_list()
        self._answer(
            "bad",
            Text.assemble(
                ("✘  RIEN N'A ÉTÉ ENREGISTRÉ", "bold"),
                f"\n{message.reason}\nScannez de nouveau les carnets, ou Échap pour revenir à la "
                "demande.",
            ),
        )
        self.app.bell()

    @on(Recorded)
    def show_recorded(self, message: Recorded) -> None:
        info, receipt = message.info, message.receipt
        self.recording = False
        self.recorded = info
        field = self.query_one("#carnet-scan", ScanField)
        field.display = False
        field.disabled = True  # nor focused again (Enter goes to the screen: back home)
        self.set_focus(None)
        text = Text.assemble(
            ("✔  ATTRIBUTION ENREGISTRÉE", "bold"),
            f"\n{carnets_text([carnet.size for carnet in info.carnets])} pass "
            f"({', '.join(carnet.id for carnet in info.carnets)}) remis à "
            f"{format_reference(info.beneficiary_ref)}.",
        )
        if isinstance(receipt, Path):
            text.append(f"\nReçu à imprimer et faire signer : {receipt}")
        else:
            text.append(
                f"\nLe reçu n'a pas pu être écrit ({receipt}) : écrivez-le de nouveau depuis la "
                "liste des attributions (F3 sur la demande).",
                style="italic",
            )
        text.append(f"\nÉtat : {info.status} (à la prochaine synchronisation).")
        text.append("\nEntrée : retour à l'accueil", style="italic")
        self._answer("good", text)
        self.refresh_bindings()

    # --- leaving --------------------------------------------------------------------------

    def action_give_up(self) -> None:
        if self.recording:
            self.notify("Enregistrement en cours : attendez la fin.")
            return
        if not self.scanned and not self.busy:
            self.dismiss(None)
            return

        def give_up(confirmed: bool | None) -> None:
            self.leaving = False
            if confirmed:
                self.dismiss(None)
            elif self.scanned and not self.remaining() and not self.busy:
                self._start_recording()  # the last carnet was checked while the dialog was open

        self.leaving = True
        ids = [carnet.id for carnet in self.scanned]
        self.app.push_screen(AttributionCancelScreen(ids), give_up)

    def action_done(self) -> None:
        self.dismiss(self.recorded)
