"""The USB-key route, end to end: the region's replica goes to the site as a file, the site's
monthly batch comes back as a file, and so does the region's answer.

The site is set up from a replica file, then enrolled once (its key must reach the region:
today only `enrol`, over HTTP, does that), and from then on works without any network.
"""

from __future__ import annotations

import json
import re

from contract import validate

from mediateur_tui.domain.formatting import format_euros
from mediateur_tui.domain.periods import period_label
from mediateur_tui.protocol.documents import load_json
from mediateur_tui.protocol.formats import ACK, BATCH, REPLICA_SEAL, REPLICA_SNAPSHOT_LINES
from mediateur_tui.protocol.snapshot_lines import SnapshotReader

from .conftest import PERIOD, SITE_A, SITE_A_NAME, in_period


def test_replica_batch_and_answer_travel_by_file(region, make_site, tmp_path) -> None:
    usb = tmp_path / "cle-usb"
    region.init()
    carnets = region.issue(2, size=5)
    first, second = sorted(carnets)
    region.attribute(first, "BENEF-0001")  # the second carnet is not handed out
    token = region.enrol_site(SITE_A, SITE_A_NAME)  # the region records the site

    # Region -> site: the replica.
    replica_file = usb / "replique.json.gz"
    out = region.ok("export-replica", str(replica_file))
    assert f"→ {replica_file}" in out
    with replica_file.open("rb") as stream:
        reader = SnapshotReader(stream)
        for change in reader.changes():
            validate(change, REPLICA_SNAPSHOT_LINES)
    validate(reader.head, REPLICA_SNAPSHOT_LINES)
    validate(reader.seal, REPLICA_SEAL)

    site = make_site("a")
    first_try = site.cli("import-replica", str(replica_file))
    assert first_try.code == 2 and "--site" in first_try.err
    out = site.ok("import-replica", str(replica_file), "--site", SITE_A)
    assert "Clé de la région HDF enregistrée (premier import)" in out
    assert "10 pass" in out
    again = site.ok("import-replica", str(replica_file))
    assert "Réplique déjà à jour" in again

    # The one moment with a network: the site's key reaches the region. Then no more network.
    with region.serve() as server:
        out = site.ok("enrol", "--hub", server.url, "--token", token)
        assert f"({SITE_A})" in out
    sleeps: list[float] = []
    offline = site.sync_service(sleeps).sync()
    assert len(offline.errors) == 1 and "ne répond pas (connexion impossible)" in offline.errors[0]
    assert "Rien n'est perdu" in offline.errors[0]

    # At the desk, last month.
    site.ok("operator", "add", "Camille Martin", "--role", "responsable", pin="1234")
    taken = carnets[first][:3]
    results = site.redeem("Camille Martin", "1234", taken, in_period(5, 10))
    assert all(result.redeemable for result in results)
    refused = site.redeem("Camille Martin", "1234", [carnets[second][0]], in_period(5, 11))
    assert [result.verdict.value for result in refused] == ["unattributed"]

    # Site -> region: the sealed batch, as a file.
    out = site.ok("close-month", "--month", PERIOD)
    batch_id = re.search(r"Identifiant de la remise : ([0-9a-f]{32})", out).group(1)
    out = site.ok("export-batch", str(usb))
    batch_file = usb / f"remise-{SITE_A}-{PERIOD}.json.gz"
    assert str(batch_file) in out
    assert (usb / f"remise-{SITE_A}-{PERIOD}.csv").exists()
    assert (usb / f"remise-{SITE_A}-{PERIOD}.pdf").read_bytes().startswith(b"%PDF")
    batch = load_json(batch_file.read_bytes(), BATCH)
    validate(batch, BATCH)
    assert batch["batch_id"] == batch_id
    assert [line["code"] for line in batch["redemptions"]] == taken
    assert [scan["verdict"] for scan in batch["refused_scans"]] == ["unattributed"]

    out = region.ok("import-batch", str(batch_file))
    assert "3 acceptées (30,00 €), 0 refusée" in out
    ack_file = usb / f"accuse-{batch_id}.json.gz"
    assert str(ack_file) in out
    ack = load_json(ack_file.read_bytes(), ACK)
    validate(ack, ACK)
    assert sorted(region.line_ids()) == sorted(line["id"] for line in batch["redemptions"])

    # Region -> site: the answer.
    out = site.ok("import-ack", str(ack_file))
    label = period_label(PERIOD)
    assert f"Accusé de réception de la remise n° 1 ({label}" in out
    assert "3 pass acceptés pour 30,00 €, 0 pass refusé." in out
    lines = site.ack_lines(batch_id)
    assert {code: line.verdict for code, line in lines.items()} == dict.fromkeys(taken, "accepted")
    month_end = site.month_end()
    assert month_end.pending_batches() == []
    verdicts = month_end.ack_lines(batch_id)
    accepted_cents = sum(line.value_cents for line in verdicts if line.accepted)
    assert format_euros(accepted_cents) == "30,00 €"
    assert "déjà importé" in site.ok("import-ack", str(ack_file))


