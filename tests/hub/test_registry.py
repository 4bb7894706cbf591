"""Registry operations and the change log they write (SQLite files in tmp_path)."""

from __future__ import annotations

import csv
import stat
from datetime import date

import pytest
from contract import validate
from PIL import Image
from pyzbar.pyzbar import ZBarSymbol, decode
from sqlmodel import SQLModel

from mediateur_tui.domain.codes import format_code, is_well_formed
from mediateur_tui.domain.scan_input import InputKind, parse_scan
from mediateur_tui.domain.signatures import verify
from mediateur_tui.hub.database import HubSettings, open_hub
from mediateur_tui.hub.enrolment import complete_enrolment, enrol_site
from mediateur_tui.hub.errors import Conflict, HubError, NotFound, Unauthorised
from mediateur_tui.hub.models import hub_registry
from mediateur_tui.hub.printing import write_printer_csv, write_qr_sheets
from mediateur_tui.hub.registry import (
    ProgrammeSpec,
    attribute,
    init_region,
    issue,
    revoke,
    today,
)
from mediateur_tui.protocol.formats import ENROLMENT_REQUEST
from mediateur_tui.protocol.signing import region_signer, verify_document

from .helpers import GRACE_UNTIL, PROGRAMME, VALID_FROM, VALID_UNTIL, World, change_bodies

SPEC = ProgrammeSpec(
    id=PROGRAMME,
    label="Pass numérique Hauts-de-France",
    valid_from=VALID_FROM,
    valid_until=VALID_UNTIL,
    grace_until=GRACE_UNTIL,
)


def test_hub_tables_stay_out_of_the_sites_metadata() -> None:
    assert set(hub_registry.metadata.tables)
    assert not set(hub_registry.metadata.tables) & set(SQLModel.metadata.tables)


def test_init_writes_a_private_key_and_is_harmless_to_repeat(sqlite_settings) -> None:
    hub = init_region(sqlite_settings, "HDF")
    hub.engine.dispose()
    mode = stat.S_IMODE(sqlite_settings.key_path.stat().st_mode)
    assert mode == 0o600
    again = init_region(sqlite_settings, "HDF")
    assert again.region_public_key == hub.region_public_key
    again.engine.dispose()
    with pytest.raises(HubError, match="déjà celui de la région HDF"):
        init_region(sqlite_settings, "BRE")


def test_a_key_file_that_is_not_the_regions_is_refused(sqlite_settings, tmp_path) -> None:
    init_region(sqlite_settings, "HDF").engine.dispose()
    other_dir = tmp_path / "autre"
    init_region(
        HubSettings(directory=other_dir, database_url=f"sqlite:///{tmp_path / 'autre.db'}"), "HDF"
    ).engine.dispose()
    mixed = HubSettings(directory=other_dir, database_url=sqlite_settings.database_url)
    with pytest.raises(HubError, match="n'est pas celle de la région HDF"):
        open_hub(mixed)


def test_issue_mints_unique_codes_and_logs_programme_then_carnets(sqlite_settings) -> None:
    hub = init_region(sqlite_settings, "HDF")
    first = issue(hub, SPEC, carnets=3, size=10)
    second = issue(hub, ProgrammeSpec(id=PROGRAMME), carnets=2, size=5)
    codes = [code for issued in (first, second) for c in issued.carnets for code in c.codes]
    assert len(codes) == len(set(codes)) == 40
    assert all(is_well_formed(code) for code in codes)
    assert [c.id for c in first.carnets + second.carnets] == [f"C000000{n}" for n in range(1, 6)]
    changes = change_bodies(hub)
    assert changes[0] == {
        "t": "programme",
        "id": PROGRAMME,
        "label": "Pass numérique Hauts-de-France",
        "value_cents": 1000,
        "valid_from": "2026-01-01",
        "valid_until": "2026-12-31",
        "grace_until": "2027-01-31",
        "sites": ["*"],
    }
    # The second issue changed nothing in the programme: no second programme change.
    assert [change["t"] for change in changes] == ["programme"] + ["carnet"] * 5
    assert changes[4] == {
        "t": "carnet",
        "id": "C0000004",
        "p": PROGRAMME,
        "n": 5,
        "a": None,
        "b": None,
        "i": today().isoformat(),
        "codes": second.carnets[0].codes,
    }
    hub.engine.dispose()


def test_programme_defaults_and_updates(sqlite_settings) -> None:
    hub = init_region(sqlite_settings, "HDF")
    issued = issue(hub, ProgrammeSpec(id="lycee", valid_from=date(2026, 9, 1)), 1, 5)
    assert issued.programme.id == "LYCEE"
    assert issued.programme.valid_until == date(2026, 12, 31)
    assert issued.programme.grace_until == date(2027, 1, 31)
    issue(hub, ProgrammeSpec(id="LYCEE", sites=["fourmies-media", "avesnes-epn"]), 1, 5)
    programme_changes = change_bodies(hub, "programme")
    assert programme_changes[-1]["sites"] == ["AVESNES-EPN", "FOURMIES-MEDIA"]
    with pytest.raises(HubError, match="imprimée dans leurs QR codes"):
        issue(hub, ProgrammeSpec(id="LYCEE", valid_until=date(2027, 6, 30)), 1, 5)
    with pytest.raises(HubError, match="5 ou 10"):
        issue(hub, ProgrammeSpec(id="LYCEE"), 1, 7)
    with pytest.raises(HubError, match="Dates incohérentes"):
        issue(
            hub,
            ProgrammeSpec(id="NEUF", valid_from=date(2026, 5, 1), valid_until=date(2026, 4, 1)),
            1,
            5,
        )
    hub.engine.dispose()


