"""A month's activity report: the month's sessions (their activity for La Coop de la médiation
numérique and the passes taken in them) summed by type, by thématique and by week, with the
hours delivered and the participants (docs/coop-activite.md).

Two rules a reader of the report must know, which `NOTES` says in French:
- a session with several thématiques counts under each of them (as the Coop counts), so the
  thématique lines add up to more than the month's sessions;
- so do its passes: they are counted under each of its thématiques, and the month's total
  counts each pass once.

Pure: services/activity_report.py reads the sessions, the screen and the files show this.
"""

from __future__ import annotations

import calendar
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, timedelta

from mediateur_tui.domain.activity import Activity, Thematique, TypeActivite
from mediateur_tui.domain.formatting import format_euros
from mediateur_tui.domain.periods import parse_period

NO_THEMATIQUE_LABEL = "Sans thématique"
NOTES = (
    "Une séance à plusieurs thématiques compte dans chacune : le total des lignes par "
    "thématique dépasse le nombre de séances.",
    "Les pass d'une séance comptent sous chacune de ses thématiques ; le total du mois compte "
    "chaque pass une seule fois.",
    "Heures : la durée des séances (un atelier d'une heure compte une heure, quel que soit le "
    "nombre de participants).",
)


@dataclass(frozen=True)
class ReportSession:
    """One session of the month: its activity and the active passes taken in it."""

    activity: Activity
    pass_count: int = 0
    pass_cents: int = 0


@dataclass(frozen=True)
class Tally:
    """Sums over some sessions."""

    sessions: int = 0
    participants: int = 0
    minutes: int = 0
    passes: int = 0
    cents: int = 0

    def plus(self, item: ReportSession) -> Tally:
        activity = item.activity
        return Tally(
            sessions=self.sessions + 1,
            participants=self.participants + activity.participant_count,
            minutes=self.minutes + activity.duration_minutes,
            passes=self.passes + item.pass_count,
            cents=self.cents + item.pass_cents,
        )


@dataclass(frozen=True)
class Line:
    """A labelled line of a table of the report."""

    label: str
    tally: Tally


@dataclass(frozen=True)
class Week:
    """The days of one week (Monday to Sunday) inside the month."""

    first: date
    last: date
    tally: Tally

    @property
    def label(self) -> str:
        return f"{self.first:%d/%m}–{self.last:%d/%m}"


@dataclass(frozen=True)
class ActivityReport:
    period: str  # YYYY-MM
    total: Tally  # each session, and each pass, once
    by_type: tuple[Line, ...]  # every type, in the Coop's order
    by_thematique: tuple[Line, ...]  # the thématiques of the month, most sessions first
    weeks: tuple[Week, ...]
    per_day: tuple[int, ...]  # sessions on each day of the month


def month_days(period: str) -> list[date]:
    """Every day of the month `period` (YYYY-MM)."""
    year, month = (int(part) for part in parse_period(period).split("-"))
    return [date(year, month, day) for day in range(1, calendar.monthrange(year, month)[1] + 1)]


def build_report(period: str, items: Iterable[ReportSession]) -> ActivityReport:
    """The report of `period` from its sessions (those of another month are left out)."""
    days = month_days(period)
    month = [item for item in items if item.activity.date.isoformat()[:7] == period]
    return ActivityReport(
        period=period,
        total=_tally(month),
        by_type=tuple(
            Line(kind.label, _tally(item for item in month if item.activity.type is kind))
            for kind in TypeActivite
        ),
        by_thematique=_by_thematique(month),
        weeks=_weeks(days, month),
        per_day=tuple(sum(1 for item in month if item.activity.date == day) for day in days),
    )


def _tally(items: Iterable[ReportSession]) -> Tally:
    tally = Tally()
    for item in items:
        tally = tally.plus(item)
    return tally


def _by_thematique(month: list[ReportSession]) -> tuple[Line, ...]:
    tallies: dict[Thematique | None, Tally] = {}
    for item in month:
        for theme in item.activity.thematiques or (None,):
            tallies[theme] = tallies.get(theme, Tally()).plus(item)
    ranked = sorted(tallies.items(), key=lambda pair: (-pair[1].sessions, _rank(pair[0])))
    return tuple(
        Line(theme.label if theme else NO_THEMATIQUE_LABEL, tally) for theme, tally in ranked
    )


def _rank(theme: Thematique | None) -> int:
    """The Coop's order of the thématiques, the sessions without one last."""
    return _THEMATIQUES.index(theme) if theme else len(_THEMATIQUES)


_THEMATIQUES = list(Thematique)


def _weeks(days: list[date], month: list[ReportSession]) -> tuple[Week, ...]:
    weeks = []
    first = days[0]
    while first <= days[-1]:
        last = min(first + timedelta(days=6 - first.weekday()), days[-1])
        inside = (item for item in month if first <= item.activity.date <= last)
        weeks.append(Week(first, last, _tally(inside)))
        first = last + timedelta(days=1)
    return tuple(weeks)


def hours_text(minutes: int) -> str:
    """75 -> '1 h 15', 120 -> '2 h', 45 -> '0 h 45'."""
    hours, rest = divmod(minutes, 60)
    return f"{hours} h" if not rest else f"{hours} h {rest:02d}"


COLUMNS = ("Séances", "Participants", "Heures", "Pass", "Montant")


def cells(tally: Tally) -> tuple[str, ...]:
    """A tally under COLUMNS, in French: `3`, `12`, `4 h 30`, `5`, `50,00 €`."""
    return (
        str(tally.sessions),
        str(tally.participants),
        hours_text(tally.minutes),
        str(tally.passes),
        format_euros(tally.cents),
    )


def shifted_period(period: str, months: int) -> str:
    """`2026-11` shifted by -1 -> `2026-10`, by +2 -> `2027-01`."""
    year, month = (int(part) for part in parse_period(period).split("-"))
    index = year * 12 + month - 1 + months
    return f"{index // 12:04d}-{index % 12 + 1:02d}"
