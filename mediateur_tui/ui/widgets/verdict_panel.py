"""The large verdict panel: colour and words, readable from a metre away; the same verdict in
one plain line of text (accessible mode: what a screen reader or a braille display reads); and
the bells of each kind of verdict."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum

from rich.text import Text
from textual.app import App
from textual.widgets import Static

from mediateur_tui.domain.codes import format_code
from mediateur_tui.domain.formatting import plural
from mediateur_tui.domain.verdicts import CheckResult, Verdict

BELL_GAP_SECONDS = 0.3  # two bells closer than this sound as one on many terminals
MAX_SUMMARY_ROWS = 8  # the rows of a multi-code image shown in the panel (80×24)
MAX_SHOWN_INPUT = 24  # characters of an undecodable text shown in place of its code


class VerdictKind(StrEnum):
    """What a verdict asks of the person at the desk; the value is the panel's CSS class."""

    ACCEPTED = "good"
    WARNING = "warn"  # taken, with something to read (grace period, provisional, old replica)
    NOTICE = "notice"  # nothing new: a double read of a pass taken in this session
    REFUSED = "bad"


MARKS = {
    VerdictKind.ACCEPTED: "✔",
    VerdictKind.WARNING: "✔",
    VerdictKind.NOTICE: "ℹ",
    VerdictKind.REFUSED: "✘",
}
WORDS = {
    VerdictKind.ACCEPTED: "ACCEPTÉ",
    VerdictKind.WARNING: "ACCEPTÉ AVEC AVERTISSEMENT",
    VerdictKind.NOTICE: "INFORMATION",
    VerdictKind.REFUSED: "REFUSÉ",
}
BELLS = {VerdictKind.REFUSED: 2, VerdictKind.WARNING: 1}  # accepted and notice: silent
SEVERITY = [VerdictKind.ACCEPTED, VerdictKind.NOTICE, VerdictKind.WARNING, VerdictKind.REFUSED]


def verdict_kind(result: CheckResult, notice: bool = False) -> VerdictKind:
    if notice:
        return VerdictKind.NOTICE
    if not result.redeemable:
        return VerdictKind.REFUSED
    if result.warnings or result.verdict is Verdict.GRACE:
        return VerdictKind.WARNING
    return VerdictKind.ACCEPTED


def ring(app: App[object], kind: VerdictKind) -> None:
    """The bells of a verdict: two for a refusal, one for a warning, none otherwise. The
    second is timed, never slept for: the event loop goes on meanwhile."""
    for index in range(BELLS.get(kind, 0)):
        if index == 0:
            app.bell()
        else:
            app.set_timer(BELL_GAP_SECONDS * index, app.bell)


@dataclass(frozen=True)
class Outcome:
    """One code read from an image: its verdict, or why there is none (nothing recorded)."""

    text: str  # as read from the image
    result: CheckResult | None
    notice: bool = False
    failure: str = ""

    @property
    def kind(self) -> VerdictKind:
        if self.result is None:
            return VerdictKind.REFUSED
        return verdict_kind(self.result, self.notice)


class VerdictPanel(Static):
    """Shows one CheckResult, or the summary of the codes of an image; its CSS class says good
    (green), warn (amber) or bad (red), always with a symbol and words. A double read of a pass
    taken in this session is a notice (amber, `ℹ`), not a refusal. The screen's VerdictLine,
    if it has one, says the same in one line of plain text."""

    DEFAULT_CLASSES = "idle"
    plain = ""  # what the panel says, as one line of plain text

    def show_waiting(self, prompt: str) -> None:
        self.set_classes("idle")
        self.update(Text(prompt, justify="center"))
        self._say(prompt)

    def show_result(self, result: CheckResult, note: str = "", notice: bool = False) -> VerdictKind:
        kind = verdict_kind(result, notice)
        self._set_tone(kind)
        self.update(render_result(result, note, notice))
        self._say(plain_line(result, note, notice))
        return kind

    def show_summary(self, image_name: str, outcomes: Sequence[Outcome]) -> VerdictKind:
        """Every verdict of an image with several codes; the kind of the most severe one."""
        kind = max((outcome.kind for outcome in outcomes), key=SEVERITY.index)
        self._set_tone(kind)
        self.update(render_summary(image_name, outcomes))
        self._say(summary_line(image_name, outcomes))
        return kind

    def _set_tone(self, kind: VerdictKind) -> None:
        self.set_classes("warn" if kind is VerdictKind.NOTICE else kind.value)

    def _say(self, plain: str) -> None:
        self.plain = plain
        for line in self.screen.query(VerdictLine):
            line.update(Text(plain))


