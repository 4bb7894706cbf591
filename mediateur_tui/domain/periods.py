"""Months as periods (`YYYY-MM`): the bounds of a monthly batch in French time, their French
names, and the one rule that says whether a month can be closed."""

from __future__ import annotations

import re
from collections.abc import Collection
from dataclasses import dataclass
from datetime import UTC, date, datetime, time

from mediateur_tui.domain.errors import NothingToDo, UserError
from mediateur_tui.domain.formatting import (
    LOCAL_TZ,
    format_date,
    format_datetime,
    format_month,
    local_date,
)

PERIOD = re.compile(r"([0-9]{4})-(0[1-9]|1[0-2])")
_MONTH_SLASH_YEAR = re.compile(r"(\d{1,2})\s*/\s*(\d{4})")


def parse_period(text: str) -> str:
    """`YYYY-MM`, checked; French error otherwise."""
    text = text.strip()
    if not PERIOD.fullmatch(text):
        raise UserError(f"Mois invalide : « {text} » (format attendu AAAA-MM, par ex. 2026-03).")
    return text


def read_period(text: str) -> str:
    """`2026-09`, or `09/2026` (or `9/2026`) as written in France -> `2026-09`."""
    text = text.strip()
    match = _MONTH_SLASH_YEAR.fullmatch(text)
    period = f"{match.group(2)}-{int(match.group(1)):02d}" if match else text
    if not PERIOD.fullmatch(period):
        raise UserError(
            f"Mois invalide : « {text} » (format attendu AAAA-MM ou MM/AAAA, par ex. 2026-03 "
            "ou 03/2026)."
        )
    return period


def _year_month(period: str) -> tuple[int, int]:
    year, month = parse_period(period).split("-")
    return int(year), int(month)


def _next_month(year: int, month: int) -> tuple[int, int]:
    return (year + 1, 1) if month == 12 else (year, month + 1)


def period_bounds(period: str) -> tuple[datetime, datetime]:
    """[first instant, first instant of the next month) of a month in French time, in UTC."""
    year, month = _year_month(period)
    start = datetime.combine(date(year, month, 1), time(), tzinfo=LOCAL_TZ)
    end = datetime.combine(date(*_next_month(year, month), 1), time(), tzinfo=LOCAL_TZ)
    return start.astimezone(UTC), end.astimezone(UTC)


def previous_period(now: datetime) -> str:
    """The month before the current one (in France): what a month end closes by default."""
    today = local_date(now)
    year, month = (today.year - 1, 12) if today.month == 1 else (today.year, today.month - 1)
    return f"{year:04d}-{month:02d}"


def period_to_close(now: datetime, closed: Collection[str]) -> str | None:
    """The month a month end proposes to close: the previous one, or None once it is closed
    (the current month can only be closed once it is over)."""
    period = previous_period(now)
    return None if period in closed else period


def nothing_to_close(now: datetime) -> str:
    """What the month end says once the previous month is closed."""
    today = local_date(now)
    current = f"{today.year:04d}-{today.month:02d}"
    _, end = period_bounds(current)
    return f"aucun — {period_label(current)} pourra l'être dès le {format_date(local_date(end))}"


def period_label(period: str) -> str:
    """`2026-03` -> `mars 2026`."""
    year, month = _year_month(period)
    return format_month(year, month)


def month_of(label: str) -> str:
    """`octobre 2026` -> `d'octobre 2026`; `mars 2026` -> `de mars 2026`."""
    return f"d'{label}" if label[0] in "aeiouyéè" else f"de {label}"


@dataclass(frozen=True)
class SealedBatch:
    """The batch that already closed a month."""

    sequence: int
    sealed_at: datetime


@dataclass(frozen=True)
class MonthFacts:
    """What the site knows about a month it may close."""

    closed_by: SealedBatch | None  # the month is already closed by this batch
    has_replica: bool
    unremitted: int  # redemptions not yet in a batch, up to the end of the month
    has_site_key: bool  # the key that signs the batch (made at enrolment)


def closing_refusal(period: str, now: datetime, facts: MonthFacts) -> UserError | None:
    """Why `period` cannot be closed at `now`, or None: the same answer for the screen (which
    shows it) and for the command (which raises it). An empty month is NothingToDo."""
    label = period_label(period)
    _, end = period_bounds(period)
    if now < end:
        return UserError(
            f"Le mois {month_of(label)} n'est pas terminé : il pourra être clos à partir du "
            f"{format_date(local_date(end))}."
        )
    if facts.closed_by is not None:
        return UserError(
            f"Le mois {month_of(label)} est déjà clos : remise n° {facts.closed_by.sequence} du "
            f"{format_datetime(facts.closed_by.sealed_at)}."
        )
    if not facts.has_replica:
        return UserError("Aucune réplique du registre sur ce poste : rien à remettre.")
    if not facts.has_site_key:
        return UserError(
            "Ce poste n'a pas de clé de lieu pour signer la remise : il doit d'abord être "
            "inscrit auprès de la région (mediateur-tui enrol --hub ADRESSE --token JETON)."
        )
    if facts.unremitted == 0:
        return NothingToDo(
            f"Aucun encaissement à remettre pour {label} : aucune remise n'a été créée."
        )
    return None
