"""The large verdict panel: colour and words, readable from a metre away."""

from __future__ import annotations

from rich.text import Text
from textual.widgets import Static

from mediateur_tui.domain.codes import format_code
from mediateur_tui.domain.verdicts import CheckResult


class VerdictPanel(Static):
    """Shows one CheckResult; its CSS class says good (green), warn (amber) or bad (red).
    A double read of a pass taken in this session is a notice (amber, `ℹ`), not a refusal."""

    DEFAULT_CLASSES = "idle"

    def show_waiting(self, prompt: str) -> None:
        self.set_classes("idle")
        self.update(Text(prompt, justify="center"))

    def show_result(self, result: CheckResult, note: str = "", notice: bool = False) -> None:
        if notice:
            tone = "warn"
        elif not result.redeemable:
            tone = "bad"
        elif result.warnings or result.verdict.value == "grace":
            tone = "warn"
        else:
            tone = "good"
        self.set_classes(tone)
        self.update(render_result(result, note, notice))


def render_result(result: CheckResult, note: str = "", notice: bool = False) -> Text:
    """Verdict in capitals, the code, the sentence, then the pass's carnet and programme."""
    mark = "ℹ" if notice else "✔" if result.redeemable else "✘"
    text = Text()
    text.append(f"{mark}  {result.verdict.label.upper()}", style="bold")
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
