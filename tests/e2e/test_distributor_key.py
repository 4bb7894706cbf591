"""A site the region makes a distributor after its enrolment receives the region's
beneficiary key at its next sync (GET /v1/beneficiary-key), against a real hub process."""

from __future__ import annotations

from mediateur_tui.services.attribution import AttributionDesk

from .conftest import SITE_A, SITE_A_NAME


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
