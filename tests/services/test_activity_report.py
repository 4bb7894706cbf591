"""A month's activity report from a real site database (services/activity_report.py): its
sums, its CSV and PDF read back, and the files a month end writes beside the remise."""

from __future__ import annotations

import csv
from datetime import UTC, date, datetime, timedelta

import pytest
from pypdf import PdfReader

from mediateur_tui.domain.activity import Activity, Thematique, TypeActivite
from mediateur_tui.domain.activity_report import Tally
from mediateur_tui.domain.clock import fixed_clock
from mediateur_tui.services.activity_report import (
    CSV_COLUMNS,
    ActivityReports,
    json_document,
)
from mediateur_tui.services.desk import Desk
from mediateur_tui.services.month_end import MonthEnd, report_not_written
from mediateur_tui.store.keys import load_or_create_site_key

from .conftest import NOW

IN_FEBRUARY = datetime(2026, 2, 16, 9, 0, tzinfo=UTC)  # a Monday


def atelier(day: date) -> Activity:
    return Activity(
        type=TypeActivite.COLLECTIF,
        date=day,
        duration_minutes=90,
        thematiques=(Thematique.EMAIL, Thematique.NAVIGATION_SUR_INTERNET),
        title="Atelier e-mail",
        participants=6,
    )


def accompagnement(day: date) -> Activity:
    return Activity(
        type=TypeActivite.INDIVIDUEL,
        date=day,
        duration_minutes=45,
        thematiques=(Thematique.AIDE_AUX_DEMARCHES_ADMINISTRATIVES, Thematique.SOCIAL_SANTE),
    )


@pytest.fixture
def february(demo_db, tmp_path):
    """February: an atelier with 3 passes (a 4th cancelled), an accompagnement with 1; one
    session in March; a site key in tmp_path."""
    load_or_create_site_key(tmp_path)
    operator = demo_db.operator.id
    codes = demo_db.demo.codes["valid"]
    desk = Desk(demo_db.engine, fixed_clock(IN_FEBRUARY))
    first = desk.start_activity(operator, "Atelier e-mail", atelier(IN_FEBRUARY.date()))
    for code in codes[:4]:
        assert desk.redeem(first.id, operator, code).redeemable
    desk.cancel(desk.last_active_redemption(first.id).id, operator, "erreur")
    desk.end_session(first.id)
    later = IN_FEBRUARY + timedelta(days=9)
    desk = Desk(demo_db.engine, fixed_clock(later))
    second = desk.start_activity(operator, "Dossier CAF", accompagnement(later.date()))
    assert desk.redeem(second.id, operator, codes[4]).redeemable
    desk.end_session(second.id)
    march = NOW - timedelta(hours=2)
    desk = Desk(demo_db.engine, fixed_clock(march))
    third = desk.start_activity(operator, "Mars", accompagnement(march.date()))
    assert desk.redeem(third.id, operator, codes[5]).redeemable
    return demo_db


def test_the_report_of_february(february):
    site = ActivityReports(february.engine).report("2026-02")
    report = site.report
    assert site.site_id == "AVESNES-EPN"
    assert site.basename == "activite-AVESNES-EPN-2026-02"
    assert report.total == Tally(sessions=2, participants=7, minutes=135, passes=4, cents=4000)
    assert [(line.label, line.tally.sessions, line.tally.passes) for line in report.by_type] == [
        ("Accompagnement individuel", 1, 1),
        ("Atelier collectif", 1, 3),
    ]
    assert [(line.label, line.tally.passes) for line in report.by_thematique] == [
        ("Navigation sur internet", 3),  # a tie: the Coop's order
        ("E-mail", 3),
        ("Aide aux démarches administratives", 1),
        ("Social - Santé", 1),
    ]
    # 1 February 2026 is a Sunday: its own week, then Monday to Sunday.
    assert [(week.label, week.tally.sessions) for week in report.weeks] == [
        ("01/02–01/02", 0),
        ("02/02–08/02", 0),
        ("09/02–15/02", 0),
        ("16/02–22/02", 1),
        ("23/02–28/02", 1),
    ]
    document = json_document(site)
    assert document["total"] == {
        "sessions": 2,
        "participants": 7,
        "minutes": 135,
        "passes": 4,
        "value_cents": 4000,
    }


def test_a_month_without_sessions(february):
    report = ActivityReports(february.engine).report("2026-01").report
    assert report.total == Tally()
    assert len(report.weeks) == 5