def test_printer_csv_and_qr_sheets_carry_signed_payloads(sqlite_settings, tmp_path) -> None:
    hub = init_region(sqlite_settings, "HDF")
    issued = issue(hub, SPEC, carnets=2, size=5)
    path = write_printer_csv(issued, hub, tmp_path / "impression")
    with path.open(encoding="utf-8", newline="") as handle:
        rows = list(csv.reader(handle, delimiter=";"))
    assert rows[0] == ["carnet", "position", "code", "qr_payload", "valid_until"]
    assert len(rows) == 11
    carnet, position, shown, payload, until = rows[6]
    code = issued.carnets[1].codes[0]
    assert (carnet, position, shown, until) == ("C0000002", "1", format_code(code), "31/12/2026")
    scan = parse_scan(payload)
    assert scan.kind is InputKind.QR and scan.code == code and scan.programme == PROGRAMME
    assert verify(hub.region_public_key, scan.signed_message, scan.signature)
    sheets = write_qr_sheets(issued, hub, tmp_path / "impression")
    assert [sheet.name for sheet in sheets] == ["carnet-C0000001.png", "carnet-C0000002.png"]
    # QR codes only: zbar's other decoders sometimes see a spurious EAN in a sheet of QR codes.
    found = decode(Image.open(sheets[1]), symbols=[ZBarSymbol.QRCODE])
    decoded = {item.data.decode() for item in found}
    assert decoded == {row[3] for row in rows[6:]}
    hub.engine.dispose()


def test_attribute_and_take_back_write_attribution_changes(sqlite_world: World) -> None:
    hub = sqlite_world.hub
    carnet = attribute(hub, "c0000003", "benef-77", date(2026, 11, 20))
    assert carnet.attributed_on == date(2026, 11, 20)
    with pytest.raises(HubError, match=r"déjà attribué depuis le 20/11/2026 \(référence BENEF77\)"):
        attribute(hub, "C0000003", "BENEF-78")
    attribute(hub, "C0000003", None)
    assert change_bodies(hub, "attribution")[-2:] == [
        {"t": "attribution", "id": "C0000003", "a": "2026-11-20", "b": "BENEF77"},
        {"t": "attribution", "id": "C0000003", "a": None, "b": None},
    ]
    with pytest.raises(NotFound, match="Carnet inconnu"):
        attribute(hub, "C9999999", "BENEF")


def test_revoke_writes_a_revocation_change_once(sqlite_world: World) -> None:
    hub = sqlite_world.hub
    code = sqlite_world.fresh[0]
    revoke(hub, format_code(code).lower(), "lost", date(2026, 11, 25))
    assert change_bodies(hub, "revocation")[-1] == {
        "t": "revocation",
        "code": code,
        "reason": "lost",
        "on": "2026-11-25",
    }
    with pytest.raises(HubError, match="déjà en opposition depuis le 25/11/2026 \\(perdu\\)"):
        revoke(hub, code, "stolen")
    with pytest.raises(HubError, match="vérifiez la saisie"):
        revoke(hub, code[:-1] + ("0" if code[-1] != "0" else "1"), "lost")
    with pytest.raises(HubError, match="Motif"):
        revoke(hub, code, "eaten")


def test_an_enrolment_token_works_once(sqlite_world: World) -> None:
    hub = sqlite_world.hub
    token = enrol_site(hub, "lille-tiers-lieu", "Tiers-lieu de Lille")
    assert change_bodies(hub, "site")[-1] == {
        "t": "site",
        "id": "LILLE-TIERS-LIEU",
        "name": "Tiers-lieu de Lille",
    }
    request = {
        "format": ENROLMENT_REQUEST,
        "token": token.lower(),
        "site_public_key": "A" * 43 + "=",
    }
    validate(request, "enrolment-request")
    answer = complete_enrolment(hub, request)
    validate(answer, "enrolment")
    verify_document(answer, hub.region_public_key, region_signer("HDF"))
    assert answer["site_id"] == "LILLE-TIERS-LIEU" and len(answer["api_key"]) >= 32
    with pytest.raises(Conflict, match="déjà servi"):
        complete_enrolment(hub, request)
    with pytest.raises(Unauthorised, match="inconnu"):
        complete_enrolment(hub, {**request, "token": "AAAA-BBBB"})


def test_a_new_token_replaces_an_unused_one(sqlite_world: World) -> None:
    hub = sqlite_world.hub
    old = enrol_site(hub, "DOUAI-EPN", "EPN de Douai")
    new = enrol_site(hub, "DOUAI-EPN", "Espace numérique de Douai")
    key = "A" * 43 + "="
    with pytest.raises(Unauthorised):
        complete_enrolment(hub, {"format": ENROLMENT_REQUEST, "token": old, "site_public_key": key})
    complete_enrolment(hub, {"format": ENROLMENT_REQUEST, "token": new, "site_public_key": key})
    assert [c["name"] for c in change_bodies(hub, "site") if c["id"] == "DOUAI-EPN"] == [
        "EPN de Douai",
        "Espace numérique de Douai",
    ]
