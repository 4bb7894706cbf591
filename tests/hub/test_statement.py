"""The monthly statement of a site: CSV (`;`, UTF-8 BOM) and PDF slip."""

from __future__ import annotations

import csv
import shutil
import subprocess
from dataclasses import replace
from datetime import date

import pytest
from pypdf import PdfReader

from mediateur_tui.domain.activity import Thematique, TypeLieu
from mediateur_tui.domain.codes import format_code
from mediateur_tui.domain.errors import UserError
from mediateur_tui.hub.errors import NotFound
from mediateur_tui.hub.intake import receive_batch
from mediateur_tui.hub.models import HubBatchSession
from mediateur_tui.hub.statement import build_statement, write_files
from mediateur_tui.hub.statement_activity import (
    ActivityRow,
    PaidLine,
    activity_sentence,
    site_activity,
)
from mediateur_tui.protocol.activity import ActivitySummary
from mediateur_tui.protocol.documents import dump_json
from mediateur_tui.protocol.signing import sign_document, site_signer

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


def batch_with_activity(world: World) -> dict:
    """Site A's November: an atelier of 6 (e-mail and navigation: 2 passes, one refused), an
    accompagnement with no thématique (1 pass), and a session that carried no activity."""
    lines = [line(world.fresh[0], AT), line(world.revoked, AT), line(world.fresh[1], AT)]
    lines += [line(world.fresh[2], AT)]
    for item, session_id in zip(lines, (1, 1, 2, 3), strict=True):
        item["session_id"] = session_id
    document = make_batch(world.sites[SITE_A], lines, sign=False)
    atelier, *_ = document["sessions"]
    atelier["activity"] = {
        "date": "2026-11-12",
        "place": "lieu_activite",
        "thematiques": ["navigation_sur_internet", "email"],
        "participants": 6,
        "genres": {"feminin": 4},
    }
    alone = {**atelier, "id": 2, "kind": "individuel", "duration_minutes": 45}
    alone["activity"] = {**atelier["activity"], "thematiques": [], "participants": 1}
    alone["activity"].pop("genres")
    older = {key: value for key, value in atelier.items() if key != "activity"} | {"id": 3}
    document["sessions"] = [atelier, alone, older]
    site = world.sites[SITE_A]
    return sign_document(document, site.key, site_signer(site.id))


def test_the_statement_counts_the_activity_beside_the_payments(world: World, tmp_path) -> None:
    receive_batch(world.hub, batch_with_activity(world), SITE_A)
    statement = build_statement(world.hub, SITE_A, "2026-11")
    activity = statement.activity
    assert activity.sent and activity.without_activity == 1
    assert activity.total == ActivityRow("Toutes thématiques", 2, 165, 7, 2, 2000)
    assert activity.by_theme == [
        ActivityRow("Navigation sur internet", 1, 120, 6, 1, 1000),  # the revoked pass: unpaid
        ActivityRow("E-mail", 1, 120, 6, 1, 1000),
        ActivityRow("Sans thématique", 1, 45, 1, 1, 1000),
    ]
    assert statement.accepted_cents == 3000  # the session without activity is paid too
    _, activity_csv, pdf_path = write_files(statement, tmp_path)
    rows = list(csv.reader(activity_csv.read_text("utf-8-sig").splitlines(), delimiter=";"))
    assert rows[1] == ["Toutes thématiques", "2", "2,75", "7", "2", "20,00"]
    assert rows[-1] == ["Séances sans activité transmise", "1", "", "", "", ""]
    text = " ".join(page.extract_text() for page in PdfReader(pdf_path).pages)
    for expected in ("Activité (La Coop", "Toutes thématiques", "2 h 45", "Sans thématique"):
        assert expected in text
    assert "1 séance de ce mois sans activité transmise" in text


def test_a_site_that_sent_no_activity_says_so(remitted: World, tmp_path) -> None:
    statement = build_statement(remitted.hub, SITE_A, "2026-11")
    assert not statement.activity.sent
    assert activity_sentence(statement.activity) == "Activité : activité non transmise."
    _, activity_csv, pdf_path = write_files(statement, tmp_path)
    assert "activité non transmise" in activity_csv.read_text("utf-8-sig")
    assert "Activité : activité non transmise." in PdfReader(pdf_path).pages[0].extract_text()


def _session_row(batch_id: str, session_id: int) -> HubBatchSession:
    summary = ActivitySummary(
        date=date(2026, 11, 30),
        place_type=TypeLieu.LIEU_ACTIVITE,
        thematiques=(Thematique.EMAIL,),
        participants=6,
    )
    return HubBatchSession(
        batch_id=batch_id,
        session_id=session_id,
        site_id="A",
        kind="collectif",
        duration_minutes=90,
        activity=dump_json(summary.document()).decode(),
    )


def test_a_session_in_two_batches_is_counted_once_with_all_its_passes() -> None:
    # Passes taken after midnight on the month's last day, or a batch sealed again: the same
    # session comes in two batches. Its hours and participants count once.
    rows = [_session_row("B1", 1), _session_row("B2", 1)]
    paid = [PaidLine("B1", 1, 1000), PaidLine("B2", 1, 1000)]
    activity = site_activity(rows, paid)
    total = activity.total
    assert (total.sessions, total.minutes, total.participants) == (1, 90, 6)
    assert (total.passes, total.cents) == (2, 2000)
    # The next month's statement: the session was counted before, only its passes are new.
    later = site_activity([_session_row("B3", 1)], [PaidLine("B3", 1, 1000)], {1})
    assert (later.total.sessions, later.total.minutes, later.total.participants) == (0, 0, 0)
    assert (later.total.passes, later.total.cents) == (1, 1000)
    assert later.sent and [row.passes for row in later.by_theme] == [1]
