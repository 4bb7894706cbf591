"""The monthly statement of a site: CSV (`;`, UTF-8 BOM) and PDF slip."""

from __future__ import annotations

import csv
import shutil
import subprocess
from dataclasses import replace

import pytest
from pypdf import PdfReader

from mediateur_tui.domain.codes import format_code
from mediateur_tui.domain.errors import UserError
from mediateur_tui.hub.errors import NotFound
from mediateur_tui.hub.intake import receive_batch
from mediateur_tui.hub.statement import build_statement, write_files

from .helpers import SITE_A, SITE_B, World, line, make_batch

AT = "2026-11-12T09:30:00Z"


@pytest.fixture
def remitted(sqlite_world: World) -> World:
    """Site B takes a pass first; site A then remits it (conflict), a good one and a revoked one."""
    world = sqlite_world
    contested = world.fresh[5]
    receive_batch(world.hub, make_batch(world.sites[SITE_B], [line(contested, AT)]), SITE_B)
    batch = make_batch(
        world.sites[SITE_A],
        [
            line(world.fresh[0], AT),
            line(world.fresh[1], AT),
            line(world.revoked, AT),
            line(contested, "2026-11-14T15:00:00Z"),
        ],
    )
    receive_batch(world.hub, batch, SITE_A)
    # Another month must not show up in November's statement.
    receive_batch(
        world.hub,
        make_batch(world.sites[SITE_A], [line(world.fresh[2], AT)], period="2026-10"),
        SITE_A,
    )
    return world


def test_statement_counts_accepted_lines_of_the_month(remitted: World) -> None:
    statement = build_statement(remitted.hub, SITE_A, "2026-11")
    assert len(statement.lines) == 4
    assert statement.accepted_cents == 2000
    assert [item.line.reason for item in statement.refused] == ["revoked", "conflict"]
    assert statement.period_text == "novembre 2026"


def test_statement_csv_lists_every_line_with_its_reason(remitted: World, tmp_path) -> None:
    statement = build_statement(remitted.hub, SITE_A, "2026-11")
    csv_path, _, _ = write_files(statement, tmp_path)
    raw = csv_path.read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf")
    rows = list(csv.reader(raw.decode("utf-8-sig").splitlines(), delimiter=";"))
    assert rows[0] == [
        "Remise",
        "Ligne",
        "Identifiant",
        "Code",
        "Date",
        "Heure",
        "Montant accepté (€)",
        "Verdict",
        "Motif",
    ]
    assert len(rows) == 6  # header, 4 lines, total
    assert rows[1][3] == format_code(remitted.fresh[0])
    assert rows[1][4:8] == ["12/11/2026", "10:30", "10,00", "accepté"]
    # A refused line is listed at 0: the column sums to what the region pays.
    assert rows[3][6:] == ["0,00", "refusé", "Pass en opposition"]
    assert rows[4][8] == (f"Déjà encaissé ailleurs (premier reçu : {SITE_B}, le 12/11/2026 10:30)")
    assert sum(float(row[6].replace(",", ".")) for row in rows[1:5]) == 20.0
    assert rows[5][5:7] == ["Total accepté (2 pass)", "20,00"]


def test_statement_pdf_slip_shows_totals_and_refusals(remitted: World, tmp_path) -> None:
    statement = build_statement(remitted.hub, SITE_A, "2026-11")
    _, _, pdf_path = write_files(statement, tmp_path)
    data = pdf_path.read_bytes()
    assert data.startswith(b"%PDF-")
    if shutil.which("pdftotext") is None:
        pytest.skip("pdftotext absent: only the PDF header was checked")
    text = subprocess.run(
        ["pdftotext", "-layout", str(pdf_path), "-"], capture_output=True, text=True, check=True
    ).stdout
    for expected in (
        "EPN d'Avesnes-sur-Helpe (AVESNES-EPN)",
        "Période : novembre 2026",
        "Total accepté",
        "20,00 €",
        "Pass en opposition",
        "Déjà encaissé ailleurs",
        format_code(remitted.revoked),
    ):
        assert expected in text


def test_statement_errors(remitted: World) -> None:
    with pytest.raises(NotFound, match="Site inconnu"):
        build_statement(remitted.hub, "NULLE-PART", "2026-11")
    with pytest.raises(UserError, match="Mois invalide"):
        build_statement(remitted.hub, SITE_A, "11-2026")
    assert build_statement(remitted.hub, SITE_A, "2026-12").lines == []
    # As written in France, too.
    assert build_statement(remitted.hub, SITE_A, "11/2026").month == "2026-11"


def test_statement_pdf_prints_every_name_in_an_embedded_font(remitted: World, tmp_path) -> None:
    person = "Nguyễn Thị Łucja"  # outside Western European: Helvetica printed it ■
    statement = replace(build_statement(remitted.hub, SITE_A, "2026-11"), site_name=person)
    _, _, pdf_path = write_files(statement, tmp_path)
    page = PdfReader(pdf_path).pages[0]
    assert f"Site : {person} ({SITE_A})" in page.extract_text()
    fonts = [font.get_object() for font in page["/Resources"]["/Font"].values()]
    assert {font["/BaseFont"].split("+")[-1] for font in fonts} == {
        "NotoSans-Regular",
        "NotoSans-Bold",
    }
    assert all("/FontFile2" in font["/FontDescriptor"] for font in fonts)  # embedded
