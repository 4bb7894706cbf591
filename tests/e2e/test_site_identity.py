"""The site's identity (SIRET or RNA, INSEE code, postcode), from the region's `enrol-site` to
the site's replica and its printed slip, then corrected with `site-identity` and received again
at the next sync; the region's statement prints it too. Against a real `mediateur-hub serve`.
"""

from __future__ import annotations

import re

from pypdf import PdfReader
from sqlmodel import Session

from mediateur_tui.store.models import Site

from .conftest import PERIOD, SITE_A, SITE_A_NAME, SITE_B, SITE_B_NAME, in_period

IDENTITY = ("--siret", "123 456 782 00010", "--code-insee", "59036", "--code-postal", "59440")
LINE = "SIRET 123 456 782 00010 · code INSEE 59036 · code postal 59440"


def site_row(site, site_id: str) -> Site:
    with Session(site.engine) as session:
        row = session.get(Site, site_id)
        assert row is not None
        return row


def test_the_identity_goes_from_enrolment_to_the_sites_slip(region, make_site, tmp_path) -> None:
    region.init()
    carnets = region.issue(1, size=5)
    [carnet] = carnets
    region.attribute(carnet, "BENEF-0001")
    out = region.ok("enrol-site", "--site-id", SITE_A, "--name", SITE_A_NAME, "--no-qr", *IDENTITY)
    assert f"Identité du lieu : {LINE}." in out
    token = re.search(r"^ {4}(\S+)$", out, re.MULTILINE).group(1)
    region.enrol_site(SITE_B, SITE_B_NAME)  # no identity: an old hub's site, as it were
    server = region.serve()

    site = make_site("a")
    site.ok("enrol", "--hub", server.url, "--token", token)
    site.ok("sync")
    identity = site_row(site, SITE_A).identity()
    assert identity is not None and identity.line() == LINE
    other = site_row(site, SITE_B)
    assert (other.pivot, other.code_insee, other.code_postal) == (None, None, None)

    # The region corrects it: an association, in Corsica; the next sync brings it.
    out = region.ok(
        "site-identity", SITE_A, "--rna", "w2a1001234", "--code-insee", "2a004",
        "--code-postal", "20000",
    )  # fmt: skip
    assert "Site AVESNES-EPN : identité enregistrée." in out
    assert "pas du même département" not in out
    site.ok("sync")
    corrected = site_row(site, SITE_A)
    assert (corrected.pivot, corrected.code_insee, corrected.code_postal) == (
        "W2A1001234",
        "2A004",
        "20000",
    )

    site.ok("operator", "add", "Camille Martin", "--role", "responsable", pin="1234")
    site.redeem("Camille Martin", "1234", carnets[carnet][:1], in_period(5, 10))
    site.ok("close-month", "--month", PERIOD)
    usb = tmp_path / "usb"
    site.ok("export-batch", str(usb))
    [slip] = usb.glob("remise-*.pdf")
    text = PdfReader(slip).pages[0].extract_text()
    assert "Identité : RNA W2A1001234 · code INSEE 2A004 · code postal 20000" in text

    site.ok("sync")  # the batch reaches the region: its statement prints the identity too
    region.ok("statement", "--site", SITE_A, "--month", PERIOD, "--out", str(tmp_path / "r"))
    [statement] = (tmp_path / "r").glob("*.pdf")
    statement_text = PdfReader(statement).pages[0].extract_text()
    assert "Identité : RNA W2A1001234 · code INSEE 2A004 · code postal 20000" in statement_text
