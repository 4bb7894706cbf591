"""French display of money (integer cents) and dates."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta, timezone
from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mediateur_tui.domain import formatting
from mediateur_tui.domain.formatting import (
    format_date,
    format_datetime,
    format_euros,
    format_month,
    parse_french_date,
    plural,
)


@pytest.mark.parametrize(
    ("cents", "shown"),
    [
        (1000, "10,00 €"),
        (0, "0,00 €"),
        (5, "0,05 €"),
        (99, "0,99 €"),
        (100, "1,00 €"),
        (-1000, "-10,00 €"),
        (-5, "-0,05 €"),
        (99_999, "999,99 €"),
        (100_000, "1 000,00 €"),
        (1_234_567, "12 345,67 €"),
        (-123_456_789, "-1 234 567,89 €"),
        (100_000_000_000, "1 000 000 000,00 €"),
    ],
)
def test_format_euros(cents, shown):
    assert format_euros(cents) == shown


def test_pass_value_is_ten_euros():
    assert format_euros(formatting.PASS_VALUE_CENTS) == "10,00 €"


@settings(max_examples=300)
@given(st.integers(min_value=-(10**15), max_value=10**15))
def test_format_euros_reads_back(cents):
    shown = format_euros(cents)
    assert shown.endswith(f",{abs(cents) % 100:02d} €")
    number = shown.removesuffix(" €")
    sign = -1 if number.startswith("-") else 1
    whole, fraction = number.lstrip("-").split(",")
    groups = whole.split(" ")
    assert 1 <= len(groups[0]) <= 3
    assert all(len(group) == 3 for group in groups[1:])
    assert all(group.isdigit() for group in groups)
    assert len(fraction) == 2
    assert sign * (Decimal("".join(groups) + "." + fraction)) * 100 == cents
    assert (cents < 0) == shown.startswith("-")


@pytest.mark.parametrize(
    ("day", "shown"),
    [
        (date(2026, 11, 28), "28/11/2026"),
        (date(2026, 1, 5), "05/01/2026"),
        (date(2027, 12, 31), "31/12/2027"),
    ],
)
def test_format_date(day, shown):
    assert format_date(day) == shown


def test_format_date_shows_each_datetime_its_own_day():
    # The same instant in two time zones: equal datetimes, two days (the cache must not mix them).
    late_in_london = datetime(2026, 1, 1, 23, 30, tzinfo=UTC)
    early_in_paris = late_in_london.astimezone(timezone(timedelta(hours=1)))
    assert format_date(late_in_london) == "01/01/2026"
    assert format_date(early_in_paris) == "02/01/2026"


def test_format_datetime_shows_french_local_time():
    # Winter (UTC+1) and summer (UTC+2) time in France.
    assert format_datetime(datetime(2026, 1, 5, 8, 7, tzinfo=UTC)) == "05/01/2026 09:07"
    assert format_datetime(datetime(2026, 7, 14, 21, 30, tzinfo=UTC)) == "14/07/2026 23:30"
    assert format_datetime(datetime(2026, 12, 31, 23, 30, tzinfo=UTC)) == "01/01/2027 00:30"
    other = timezone(timedelta(hours=-5))
    assert format_datetime(datetime(2026, 3, 2, 4, 0, tzinfo=other)) == "02/03/2026 10:00"


def test_local_date_is_the_french_calendar_day():
    assert formatting.local_date(datetime(2026, 6, 30, 21, 59, tzinfo=UTC)) == date(2026, 6, 30)
    assert formatting.local_date(datetime(2026, 6, 30, 22, 0, tzinfo=UTC)) == date(2026, 7, 1)


def test_plural():
    assert plural(1, "séance") == "1 séance"
    assert plural(0, "séance") == "0 séance"
    assert plural(3, "séance") == "3 séances"
    assert plural(2, "pass", "pass") == "2 pass"


def test_the_desk_counts_and_a_time_limit_read_as_french():
    assert formatting.redeemed_passes(1) == "1 pass encaissé"
    assert formatting.redeemed_passes(2) == "2 pass encaissés"
    assert formatting.refused_reads(0) == "0 lecture refusée"
    assert formatting.refused_reads(3) == "3 lectures refusées"
    assert formatting.acknowledged_passes(2, 2000, 1) == (
        "2 pass acceptés pour 20,00 €, 1 pass refusé"
    )
    assert (
        formatting.acknowledged_passes(1, 1000, 0) == "1 pass accepté pour 10,00 €, 0 pass refusé"
    )
    # 21:53 UTC is 22:53 in Paris in winter.
    moment = datetime(2026, 12, 1, 21, 53, tzinfo=UTC)
    assert formatting.format_until(moment) == "jusqu'au 01/12/2026 à 22:53"


@pytest.mark.parametrize(
    ("year", "month", "shown"),
    [(2026, 1, "janvier 2026"), (2026, 8, "août 2026"), (2027, 12, "décembre 2027")],
)
def test_format_month_in_french(year, month, shown):
    assert format_month(year, month) == shown


def test_a_french_date_reads_back_what_format_date_writes():
    day = date(2026, 2, 28)
    assert parse_french_date(f" {format_date(day)} ") == day
    assert parse_french_date("  ") is None
    for bad in ("28-02-2026", "31/02/2026", "2026/02/28", "28/02/26"):
        with pytest.raises(ValueError):
            parse_french_date(bad)