class VerdictLine(Static):
    """The verdict of the screen's VerdictPanel in one line of plain text, shown in accessible
    mode only (app.tcss): no frame, no colour needed to understand it."""


def render_result(result: CheckResult, note: str = "", notice: bool = False) -> Text:
    """Verdict in capitals, the code, the sentence, then the pass's carnet and programme."""
    text = Text()
    text.append(f"{MARKS[verdict_kind(result, notice)]}  {result.verdict.label.upper()}", "bold")
    if result.code:
        text.append(f"   {format_code(result.code)}", style="bold")
    text.append(f"\n{result.message}")
    about = [result.details[key] for key in ("carnet", "programme") if key in result.details]
    if about:
        text.append("\nCarnet " + " · ".join(about), style="dim")
    for warning in result.warnings:
        text.append(f"\n⚠ {warning}", style="italic")
    if note:
        text.append(f"\n{note}", style="italic")
    return text


def plain_line(result: CheckResult, note: str = "", notice: bool = False) -> str:
    """« ✘ REFUSÉ : Pass expiré, code 6KQ2-…. Ce pass a expiré le … » in one line."""
    kind = verdict_kind(result, notice)
    head = f"{MARKS[kind]} {WORDS[kind]} : {result.verdict.label}"
    if result.code:
        head += f", code {format_code(result.code)}"
    parts = [f"{head}.", result.message]
    parts += [f"Avertissement : {warning}" for warning in result.warnings]
    if note:
        parts.append(note)
    return " ".join(parts)


def _shown_code(outcome: Outcome) -> str:
    if outcome.result is not None and outcome.result.code:
        return format_code(outcome.result.code)
    text = outcome.text
    return text if len(text) <= MAX_SHOWN_INPUT else text[: MAX_SHOWN_INPUT - 1] + "…"


def _what(outcome: Outcome) -> str:
    """The words of one code's verdict, for its row of the summary."""
    result = outcome.result
    if result is None:
        return f"non lu : {outcome.failure}"
    if outcome.notice:
        return "lecture en double (déjà compté dans cette séance)"
    if result.redeemable and result.warnings:
        return f"{result.verdict.label}, avec avertissement"
    return result.verdict.label


def _tally_word(outcome: Outcome, count: int) -> str:
    """« 3 encaissés », « 1 déjà encaissé ici », « 2 refusés (pass expiré) »."""
    s = "s" if count > 1 else ""
    result = outcome.result
    if result is None:
        return f"{count} non lu{s} (erreur)"
    if result.redeemable:
        return f"{count} encaissé{s}"
    if result.verdict is Verdict.REDEEMED_HERE:
        return f"{count} déjà encaissé{s} ici"
    return f"{count} refusé{s} ({result.verdict.label.lower()})"


def summary_head(image_name: str, outcomes: Sequence[Outcome]) -> str:
    """« 5 codes lus dans photo.png : 3 encaissés, 1 déjà encaissé ici, 1 refusé (…) »."""
    tally: dict[str, tuple[Outcome, int]] = {}
    for outcome in outcomes:
        key = _tally_word(outcome, 1)
        first, count = tally.get(key, (outcome, 0))
        tally[key] = (first, count + 1)
    parts = [_tally_word(first, count) for first, count in tally.values()]
    return f"{len(outcomes)} codes lus dans {image_name} : {', '.join(parts)}"


def render_summary(image_name: str, outcomes: Sequence[Outcome]) -> Text:
    """The tally, then one row a code: symbol, word, code, verdict."""
    text = Text(summary_head(image_name, outcomes), style="bold")
    for outcome in outcomes[:MAX_SUMMARY_ROWS]:
        kind = outcome.kind
        word = WORDS[kind].split()[0]
        text.append(f"\n{MARKS[kind]} {word:<11} {_shown_code(outcome)}  {_what(outcome)}")
    hidden = len(outcomes) - MAX_SUMMARY_ROWS
    if hidden > 0:
        text.append(f"\n… et {plural(hidden, 'autre lecture', 'autres lectures')} (historique)")
    return text


def summary_line(image_name: str, outcomes: Sequence[Outcome]) -> str:
    """The tally and every code not simply taken, in one line of plain text."""
    parts = [f"{summary_head(image_name, outcomes)}."]
    for outcome in outcomes:
        kind = outcome.kind
        if kind is not VerdictKind.ACCEPTED:
            words = f"{MARKS[kind]} {WORDS[kind]} : {_shown_code(outcome)}, {_what(outcome)}."
            parts.append(words)
    return " ".join(parts)
