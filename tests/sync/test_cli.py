"""The sync commands of the command line, in process, on real data directories."""

from __future__ import annotations

import gzip
import json
import re
import socket
from collections.abc import Iterator
from datetime import UTC, datetime

import pytest

from mediateur_tui.cli import main
from mediateur_tui.domain.signatures import key_fingerprint
from mediateur_tui.protocol.documents import dump_gzip_json
from mediateur_tui.services.batches import batch_document, list_batches

from .conftest import OPERATOR, PIN
from .region import OTHER_SITE_ID, SITE_ID


@pytest.fixture(autouse=True)
def _no_ambient_settings(monkeypatch, tmp_path):
    monkeypatch.delenv("MEDIATEUR_DATA_DIR", raising=False)
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "xdg-data"))
    monkeypatch.setattr("time.sleep", lambda _seconds: None)  # retries do not wait


def run(capsys, *args: str) -> tuple[int, str, str]:
    code = main(list(args))
    out, err = capsys.readouterr()
    return code, out, err


@pytest.fixture
def closed_port_url() -> Iterator[str]:
    """A port no server can take while the test runs: bound here, never listening, so that a
    connection to it is refused (another worker's hub cannot be given it meanwhile)."""
    with socket.socket() as bound:
        bound.bind(("127.0.0.1", 0))
        yield f"http://127.0.0.1:{bound.getsockname()[1]}"


def test_import_replica_on_a_new_data_dir(capsys, tmp_path, region):
    region.carnet()
    path = tmp_path / "replica.json.gz"
    path.write_bytes(dump_gzip_json(region.snapshot()))
    data_dir = tmp_path / "donnees"
    code, _, err = run(capsys, "import-replica", str(path), "--data-dir", str(data_dir))
    assert code == 2 and "--site" in err
    args = ("import-replica", str(path), "--data-dir", str(data_dir), "--site", SITE_ID)
    code, out, _ = run(capsys, *args)
    assert code == 0
    assert key_fingerprint(region.public_key) in out
    assert "Réplique importée : 4 changement(s), 10 pass" in out
    code, out, _ = run(capsys, *args)
    assert code == 0 and "déjà à jour" in out


@pytest.mark.parametrize("lines", [False, True], ids=["snapshot /1", "snapshot /2"])
def test_a_replica_whose_until_has_5000_digits_is_refused_in_french(
    capsys, tmp_path, region, lines
):
    """json.loads raises a bare ValueError past 4,300 digits: a French refusal, exit 2, not
    an unexpected error."""
    huge = "9" * 5_000
    path = tmp_path / "r.json.gz"
    if lines:
        region.snapshot_file(path)
    else:
        path.write_bytes(dump_gzip_json(region.snapshot()))
    data = gzip.decompress(path.read_bytes())
    path.write_bytes(
        gzip.compress(re.sub(rb'"until":\d+', f'"until":{huge}'.encode(), data, count=1))
    )
    data_dir = str(tmp_path / "donnees")
    code, out, err = run(
        capsys, "import-replica", str(path), "--data-dir", data_dir, "--site", SITE_ID
    )
    assert (code, out) == (2, "")
    said = "la ligne 1 de la réplique n'est pas du JSON valide" if lines else "document JSON valide"
    assert said in err
    assert "inattendue" not in err and "Traceback" not in err


def test_close_export_and_import_ack(capsys, monkeypatch, tmp_path, site, region):
    codes = next(change for change in region.changes if change["t"] == "carnet")["codes"]
    moment = datetime(2026, 3, 12, 9, 0, tzinfo=UTC)
    session_id = site.session(moment)
    for code in codes[:3]:
        site.redeem(code, moment, session_id)
    monkeypatch.setenv("MEDIATEUR_PIN", PIN)
    data = ("--data-dir", str(site.data_dir), "--operator", OPERATOR)  # a responsable's commands

    code, out, _ = run(capsys, "close-month", "--month", "2026-02", *data)
    assert code == 1 and "Aucun encaissement à remettre pour février 2026" in out
    code, _, err = run(capsys, "close-month", "--month", "mars", *data)
    assert code == 2 and "Mois invalide" in err
    code, out, _ = run(capsys, "close-month", "--month", "2026-03", *data)
    assert code == 0
    assert "Mois de mars 2026 clos : remise n° 1, 3 pass, 30,00 €, 0 lecture refusée." in out
    assert "Rapport d'activité du mois : " in out and "activite-" in out

    usb = tmp_path / "usb"
    code, out, _ = run(capsys, "export-batch", str(usb), *data)
    assert code == 0 and "Remise n° 1 (mars 2026) : 3 pass, 30,00 €" in out
    names = sorted(path.name for path in usb.iterdir())
    assert names == [f"remise-{SITE_ID}-2026-03.{ext}" for ext in ("csv", "json.gz", "pdf")]

    (batch,) = list_batches(site.engine)
    document = batch_document(site.engine, batch.batch_id)
    winner = {"site_id": OTHER_SITE_ID, "redeemed_at": "2026-03-11T15:30:00Z"}
    ack = region.ack(document, refused={document["redemptions"][2]["id"]: ("conflict", winner)})
    ack_file = usb / f"accuse-{batch.batch_id}.json.gz"
    ack_file.write_bytes(dump_gzip_json(ack))
    code, out, _ = run(capsys, "import-ack", str(ack_file), *data)
    assert code == 0
    assert "2 pass acceptés pour 20,00 €, 1 pass refusé" in out
    assert "refusé — déjà encaissé ailleurs (FOURMIES-MEDIA, 11/03/2026 16:30)" in out
    code, out, _ = run(capsys, "import-ack", str(ack_file), *data)
    assert code == 0 and "déjà importé" in out
    code, out, _ = run(capsys, "export-batch", str(usb), *data)
    assert code == 1 and "rien à exporter" in out


def test_sync_and_enrol_report_errors_for_cron(
    capsys, monkeypatch, tmp_path, site, closed_port_url
):
    data = ("--data-dir", str(site.data_dir))
    code, out, err = run(capsys, "sync", *data)
    assert code == 2 and out == "" and "n'est pas inscrit" in err
    url = closed_port_url
    site.set_enrolment(url)
    code, out, err = run(capsys, "sync", "--json", *data)
    assert code == 2
    report = json.loads(out)
    assert report["ok"] is False and "Rien n'est perdu" in report["errors"][0]
    code, out, err = run(capsys, "sync", *data)
    assert code == 2 and "Erreur : Réplique : La région" in err
    code, _, err = run(
        capsys, "enrol", "--hub", url, "--token", "T", "--data-dir", str(tmp_path / "new")
    )
    assert code == 2 and "ne répond pas" in err
    monkeypatch.setenv("MEDIATEUR_PIN", PIN)
    as_responsable = ("--operator", OPERATOR)
    code, _, err = run(
        capsys, "enrol", "--hub", "pass.example.fr", "--token", "T", *as_responsable, *data
    )
    assert code == 2 and "Adresse du serveur régional invalide" in err
