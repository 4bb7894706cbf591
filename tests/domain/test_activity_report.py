"""A month's activity report (domain/activity_report.py): sums by type, thématique and week."""

from __future__ import annotations

from dataclasses import astuple
from datetime import date

from hypothesis import given
from hypothesis import strategies as st

from mediateur_tui.domain.activity import Activity, Thematique, TypeActivite
from mediateur_tui.domain.activity_report import (
    NO_THEMATIQUE_LABEL,
    ReportSession,
    Tally,
    build_report,
    hours_text,
    month_days,
    shifted_period,
)

NOVEMBER = "2026-11"


def session(
    day: int,
    kind: TypeActivite = TypeActivite.INDIVIDUEL,
    themes: tuple[Thematique, ...] = (Thematique.EMAIL,),
    minutes: int = 60,
    participants: int | None = None,
    passes: int = 0,
) -> ReportSession:
    activity = Activity(
        type=kind,
        date=date(2026, 11, day),
        duration_minutes=minutes,
        thematiques=themes,
        participants=participants,
    )
    return ReportSession(activity, passes, passes * 1000)


def test_a_month_with_an_atelier_and_an_accompagnement():
    atelier = session(
        3,
        TypeActivite.COLLECTIF,
        (Thematique.EMAIL, Thematique.NAVIGATION_SUR_INTERNET),
        minutes=90,
        participants=6,
        passes=4,
    )
    individuel = session(17, themes=(Thematique.EMAIL,), minutes=45, passes=1)
    report = build_report(NOVEMBER, [atelier, individuel])

    assert report.total == Tally(sessions=2, participants=7, minutes=135, passes=5, cents=5000)
    [individuels, ateliers] = report.by_type
    assert individuels.label == "Accompagnement individuel"
    assert individuels.tally == Tally(1, 1, 45, 1, 1000)
    assert ateliers.label == "Atelier collectif"
    assert ateliers.tally == Tally(1, 6, 90, 4, 4000)
    # The atelier counts under both its thématiques, its 4 passes too.
    assert [(line.label, line.tally) for line in report.by_thematique] == [
        ("E-mail", Tally(2, 7, 135, 5, 5000)),
        ("Navigation sur internet", Tally(1, 6, 90, 4, 4000)),
    ]
    assert sum(line.tally.passes for line in report.by_thematique) == 9 > report.total.passes


def test_weeks_run_monday_to_sunday_inside_the_month():
    report = build_report(NOVEMBER, [session(1), session(2), session(30)])
    # 1 November 2026 is a Sunday, the 30th a Monday.
    assert [week.label for week in report.weeks] == [
        "01/11–01/11",
        "02/11–08/11",
        "09/11–15/11",
        "16/11–22/11",
        "23/11–29/11",
        "30/11–30/11",
    ]
    assert [week.tally.sessions for week in report.weeks] == [1, 1, 0, 0, 0, 1]
    assert len(report.per_day) == 30
    assert report.per_day[0] == report.per_day[1] == report.per_day[29] == 1


def test_sessions_of_another_month_are_left_out():
    other = ReportSession(
        Activity(type=TypeActivite.INDIVIDUEL, date=date(2026, 10, 31), duration_minutes=30)
    )
    report = build_report(NOVEMBER, [other, session(5)])
    assert report.total.sessions == 1


def test_a_session_without_thematique_has_its_own_line_last():
    report = build_report(NOVEMBER, [session(5, themes=()), session(6), session(7)])
    assert [line.label for line in report.by_thematique] == ["E-mail", NO_THEMATIQUE_LABEL]


def test_ties_keep_the_coops_order():
    themes = (Thematique.SANTE, Thematique.DIAGNOSTIC_NUMERIQUE)
    report = build_report(NOVEMBER, [session(5, themes=themes)])
    assert [line.label for line in report.by_thematique] == ["Diagnostic numérique", "Santé"]


def test_an_empty_month():
    report = build_report("2026-02", [])
    assert report.total == Tally()
    assert [line.tally for line in report.by_type] == [Tally(), Tally()]
    assert report.by_thematique == ()
    assert len(report.per_day) == 28


def test_hours():
    assert [hours_text(minutes) for minutes in (0, 45, 60, 75, 600)] == [
        "0 h",
        "0 h 45",
        "1 h",
        "1 h 15",
        "10 h",
    ]


def test_month_days_of_a_leap_february():
    assert len(month_days("2028-02")) == 29


sessions_of_november = st.lists(
    st.builds(
        session,
        day=st.integers(1, 30),
        kind=st.sampled_from(TypeActivite),
        themes=st.lists(st.sampled_from(Thematique), max_size=3, unique=True).map(tuple),
        minutes=st.integers(1, 600),
        participants=st.integers(1, 30),
        passes=st.integers(0, 12),
    ),
    max_size=25,
)


@given(sessions_of_november)
def test_totals_are_the_sums_of_the_sessions(items):
    report = build_report(NOVEMBER, items)
    total = report.total
    assert total.sessions == len(items)
    assert total.passes == sum(item.pass_count for item in items)
    assert total.cents == sum(item.pass_cents for item in items)
    assert total.minutes == sum(item.activity.duration_minutes for item in items)
    assert total.participants == sum(item.activity.participant_count for item in items)
    for parts in (report.by_type, report.weeks):
        rows = [astuple(line.tally) for line in parts]
        sums = [sum(column) for column in zip(*rows, strict=True)]
        assert sums == list(astuple(total))
    assert sum(report.per_day) == total.sessions
    # Each session once under each of its thématiques (or under « Sans thématique »).
    counted = sum(len(item.activity.thematiques) or 1 for item in items)
    assert sum(line.tally.sessions for line in report.by_thematique) == counted
    passes = sum(item.pass_count * (len(item.activity.thematiques) or 1) for item in items)
    assert sum(line.tally.passes for line in report.by_thematique) == passes


def test_shifted_period():
    assert shifted_period("2026-11", -1) == "2026-10"
    assert shifted_period("2026-11", 2) == "2027-01"
    assert shifted_period("2026-01", -1) == "2025-12"
