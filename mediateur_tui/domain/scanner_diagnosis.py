"""What one burst of keys from a scanner says about its settings (the scanner self-test).

The screen feeds the characters received with the moment each arrived, and whether Enter
ended the burst; the diagnosis says what the layout and Caps Lock were (domain/keyboard.py),
whether the Enter suffix or characters are missing, what the desk reads when scanning for real,
and how to set the scanner right. The advice texts are here, in one place (the user guide's
part 7 points to this screen)."""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from dataclasses import dataclass
from enum import Enum

from mediateur_tui.domain.codes import format_code
from mediateur_tui.domain.keyboard import (
    CLEAN_CHARACTERS,
    SLOW_GAP_SECONDS,
    Situation,
    Typing,
)
from mediateur_tui.domain.scan_input import InputKind, ScanInput, parse_scan

# Keys that stop arriving this long without Enter end a burst that had no Enter suffix.
SILENCE_SECONDS = 1.0
_SYMBOLS = {" ": "␣", "\t": "⇥", "\r": "⏎", "\n": "⏎", "\x7f": "␡"}


class Finding(Enum):
    """(title, how to set it right)"""

    WELL_SET = ("Lecteur bien réglé", "")
    US_ON_AZERTY = (
        "Lecteur réglé en clavier américain (QWERTY) sur un poste AZERTY",
        "Scannez, dans le manuel du lecteur, le code-barres de configuration de la langue du "
        "clavier (rubrique « Keyboard language » ou « Country ») : choix « France » (AZERTY).",
    )
    AZERTY_ON_US = (
        "Lecteur réglé en AZERTY sur un poste en clavier américain (QWERTY)",
        "Réglez le lecteur comme le poste : dans son manuel, rubrique « Keyboard language » ou "
        "« Country », choix « USA » ; ou passez le poste en clavier français.",
    )
    CAPS_LOCK = (
        "Verr. Maj activé",
        "Appuyez une fois sur la touche Verr. Maj (⇪) du clavier : son voyant s'éteint.",
    )
    NO_ENTER = (
        "Pas de touche Entrée à la fin de la lecture",
        "Scannez, dans le manuel, le code-barres « Enter suffix » (ou « CR », « Add Enter ») : "
        "le lecteur doit envoyer Entrée après chaque lecture.",
    )
    SLOW = (
        "Lecture lente : des pauses entre les caractères",
        "Un lecteur tape un caractère toutes les quelques millisecondes. Si c'était bien le "
        "lecteur, réglez sa vitesse au plus rapide (« Keyboard speed », « Inter-character "
        "delay ») ; tapé à la main, c'est normal.",
    )
    DIGITS_WITHOUT_SHIFT = (
        "Tapé à la main : chiffres sans la touche Maj",
        "Sur un clavier AZERTY, tapez les chiffres avec la touche Maj (⇧) ; la lecture a été "
        "corrigée, mais un code tapé ainsi peut se lire de deux façons.",
    )
    AMBIGUOUS = (
        "Lecture ambiguë : selon le réglage, elle se lit comme deux codes différents",
        "Scannez plutôt le QR code d'un pass (il n'est jamais ambigu) pour finir le diagnostic.",
    )
    UNREADABLE = (
        "Lecture incomplète ou brouillée : ce n'est ni un pass ni un code de pass",
        "Rescannez un pass, à plat et bien éclairé. Si cela se répète, activez la lecture des "
        "QR codes et du Code 128 (manuel du lecteur) et vérifiez le câble.",
    )

    def __init__(self, title: str, advice: str) -> None:
        self.title = title
        self.advice = advice


@dataclass(frozen=True)
class Diagnosis:
    text: str  # the characters received, Enter excluded
    ended_by_enter: bool
    duration: float  # seconds from the first key to the last (Enter included)
    largest_gap: float  # seconds, the longest wait between two keys
    findings: tuple[Finding, ...]
    reading: str  # what the desk does with this scan

    @property
    def shown(self) -> str:
        """The characters received, spaces and control characters made visible."""
        return visible(self.text) + ("⏎" if self.ended_by_enter else "")

    @property
    def advice(self) -> list[str]:
        return [finding.advice for finding in self.findings if finding.advice]


def visible(text: str) -> str:
    """Spaces, tabs and control characters as symbols (␣ ⇥ ␀…␟)."""
    return "".join(
        _SYMBOLS.get(char, chr(0x2400 + ord(char)) if ord(char) < 0x20 else char) for char in text
    )


def diagnose(keys: Sequence[tuple[str, float]], ended_by_enter: bool) -> Diagnosis:
    """The diagnosis of one burst: `keys` are (character, arrival in seconds), in order, Enter
    included when it ended the burst."""
    times = [moment for _, moment in keys]
    gaps = [later - earlier for earlier, later in itertools.pairwise(times)]
    text = "".join(char for char, _ in keys)
    if ended_by_enter:
        text = text.removesuffix("\r").removesuffix("\n")
    typing = Typing.of(times)
    scan = parse_scan(text, typing)
    findings = _layout_findings(text, scan, typing)
    if not ended_by_enter:
        findings.append(Finding.NO_ENTER)
    if gaps and max(gaps) > SLOW_GAP_SECONDS:
        findings.append(Finding.SLOW)
    return Diagnosis(
        text=text,
        ended_by_enter=ended_by_enter,
        duration=times[-1] - times[0] if times else 0.0,
        largest_gap=max(gaps, default=0.0),
        findings=tuple(findings or [Finding.WELL_SET]),
        reading=reading(scan),
    )


def _layout_findings(text: str, scan: ScanInput, typing: Typing) -> list[Finding]:
    if scan.ambiguous:
        return [Finding.AMBIGUOUS]
    situation = scan.layout if scan.code is not None else _likely_situation(text, typing)
    if situation is not None:
        return _situation_findings(situation)
    if scan.code is None:
        return [Finding.UNREADABLE]
    # Read as is: a scanner types a pass in upper case; lower case is Caps Lock (on Linux and
    # macOS, Caps Lock changes only the letters, which the desk reads either way).
    return [Finding.CAPS_LOCK] if any("a" <= char <= "z" for char in text) else []


def _likely_situation(text: str, typing: Typing) -> Situation | None:
    """For a scan the desk cannot read: the first mis-set keyboard that turns its characters
    into ones a pass holds, if the text shows its marks."""
    for situation in typing.situations:
        undone = situation.undo(text)
        if situation.shows_markers(text) and CLEAN_CHARACTERS.issuperset(undone):
            return situation
    return None


def _situation_findings(situation: Situation) -> list[Finding]:
    if situation.typed_by_hand:
        return [Finding.DIGITS_WITHOUT_SHIFT]
    findings = []
    if situation.us_scanner_on_azerty:
        findings.append(Finding.US_ON_AZERTY)
    if situation.azerty_scanner_on_us:
        findings.append(Finding.AZERTY_ON_US)
    if situation.caps_lock:
        findings.append(Finding.CAPS_LOCK)
    return findings


def reading(scan: ScanInput) -> str:
    """What the desk does with this scan, in one sentence."""
    if scan.code is None:
        return f"Au guichet, cette lecture serait refusée : {scan.error}"
    what = "le QR code du pass" if scan.kind is InputKind.QR else "le code"
    fixed = f", après correction ({scan.layout.label})" if scan.layout is not None else ""
    return f"Au guichet, l'application lit {what} {format_code(scan.code)}{fixed}."
