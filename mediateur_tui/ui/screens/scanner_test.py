"""The scanner self-test: scan anything, see what arrived and what it says of the scanner.

Each key's arrival time is the Key event's own `time` (set when Textual read it from the
terminal), so a busy screen does not make a burst look slow. A burst ends with Enter, or after
SILENCE_SECONDS without a key (no Enter suffix). The diagnosis is the pure
domain/scanner_diagnosis.py; nothing here blocks or is recorded.
"""

from __future__ import annotations

from textual import events
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.timer import Timer
from textual.widgets import Header, Static

from mediateur_tui.domain.formatting import plural
from mediateur_tui.domain.scanner_diagnosis import SILENCE_SECONDS, Diagnosis, diagnose
from mediateur_tui.ui.context import DeskContext
from mediateur_tui.ui.screens.base import SiteScreen
from mediateur_tui.ui.widgets.keys_footer import KeysFooter

WAITING = (
    "Scannez un pass (ou n'importe quel code) : l'écran montre ce que le lecteur a tapé et "
    "dit s'il est bien réglé. Rien n'est encaissé."
)
SCANNER_TEST = "Tester le lecteur de codes (réglage, Entrée)"
ENTER_KEYS = ("enter", "ctrl+m", "ctrl+j")


def scanner_test_binding(screen: str) -> Binding:
    """F3, the key to this screen, for the BINDINGS of `screen` (home, session): listed in F1
    and the palette, not in footers that are full."""
    return Binding(
        "f3",
        "app.scanner_test",
        "Test lecteur",
        show=False,
        tooltip=SCANNER_TEST,
        id=f"{screen}.scanner_test",
    )


class ScannerTestScreen(SiteScreen[None]):
    READS_TAB = True  # a scanner may end its burst with Tab: shown, not a move of the focus
    BINDINGS = [Binding("escape", "app.pop_screen", "Retour", id="scanner_test.back")]
    DEFAULT_CSS = """
    ScannerTestScreen #scanner-test { padding: 0 1; }
    ScannerTestScreen .scanner-test-section { margin-top: 1; }
    """

    def __init__(self, context: DeskContext) -> None:
        super().__init__(context)
        self.keys: list[tuple[str, float]] = []
        self._silence: Timer | None = None
        self.diagnosis: Diagnosis | None = None

    def compose(self) -> ComposeResult:
        yield Header()
        with VerticalScroll(id="scanner-test"):
            yield Static("[b]Tester le lecteur de codes[/b]", id="scanner-test-title")
            yield Static(WAITING, id="scanner-received", markup=False)
            yield Static("", id="scanner-diagnosis", classes="scanner-test-section")
            yield Static("", id="scanner-reading", classes="scanner-test-section", markup=False)
            yield Static("", id="scanner-advice", classes="scanner-test-section", markup=False)
        yield KeysFooter()

    def on_mount(self) -> None:
        self.sub_title = "test du lecteur"

    def on_key(self, event: events.Key) -> None:
        # Not stopped: Escape and F1 still reach their bindings.
        if event.key in ENTER_KEYS:
            if self.keys:
                self.keys.append(("\r", event.time))
                self._end_burst(ended_by_enter=True)
            return
        if event.character is None or event.key == "escape":
            return
        self.keys.append((event.character, event.time))
        if self._silence is not None:
            self._silence.stop()
        self._silence = self.set_timer(SILENCE_SECONDS, self._burst_went_silent)

    def _burst_went_silent(self) -> None:
        if self.keys:
            self._end_burst(ended_by_enter=False)

    def _end_burst(self, ended_by_enter: bool) -> None:
        if self._silence is not None:
            self._silence.stop()
            self._silence = None
        keys, self.keys = self.keys, []
        self.show(diagnose(keys, ended_by_enter))

    def show(self, diagnosis: Diagnosis) -> None:
        """Shows one burst's diagnosis (also what a test calls with a burst of its own)."""
        self.diagnosis = diagnosis
        count = len(diagnosis.text)
        received = (
            f"Reçu : {plural(count, 'caractère')} en {diagnosis.duration * 1000:.0f} ms, "
            f"au plus {diagnosis.largest_gap * 1000:.0f} ms entre deux touches\n"
            f"{diagnosis.shown}"
        )
        self.query_one("#scanner-received", Static).update(received)
        titles = "\n".join(f"• {finding.title}" for finding in diagnosis.findings)
        self.query_one("#scanner-diagnosis", Static).update(f"[b]Diagnostic[/b]\n{titles}")
        self.query_one("#scanner-reading", Static).update(diagnosis.reading)
        steps = [f"{number}. {step}" for number, step in enumerate(diagnosis.advice, start=1)]
        advice = "Pour régler le lecteur :\n" + "\n".join(steps) if steps else ""
        self.query_one("#scanner-advice", Static).update(advice)