def test_the_csv_reads_back_for_a_french_spreadsheet(february, tmp_path):
    reports = ActivityReports(february.engine)
    path = tmp_path / "activite.csv"
    reports.write(reports.report("2026-02"), csv_path=path)
    assert path.read_bytes().startswith(b"\xef\xbb\xbf")
    with path.open(encoding="utf-8-sig", newline="") as stream:
        rows = list(csv.reader(stream, delimiter=";"))
    assert tuple(rows[0]) == CSV_COLUMNS
    lines = [dict(zip(CSV_COLUMNS, row, strict=False)) for row in rows[1:]]
    total = lines[0]
    assert total["Partie"] == "Total du mois"
    assert (total["Du"], total["Au"]) == ("01/02/2026", "28/02/2026")
    assert total["Durée (h)"] == "2,25"
    assert total["Montant des pass (€)"] == "40,00"
    email = next(line for line in lines if line["Libellé"] == "E-mail")
    assert (email["Partie"], email["Séances"], email["Pass encaissés"]) == ("Thématique", "1", "3")
    weeks = [line for line in lines if line["Partie"] == "Semaine"]
    assert [(week["Du"], week["Au"], week["Séances"]) for week in weeks] == [
        ("01/02/2026", "01/02/2026", "0"),
        ("02/02/2026", "08/02/2026", "0"),
        ("09/02/2026", "15/02/2026", "0"),
        ("16/02/2026", "22/02/2026", "1"),
        ("23/02/2026", "28/02/2026", "1"),
    ]
    assert [line["Partie"] for line in lines[-3:]] == ["Note", "Note", "Note"]


def test_the_pdf_reads_back_in_french(february, tmp_path):
    reports = ActivityReports(february.engine)
    path = tmp_path / "activite.pdf"
    reports.write(reports.report("2026-02"), pdf=path)
    reader = PdfReader(path)
    text = "\n".join(page.extract_text() for page in reader.pages)
    assert "Rapport d'activité — février 2026" in text
    assert "AVESNES-EPN" in text
    assert "Identité : SIRET 123 456 782 00010 · code INSEE 59036" in text  # the demo's
    assert "Aide aux démarches administratives" in text
    assert "Social - Santé" in text
    assert "40,00 €" in text
    assert "2 h 15" in text
    assert "Les pass d'une séance comptent sous chacune de ses thématiques" in text
    fonts = {
        font.get_object()["/BaseFont"] for font in reader.pages[0]["/Resources"]["/Font"].values()
    }
    assert all("NotoSans" in str(font) for font in fonts)


def test_closing_the_month_writes_the_report_beside_the_remise(february, tmp_path):
    month_end = MonthEnd(february.engine, tmp_path, fixed_clock(NOW))
    month_end.close_month("2026-02")
    folder = tmp_path / "remises"
    assert sorted(path.name for path in folder.iterdir()) == [
        "activite-AVESNES-EPN-2026-02.csv",
        "activite-AVESNES-EPN-2026-02.pdf",
    ]
    month_end.export(folder)
    names = sorted(path.name for path in folder.iterdir())
    assert names[2:] == [
        "remise-AVESNES-EPN-2026-02.csv",
        "remise-AVESNES-EPN-2026-02.json.gz",
        "remise-AVESNES-EPN-2026-02.pdf",
    ]
    assert (folder / "activite-AVESNES-EPN-2026-02.pdf").stat().st_mode & 0o077 == 0


def test_a_report_that_cannot_be_written_leaves_the_month_closed(february, tmp_path):
    (tmp_path / "remises").write_text("un fichier, pas un dossier")
    month_end = MonthEnd(february.engine, tmp_path, fixed_clock(NOW))
    batch = month_end.close_month("2026-02")
    assert batch.redemption_count == 4
    assert month_end.activity_report_file("2026-02") is None  # the close says so


def test_an_unexpected_failure_of_the_report_leaves_the_month_closed(february, tmp_path):
    month_end = MonthEnd(february.engine, tmp_path, fixed_clock(NOW))

    def broken(period: str) -> None:
        raise RuntimeError("reportlab")

    month_end.write_activity_report = broken  # type: ignore[method-assign]
    batch = month_end.close_month("2026-02")
    assert batch.redemption_count == 4
    assert month_end.activity_report_file("2026-02") is None
    assert "activity report --month 2026-02" in report_not_written("2026-02")