def test_a_site_that_never_had_a_network_can_remit_by_file(region, make_site, tmp_path) -> None:
    usb = tmp_path / "cle-usb"
    region.init()
    carnets = region.issue(1, size=5)
    (carnet,) = carnets
    region.attribute(carnet, "BENEF-0001")
    token = region.enrol_site(SITE_A, SITE_A_NAME)
    region.ok("export-replica", str(usb / "replique.json.gz"))
    site = make_site("a")
    # Enrolment by file: the site's request goes to the region, its signed answer comes back.
    site.ok("enrol", "--token", token, "--request-file", str(usb / "demande.json"))
    out = region.ok("import-enrolment", str(usb / "demande.json"))
    assert f"Site {SITE_A}" in out
    site.ok("enrol", "--answer-file", str(usb / f"inscription-{SITE_A}.json"))
    site.ok("import-replica", str(usb / "replique.json.gz"))
    site.ok("operator", "add", "Camille Martin", "--role", "responsable", pin="1234")
    site.redeem("Camille Martin", "1234", carnets[carnet][:1], in_period(5, 10))
    site.ok("close-month", "--month", PERIOD)
    site.ok("export-batch", str(usb))
    out = region.ok("import-batch", str(usb / f"remise-{SITE_A}-{PERIOD}.json.gz"))
    assert "1 acceptée" in out


def test_enrolment_by_file_is_signed_used_once_and_leaves_sync_to_files(
    region, make_site, tmp_path
) -> None:
    usb = tmp_path / "cle-usb"
    region.init()
    token = region.enrol_site(SITE_A, SITE_A_NAME)
    site = make_site("a")
    bad = site.cli("enrol", "--token", token)  # neither online nor by file: says how
    assert bad.code == 2 and "--request-file" in bad.err
    site.ok("enrol", "--token", token, "--request-file", str(usb / "demande.json"))
    request = json.loads((usb / "demande.json").read_text(encoding="utf-8"))
    validate(request, "pn-enrolment-request/1")
    region.ok("import-enrolment", str(usb / "demande.json"))
    again = region.hub("import-enrolment", str(usb / "demande.json"), "--out", str(tmp_path))
    assert again.code == 2 and "déjà servi" in again.err  # a token works once
    answer_path = usb / f"inscription-{SITE_A}.json"
    answer = json.loads(answer_path.read_text(encoding="utf-8"))
    validate(answer, "pn-enrolment/1")

    forged = {**answer, "site_id": "AUTRE-LIEU"}  # altered after signing
    (usb / "falsifiee.json").write_text(json.dumps(forged), encoding="utf-8")
    refused = site.cli("enrol", "--answer-file", str(usb / "falsifiee.json"))
    assert refused.code == 2 and "Signature invalide" in refused.err

    out = site.ok("enrol", "--answer-file", str(answer_path))
    assert "(par fichier)" in out and "import-replica" in out
    sync = site.cli("sync")
    assert sync.code == 2 and "clé USB" in sync.err
