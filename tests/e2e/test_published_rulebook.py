"""The region publishes a new rulebook version without a software release; it reaches a
distributor site by sync and another by file, and decides their next `attribution check`.

The new version is the latest shipped one taking effect today with a cap of 5 passes per
person instead of 10: a senior who already received 5 passes gets a carnet of 5 before the
publication, and is refused after it, at both sites.

Against a real `mediateur-hub serve` process, on SQLite and on PostgreSQL.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from mediateur_tui.domain.formatting import local_date
from mediateur_tui.domain.rulebooks import RULES_DIR

from .conftest import SITE_A, SITE_A_NAME, SITE_B, SITE_B_NAME

TODAY = local_date(datetime.now(UTC))
NEW_ID = "hdf-nouveau-plafond"


def new_version() -> dict[str, Any]:
    latest = json.loads((RULES_DIR / "rulebook-2022.json").read_text(encoding="utf-8"))
    return {
        **latest,
        "id": NEW_ID,
        "title": "Règlement d'attribution des pass numériques, plafond ramené à 5 pass",
        "effective_from": TODAY.isoformat(),
        "max_passes_per_beneficiary": 5,
    }


def requests_file(folder: Path) -> Path:
    """A senior who already received 5 passes asks, alone, today."""
    path = folder / "demandes.json"
    request = {
        "received_on": TODAY.isoformat(),
        "category": "senior",
        "birth_date": "1950-01-01",
        "postcode": "59000",
        "accompanied": False,
        "proofs": ["residence", "age_proof"],
        "passes_already_received": 5,
    }
    path.write_text(json.dumps([request]), encoding="utf-8")
    return path


def decision(site, path: Path) -> dict[str, Any]:
    [row] = json.loads(site.ok("attribution", "check", str(path), "--json"))
    return row["decision"]


def test_a_published_rulebook_reaches_sites_by_sync_and_by_file_and_decides(
    any_region, make_site, tmp_path: Path
) -> None:
    region = any_region
    region.init()
    region.issue(1, size=5)
    token = region.enrol_site(SITE_A, SITE_A_NAME, distributor=True)
    region.enrol_site(SITE_B, SITE_B_NAME, distributor=True)  # by file: in the snapshot
    server = region.serve()
    usb = tmp_path / "cle-usb"
    usb.mkdir()
    requests = requests_file(tmp_path)

    online, offline = make_site("a"), make_site("b")
    online.ok("enrol", "--hub", server.url, "--token", token)
    online.ok("sync")
    region.ok("export-replica", str(usb / "replique-avant.json.gz"))
    offline.ok("import-replica", str(usb / "replique-avant.json.gz"), "--site", SITE_B)
    for site in (online, offline):
        before = decision(site, requests)
        assert before["eligible"] and before["carnets"] == [5], before
        assert before["rulebook"] == "hdf-2022-02"

    published = tmp_path / "reglement.json"
    published.write_text(json.dumps(new_version(), ensure_ascii=False), encoding="utf-8")
    out = region.ok("rulebook", "publish", str(published))
    assert f"Règlement {NEW_ID} publié" in out
    assert NEW_ID in region.ok("rulebook", "list")

    # By sync.
    online.ok("sync")
    after = decision(online, requests)
    assert not after["eligible"] and after["rulebook"] == NEW_ID, after
    assert any("5 pass" in reason for reason in after["reasons"]), after

    # By file.
    assert decision(offline, requests)["rulebook"] == "hdf-2022-02"  # nothing received yet
    region.ok("export-replica", str(usb / "replique.json.gz"))
    offline.ok("import-replica", str(usb / "replique.json.gz"))
    by_file = decision(offline, requests)
    assert by_file == after
