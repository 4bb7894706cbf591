"""Redemptions per day of the month, as a bar chart with the day numbers underneath."""

from __future__ import annotations

from rich.text import Text
from textual.widgets import Static

_BARS = " ▁▂▃▄▅▆▇█"


class DayChart(Static):
    def show(self, per_day: list[int]) -> None:
        self.update(render_chart(per_day))


def render_chart(per_day: list[int]) -> Text:
    """One column per day: a bar scaled to the busiest day, the count under it (if any)."""
    peak = max(per_day, default=0)
    bars = "".join(_bar(count, peak) for count in per_day)
    days = "".join(str(day % 10) for day in range(1, len(per_day) + 1))
    text = Text()
    text.append(bars + "\n", style="bold")
    text.append(days, style="dim")
    text.append(f"\n(jour du mois, maximum {peak} pass/jour)", style="dim")
    return text


def _bar(count: int, peak: int) -> str:
    if count == 0 or peak == 0:
        return "·"
    return _BARS[max(1, round(count / peak * (len(_BARS) - 1)))]
