"""A month's sessions per week, as horizontal Unicode bars (eighths of a cell)."""

from __future__ import annotations

from rich.text import Text
from textual.widgets import Static

from mediateur_tui.domain.activity_report import Week
from mediateur_tui.domain.formatting import plural

BAR_WIDTH = 30
_EIGHTHS = " ▏▎▍▌▋▊▉"


class ActivityChart(Static):
    def show(self, weeks: tuple[Week, ...]) -> None:
        self.update(render_weeks(weeks))


def render_weeks(weeks: tuple[Week, ...]) -> Text:
    """One line per week: its days, a bar scaled to the busiest week, its sessions and
    participants."""
    peak = max((week.tally.sessions for week in weeks), default=0)
    text = Text("Séances par semaine\n", style="bold")
    for week in weeks:
        tally = week.tally
        text.append(f"{week.label} ", style="dim")
        text.append(bar(tally.sessions, peak).ljust(BAR_WIDTH), style="bold")
        text.append(
            f" {plural(tally.sessions, 'séance')}, {plural(tally.participants, 'participant')}\n"
        )
    text.rstrip()
    return text


def bar(count: int, peak: int, width: int = BAR_WIDTH) -> str:
    """`count` out of `peak` in `width` cells, to an eighth of a cell; a count above zero
    shows at least an eighth."""
    if count <= 0 or peak <= 0:
        return ""
    eighths = max(1, round(count / peak * width * 8))
    full, rest = divmod(eighths, 8)
    return "█" * full + (_EIGHTHS[rest] if rest else "")
