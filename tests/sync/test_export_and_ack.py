"""The USB-key route: batch files (signed document, CSV, PDF slip) and the region's answer."""

from __future__ import annotations

import copy
import csv
import shutil
import subprocess
from datetime import UTC, datetime

import pytest
from contract import validate
from pypdf import PdfReader
from sqlmodel import Session, select

from mediateur_tui.domain.clock import fixed_clock
from mediateur_tui.protocol.documents import dump_gzip_json, load_json
from mediateur_tui.protocol.errors import ProtocolError
from mediateur_tui.protocol.formats import BATCH
from mediateur_tui.protocol.signing import site_signer, verify_document
from mediateur_tui.services.acks import import_ack
from mediateur_tui.services.batch_files import write_batch_csv, write_batch_pdf
from mediateur_tui.services.batches import batch_document
from mediateur_tui.services.month_end import MonthEnd
from mediateur_tui.store.keys import load_site_key, raw_public_key
from mediateur_tui.store.models import AckLine, Batch
from mediateur_tui.sync.errors import SyncError

from .region import OTHER_SITE_ID, SITE_ID, Region

APRIL_2 = datetime(2026, 4, 2, 9, 0, tzinfo=UTC)


def codes_of(region, count: int) -> list[str]:
    carnets = [change for change in region.changes if change["t"] == "carnet"]
    return [code for carnet in carnets for code in carnet["codes"]][:count]


@pytest.fixture
def sealed(site, region):
    """A March batch of three lines (30,00 €) sealed on 2 April."""
    moment = datetime(2026, 3, 12, 9, 0, tzinfo=UTC)
    session_id = site.session(moment, "Atelier ; « sécurité » & co")
    for code in codes_of(region, 3):
        site.redeem(code, moment, session_id)
    month_end = MonthEnd(site.engine, site.data_dir, clock=fixed_clock(APRIL_2))
    batch = month_end.close_month("2026-03")
    return month_end, batch, batch_document(site.engine, batch.batch_id)


def ack_lines(site) -> list[AckLine]:
    with Session(site.engine) as session:
        return list(session.exec(select(AckLine).order_by(AckLine.redemption_id)))


# --- export ---------------------------------------------------------------------------------


def test_export_writes_the_signed_document_a_csv_and_a_pdf(site, sealed, tmp_path):
    month_end, batch, document = sealed
    (exported,) = month_end.export(tmp_path / "usb")
    assert exported.document.name == f"remise-{SITE_ID}-2026-03.json.gz"
    assert exported.csv.name == f"remise-{SITE_ID}-2026-03.csv"
    assert exported.pdf.name == f"remise-{SITE_ID}-2026-03.pdf"
    assert not list((tmp_path / "usb").glob("*.tmp"))

    on_file = load_json(exported.document.read_bytes(), BATCH)
    assert on_file == document
    validate(on_file, "pn-batch/1")
    verify_document(on_file, raw_public_key(load_site_key(site.data_dir)), site_signer(SITE_ID))

    raw = exported.csv.read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf")
    rows = list(csv.reader(raw.decode("utf-8-sig").splitlines(), delimiter=";"))
    assert rows[0][:4] == ["Identifiant", "Date", "Heure", "Code"]
    assert [row[0] for row in rows[1:4]] == [line["id"] for line in document["redemptions"]]
    assert rows[1][1:3] == ["12/03/2026", "10:00"]  # French time
    assert rows[1][4] == "Atelier ; « sécurité » & co"
    amount = rows[0].index("Montant (€)")
    assert rows[1][amount] == "10,00" and rows[1][8] == "non"
    # Numbers a spreadsheet sums: the lines add up to the total line, what the batch claims.
    lines_sum = sum(float(row[amount].replace(",", ".")) for row in rows[1:-1])
    assert lines_sum == document["totals"]["value_cents"] / 100 == 30.0
    assert rows[-1][0] == "Total" and rows[-1][amount] == "30,00"

    pdf = exported.pdf.read_bytes()
    assert pdf.startswith(b"%PDF")
    if shutil.which("pdftotext"):
        text = subprocess.run(
            ["pdftotext", "-layout", str(exported.pdf), "-"],
            capture_output=True,
            text=True,
            check=True,
        ).stdout
        assert "Total : 3 pass — 30,00 €" in text
        assert "mars 2026" in text and batch.batch_id in text
        assert "Atelier ; « sécurité » & co" in text


