"""French display of money and dates. Money is always integer cents."""

from __future__ import annotations

from datetime import date, datetime
from functools import lru_cache
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


@lru_cache(maxsize=256)  # every verdict shows its pass's value twice
def format_euros(cents: int) -> str:
    """1234567 -> '12 345,67 €'."""
    sign = "-" if cents < 0 else ""
    euros, rest = divmod(abs(cents), 100)
    return f"{sign}{thousands(euros)},{rest:02d} €"


def spreadsheet_euros(cents: int) -> str:
    """1234567 -> '12345,67': a number a French spreadsheet sums (decimal comma, no group
    separator, no unit: the column's header carries it)."""
    sign = "-" if cents < 0 else ""
    euros, rest = divmod(abs(cents), 100)
    return f"{sign}{euros},{rest:02d}"


def spreadsheet_hours(minutes: int) -> str:
    """Hours as a number a French spreadsheet reads: `4,50`."""
    return f"{minutes / 60:.2f}".replace(".", ",")


def spreadsheet_text(value: object) -> object:
    """A typed text a spreadsheet must show, never run: one that starts like a formula
    (= + - @, a tab or a return) gets a leading apostrophe. Other values are left as they are."""
    if isinstance(value, str) and value[:1] in ("=", "+", "-", "@", "\t", "\r"):
        return "'" + value
    return value


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
    """28/11/2026 (a datetime shows the day of its own fields)."""
    return _day_text(day.toordinal())


@lru_cache(maxsize=256)  # every verdict shows its pass's last day
def _day_text(ordinal: int) -> str:
    # Keyed by the day, not by `day`: two datetimes of the same instant in two time zones are
    # equal, and their days are not.
    return f"{date.fromordinal(ordinal):%d/%m/%Y}"


def parse_french_date(text: str) -> date | None:
    """'28/11/2026' -> date; '' -> None; raises ValueError on anything else."""
    text = text.strip()
    if not text:
        return None
    return datetime.strptime(text, "%d/%m/%Y").date()


def parse_day(text: str) -> date:
    """'28/11/2026' or '2026-11-28' -> date; raises ValueError on anything else."""
    text = text.strip()
    for shape in ("%d/%m/%Y", "%Y-%m-%d"):
        try:
            return datetime.strptime(text, shape).date()
        except ValueError:
            continue
    raise ValueError(text)


def format_datetime(moment: datetime) -> str:
    return f"{moment.astimezone(LOCAL_TZ):%d/%m/%Y %H:%M}"


def format_time(moment: datetime) -> str:
    """The French local time of an aware instant, `14:05`."""
    return f"{moment.astimezone(LOCAL_TZ):%H:%M}"


def plural(count: int, singular: str, plural_form: str | None = None) -> str:
    """'1 pass', '2 pass' (pass is invariable), '3 séances'."""
    word = singular if count <= 1 else (plural_form or singular + "s")
    return f"{count} {word}"


def format_until(moment: datetime) -> str:
    """'jusqu'au 01/12/2026 à 22:53' (French local time)."""
    return f"jusqu'au {format_date(local_date(moment))} à {format_time(moment)}"


def redeemed_passes(count: int) -> str:
    """'1 pass encaissé', '2 pass encaissés' (pass is invariable, the participle is not)."""
    return plural(count, "pass encaissé", "pass encaissés")


def refused_reads(count: int) -> str:
    """What the desk refused (a scan, a typed code, an image): one word everywhere."""
    return plural(count, "lecture refusée", "lectures refusées")


def acknowledged_passes(accepted: int, accepted_cents: int, refused: int) -> str:
    """What the region's acknowledgement of a remise says: '3 pass acceptés pour 30,00 €,
    1 pass refusé'."""
    return (
        f"{plural(accepted, 'pass accepté', 'pass acceptés')} pour {format_euros(accepted_cents)}, "
        f"{plural(refused, 'pass refusé', 'pass refusés')}"
    )


def capitalised(text: str) -> str:
    """'pass expiré' -> 'Pass expiré' (only the first letter changes)."""
    return text[:1].upper() + text[1:]
