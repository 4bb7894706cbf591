"""French display of money and dates. Money is always integer cents."""

from __future__ import annotations

from datetime import date, datetime
from zoneinfo import ZoneInfo

PASS_VALUE_CENTS = 1000
# Sites are in Hauts-de-France: times are stored in UTC and shown in French local time.
LOCAL_TZ = ZoneInfo("Europe/Paris")


def local_date(moment: datetime) -> date:
    """The calendar day in France at an aware instant."""
    return moment.astimezone(LOCAL_TZ).date()


def thousands(count: int) -> str:
    """12345 -> '12 345'."""
    return f"{count:,}".replace(",", " ")


def format_size(size: int) -> str:
    """A size in bytes for a French reader: `12,3 Mo`, `64 Mo`, `800 octets`."""
    for unit, name in ((1024**3, "Go"), (1024**2, "Mo"), (1024, "Ko")):
        if size >= unit:
            value = size / unit
            shown = f"{value:.0f}" if size % unit == 0 else f"{value:.1f}".replace(".", ",")
            return f"{shown} {name}"
    return f"{size} octets"


def format_euros(cents: int) -> str:
    """1234567 -> '12 345,67 €'."""
    sign = "-" if cents < 0 else ""
    euros, rest = divmod(abs(cents), 100)
    return f"{sign}{thousands(euros)},{rest:02d} €"


MONTH_NAMES = [
    "janvier",
    "février",
    "mars",
    "avril",
    "mai",
    "juin",
    "juillet",
    "août",
    "septembre",
    "octobre",
    "novembre",
    "décembre",
]


def format_month(year: int, month: int) -> str:
    """(2026, 3) -> 'mars 2026'."""
    return f"{MONTH_NAMES[month - 1]} {year}"


def format_date(day: date) -> str:
    return f"{day:%d/%m/%Y}"


def parse_french_date(text: str) -> date | None:
    """'28/11/2026' -> date; '' -> None; raises ValueError on anything else."""
    text = text.strip()
    if not text:
        return None
    return datetime.strptime(text, "%d/%m/%Y").date()


def format_datetime(moment: datetime) -> str:
    return f"{moment.astimezone(LOCAL_TZ):%d/%m/%Y %H:%M}"


def plural(count: int, singular: str, plural_form: str | None = None) -> str:
    """'1 pass', '2 pass' (pass is invariable), '3 séances'."""
    word = singular if count <= 1 else (plural_form or singular + "s")
    return f"{count} {word}"


def capitalised(text: str) -> str:
    """'pass expiré' -> 'Pass expiré' (only the first letter changes)."""
    return text[:1].upper() + text[1:]