PERSON = "Nguyễn Thị Łucja"  # outside Western European: Helvetica printed it ■


def test_a_typed_text_like_a_formula_is_written_as_text_in_the_csv(sealed, tmp_path):
    _, _, document = sealed
    document = copy.deepcopy(document)
    formula = '=HYPERLINK("http://exemple.invalid","clic")'
    document["sessions"][0]["title"] = formula
    for line in document["redemptions"]:
        line["operator"] = "@SUM(A1)"
    path = write_batch_csv(document, tmp_path / "remise.csv")
    rows = list(csv.reader(path.read_text(encoding="utf-8-sig").splitlines(), delimiter=";"))
    assert rows[1][4] == "'" + formula and rows[1][5] == "'@SUM(A1)"
    assert rows[1][rows[0].index("Montant (€)")] == "10,00"  # numbers stay numbers


def test_the_slip_prints_every_name_in_an_embedded_font(sealed, tmp_path):
    _, _, document = sealed
    for line in document["redemptions"]:
        line["operator"] = PERSON
    path = write_batch_pdf(document, f"Espace {PERSON}", tmp_path / "bordereau.pdf")
    reader = PdfReader(path)
    text = reader.pages[0].extract_text()
    assert f"Espace {PERSON}" in text
    assert text.count(PERSON) == 4  # the site, then each line's operator
    fonts = {
        font.get_object()["/BaseFont"] for font in reader.pages[0]["/Resources"]["/Font"].values()
    }
    assert {name.split("+")[-1] for name in fonts} == {"NotoSans-Regular", "NotoSans-Bold"}
    for font in reader.pages[0]["/Resources"]["/Font"].values():
        assert "/FontFile2" in font.get_object()["/FontDescriptor"]  # embedded, not named


def test_export_defaults_to_the_batches_not_yet_acknowledged(site, region, sealed, tmp_path):
    month_end, batch, document = sealed
    import_ack(site.engine, region.ack(document), APRIL_2)
    assert month_end.export(tmp_path / "none") == []
    (again,) = month_end.export(tmp_path / "one", batch.batch_id)  # by id: still possible
    assert again.batch.batch_id == batch.batch_id
    with pytest.raises(SyncError, match="Remise inconnue"):
        month_end.export(tmp_path / "x", "0" * 32)


# --- acknowledgements -----------------------------------------------------------------------


def test_an_ack_is_stored_line_by_line(site, region, sealed, tmp_path):
    month_end, batch, document = sealed
    lines = document["redemptions"]
    winner = {"site_id": OTHER_SITE_ID, "redeemed_at": "2026-03-11T15:30:00Z"}
    ack = region.ack(document, refused={lines[1]["id"]: ("conflict", winner)})
    validate(ack, "pn-ack/1")
    path = tmp_path / f"accuse-{batch.batch_id}.json.gz"
    path.write_bytes(dump_gzip_json(ack))

    summary = month_end.import_ack_file(path)
    assert (summary.accepted, summary.accepted_cents, summary.refused) == (2, 2000, 1)
    assert not summary.already_imported
    (refused,) = summary.refused_lines
    assert refused.code == lines[1]["code"]
    assert refused.describe().endswith(
        "refusé — déjà encaissé ailleurs (FOURMIES-MEDIA, 11/03/2026 16:30)"
    )
    stored = {line.redemption_id: line for line in ack_lines(site)}
    assert len(stored) == 3
    assert stored[lines[1]["id"]].reason == "conflict"
    assert stored[lines[1]["id"]].winner_redeemed_at == datetime(2026, 3, 11, 15, 30, tzinfo=UTC)
    assert stored[lines[0]["id"]].verdict == "accepted"
    assert [line.verdict for line in month_end.ack_lines(batch.batch_id)] == [
        "accepted", "refused", "accepted",
    ]  # fmt: skip
    assert month_end.pending_batches() == []
    with Session(site.engine) as session:
        row = session.get(Batch, batch.batch_id)
        assert row.acknowledged_at == APRIL_2 and row.ack_document


