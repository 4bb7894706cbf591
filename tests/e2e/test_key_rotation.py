"""The region changes its signing key, then revokes the old one, end to end: a real hub process
(SQLite and PostgreSQL), one site that syncs over HTTP and one that only receives files; every
check is made offline, with `mediateur-tui check`."""

from __future__ import annotations

import re
from datetime import UTC, datetime

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from mediateur_tui.domain.formatting import format_date, local_date
from mediateur_tui.domain.scan_input import build_payload, signed_message
from mediateur_tui.domain.signatures import key_id, public_key_bytes, sign
from mediateur_tui.hub.database import KEY_FILENAME, read_private_key

from .conftest import PROGRAMME, SITE_A, SITE_A_NAME, SITE_B, SITE_B_NAME, VALID_UNTIL


def payloads(printed: dict[str, list[dict[str, str]]]) -> list[str]:
    return [row["qr_payload"] for rows in printed.values() for row in rows]


def checked(site, payload: str) -> tuple[int, str]:
    result = site.cli("check", payload)
    return result.code, result.out + result.err


def test_passes_of_both_keys_verify_offline_after_a_rotation_by_sync_and_by_file(
    any_region, make_site, tmp_path
) -> None:
    region = any_region
    region.init()
    before = region.issue_printed(1, size=5)
    for carnet in before:
        region.attribute(carnet, "BENEF-0001")
    online, offline = make_site("en-ligne"), make_site("hors-ligne")
    token = region.enrol_site(SITE_A, SITE_A_NAME)
    region.enrol_site(SITE_B, SITE_B_NAME)
    usb = tmp_path / "cle-usb"
    region.ok("export-replica", str(usb / "avant.json.gz"))
    offline.ok("import-replica", str(usb / "avant.json.gz"), "--site", SITE_B)
    with region.serve() as server:
        online.ok("enrol", "--hub", server.url, "--token", token)

        out = region.ok("keys", "rotate")
        second_kid = re.search(r"\b([A-Z2-7]{8})\b", out).group(1)
        after = region.issue_printed(1, size=5)
        for carnet in after:
            region.attribute(carnet, "BENEF-0002")
        online.ok("sync")
    assert key_id(public_key_bytes(read_private_key(region.folder / KEY_FILENAME))) != second_kid

    [old_pass, *_], [new_pass, *_] = payloads(before), payloads(after)
    assert old_pass.startswith("PN1:") and new_pass.startswith(f"PN2:{second_kid}:")
    assert checked(online, old_pass)[0] == 0
    assert checked(online, new_pass)[0] == 0

    # The site offline since before the rotation: key 2 is unknown until the next file.
    code, said = checked(offline, new_pass)
    assert code == 1 and "clé que la région n'a pas annoncée" in said
    region.ok("export-replica", str(usb / "apres.json.gz"))
    offline.ok("import-replica", str(usb / "apres.json.gz"))
    assert checked(offline, old_pass)[0] == 0
    assert checked(offline, new_pass)[0] == 0

    # A payload with a made-up key is refused everywhere.
    thief = Ed25519PrivateKey.generate()
    made_up_kid = key_id(public_key_bytes(thief))
    code_text = old_pass.split(":")[2]
    forged = build_payload(
        PROGRAMME,
        code_text,
        VALID_UNTIL,
        sign(thief, signed_message(PROGRAMME, code_text, VALID_UNTIL, made_up_kid)),
        made_up_kid,
    )
    for site in (online, offline):
        code, said = checked(site, forged)
        assert code == 1 and "clé que la région n'a pas annoncée" in said


def test_after_revoking_key_1_its_payloads_are_refused_offline_after_the_next_sync(
    any_region, make_site
) -> None:
    region = any_region
    region.init()
    before = region.issue_printed(1, size=5)
    for carnet in before:
        region.attribute(carnet, "BENEF-0001")
    site = make_site("a")
    token = region.enrol_site(SITE_A, SITE_A_NAME)
    first_kid = key_id(public_key_bytes(read_private_key(region.folder / KEY_FILENAME)))
    with region.serve() as server:
        site.ok("enrol", "--hub", server.url, "--token", token)
        region.ok("keys", "rotate")
        online_before = payloads(before)[0]
        assert checked(site, online_before)[0] == 0
        today = local_date(datetime.now(UTC))
        region.ok("keys", "revoke", first_kid, "--from", today.isoformat())
        site.ok("sync")
    # issued today, under key 1, which the region no longer trusts from today
    code, said = checked(site, online_before)
    assert code == 1 and "que la région a révoquée" in said
    assert f"révoquée à partir du {format_date(today)}" in said
