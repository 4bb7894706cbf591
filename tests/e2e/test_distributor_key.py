"""A site the region makes a distributor after its enrolment receives the region's
beneficiary key: online at its next sync (GET /v1/beneficiary-key, against a real hub
process), or by USB key (mediateur-hub export-beneficiary-key, attribution import-key)."""

from __future__ import annotations

import json

from mediateur_tui.services.attribution import AttributionDesk

from .conftest import JEANNE, SITE_A, SITE_A_NAME, SITE_B, SITE_B_NAME, request_for


def test_a_site_made_distributor_after_its_enrolment_gets_the_key_at_its_sync(
    region, make_site
) -> None:
    region.init()
    token = region.enrol_site(SITE_A, SITE_A_NAME)
    server = region.serve()
    site = make_site("a")
    out = site.ok("enrol", "--hub", server.url, "--token", token)
    assert "Structure distributrice" not in out
    out = site.ok("sync")
    assert "Clé bénéficiaires" not in out
    desk = AttributionDesk(site.engine, site.data_dir)
    assert desk.unavailable_reason() is not None

    region.enrol_site(SITE_A, SITE_A_NAME, distributor=True)  # the token is not needed
    out = site.ok("sync")
    assert "Clé bénéficiaires reçue de la région" in out
    assert desk.unavailable_reason() is None
    again = site.ok("sync")
    assert "Clé bénéficiaires" not in again


def test_a_site_enrolled_by_usb_key_imports_the_key_from_a_file(region, make_site, tmp_path):
    usb = tmp_path / "cle-usb"
    region.init()
    token = region.enrol_site(SITE_A, SITE_A_NAME)
    other_token = region.enrol_site(SITE_B, SITE_B_NAME, distributor=True)
    site, other = make_site("a"), make_site("b")
    replica = usb / "replique.json.gz"
    region.ok("export-replica", str(replica))
    for data, site_id, code in ((site, SITE_A, token), (other, SITE_B, other_token)):
        data.ok("import-replica", str(replica), "--site", site_id)
        request = usb / f"demande-{site_id}.json"
        data.ok("enrol", "--token", code, "--request-file", str(request))
        region.ok("import-enrolment", str(request))
        data.ok("enrol", "--answer-file", str(usb / f"inscription-{site_id}.json"))
    refused = region.hub("export-beneficiary-key", "--site-id", SITE_A, "--out", str(usb))
    assert refused.code == 2 and "structure distributrice" in refused.err

    region.enrol_site(SITE_A, SITE_A_NAME, distributor=True)
    out = region.ok("export-beneficiary-key", "--site-id", SITE_A, "--out", str(usb))
    key_file = usb / f"cle-beneficiaires-{SITE_A}.json"
    assert str(key_file) in out
    assert key_file.stat().st_mode & 0o777 == 0o600

    # Another site's key file is refused, and so is an altered one.
    wrong = other.cli("attribution", "import-key", str(key_file))
    assert wrong.code == 2 and "autre lieu" in wrong.err
    altered = usb / "alteree.json"
    document = json.loads(key_file.read_bytes())
    document["issued_at"] = "2020-01-01T00:00:00Z"
    altered.write_text(json.dumps(document))
    bad = site.cli("attribution", "import-key", str(altered))
    assert bad.code == 2 and "Signature invalide" in bad.err
    desk = AttributionDesk(site.engine, site.data_dir)
    assert desk.unavailable_reason() is not None

    out = site.ok("attribution", "import-key", str(key_file))
    assert "Clé bénéficiaires enregistrée" in out
    assert desk.unavailable_reason() is None
    # The same person gets the same reference at both distributors.
    assert (
        AttributionDesk(other.engine, other.data_dir)
        .assess(request_for(JEANNE, False))
        .beneficiary_ref
        == desk.assess(request_for(JEANNE, False)).beneficiary_ref
    )