def test_importing_the_same_ack_twice_changes_nothing(site, region, sealed):
    _, _, document = sealed
    ack = region.ack(document)
    import_ack(site.engine, ack, APRIL_2)
    before = site.dump()
    again = import_ack(site.engine, ack, datetime(2026, 4, 9, tzinfo=UTC))
    assert again.already_imported and again.accepted == 3
    assert site.dump() == before


def test_a_different_ack_for_an_acknowledged_batch_is_refused(site, region, sealed):
    _, _, document = sealed
    import_ack(site.engine, region.ack(document), APRIL_2)
    before = site.dump()
    other = region.ack(document, refused={document["redemptions"][0]["id"]: ("revoked", None)})
    with pytest.raises(ProtocolError, match="déjà un accusé de réception"):
        import_ack(site.engine, other, APRIL_2)
    assert site.dump() == before


@pytest.mark.parametrize(
    "change",
    [
        lambda ack: ack["lines"][0].update(verdict="refused", reason="expired"),
        lambda ack: ack["totals"].update(accepted_cents=999_999),
        lambda ack: ack.pop("signature"),
    ],
    ids=["line", "totals", "unsigned"],
)
def test_a_tampered_ack_is_refused_and_nothing_stored(site, region, sealed, change):
    _, _, document = sealed
    ack = copy.deepcopy(region.ack(document))
    change(ack)
    before = site.dump()
    with pytest.raises(ProtocolError, match="refusé"):
        import_ack(site.engine, ack, APRIL_2)
    assert site.dump() == before


def test_an_ack_must_answer_this_sites_batch_line_by_line(site, region, sealed):
    _, batch, document = sealed
    before = site.dump()

    def signed(mutate) -> dict:
        unsigned = copy.deepcopy(document)
        mutate(unsigned)
        return region.ack(unsigned)

    cases = {
        "Aucune remise scellée": signed(lambda d: d.update(batch_id="f" * 32)),
        "destiné au lieu « FOURMIES-MEDIA »": signed(lambda d: d.update(site_id=OTHER_SITE_ID)),
        "ne correspond pas aux lignes": signed(lambda d: d["redemptions"].pop()),
    }
    for message, ack in cases.items():
        with pytest.raises(ProtocolError, match=message):
            import_ack(site.engine, ack, APRIL_2)
    with pytest.raises(ProtocolError, match="ne connaît pas comme clé de la région"):
        import_ack(site.engine, Region().ack(document), APRIL_2)  # another region key
    with pytest.raises(ProtocolError, match="au lieu de"):
        import_ack(site.engine, region.ack(document), APRIL_2, expected_batch_id="e" * 32)
    assert site.dump() == before
    assert batch.acknowledged_at is None


def test_ack_files_are_checked(site, sealed, tmp_path):
    month_end, _, document = sealed
    with pytest.raises(ProtocolError, match="introuvable"):
        month_end.import_ack_file(tmp_path / "absent.json.gz")
    path = tmp_path / "remise.json.gz"
    path.write_bytes(dump_gzip_json(document))  # the batch itself, not its ack
    with pytest.raises(ProtocolError, match="type attendu"):
        month_end.import_ack_file(path)


def test_the_slip_prints_the_sites_identity_and_no_empty_label_without_one(sealed, tmp_path):
    from mediateur_tui.domain.site_identity import SiteIdentity

    _, _, document = sealed
    identity = SiteIdentity("12345678200010", "2B033", "20200")
    path = write_batch_pdf(document, "Espace", tmp_path / "avec.pdf", identity)
    text = PdfReader(path).pages[0].extract_text()
    assert "Identité : SIRET 123 456 782 00010 · code INSEE 2B033 · code postal 20200" in text
    path = write_batch_pdf(document, "Espace", tmp_path / "sans.pdf")
    text = PdfReader(path).pages[0].extract_text()
    assert "Identité" not in text and "SIRET" not in text and "Lieu : Espace" in text
