"""The region's signing keys (`mediateur-hub keys list|rotate|revoke`), on SQLite and on
PostgreSQL: a database from before key rotation keeps signing with its key, a rotation makes a
new private key file and a key set a site can follow from the region's first key, documents
and passes are signed by the key in service, and the revocation rules."""

from __future__ import annotations

import json
import stat
from datetime import date, timedelta
from typing import Any

import pytest
from contract import validate
from sqlalchemy import text
from sqlmodel import select

from mediateur_tui.domain.formatting import format_date
from mediateur_tui.domain.region_keys import KeyStatus, RegionKeys
from mediateur_tui.domain.scan_input import parse_scan
from mediateur_tui.domain.signatures import (
    key_fingerprint,
    key_id,
    new_private_key,
    public_key_bytes,
    verify,
)
from mediateur_tui.hub import region_keys as region_keys_module
from mediateur_tui.hub.cli import main
from mediateur_tui.hub.database import (
    HubSettings,
    make_engine,
    open_hub,
    read_session,
    upgrade,
    write_private_key,
)
from mediateur_tui.hub.errors import HubError, NotInitialised
from mediateur_tui.hub.models import HubCarnet, HubKeySet
from mediateur_tui.hub.printing import pass_payload
from mediateur_tui.hub.region_keys import key_set_documents, region_keys, rotate_key
from mediateur_tui.hub.registry import ProgrammeSpec, issue, today
from mediateur_tui.hub.replica import changes_page
from mediateur_tui.protocol.key_sets import follow_key_sets, verify_region_document
from mediateur_tui.protocol.signing import region_signer, verify_document

from .helpers import PROGRAMME, REGION_ID, VALID_UNTIL, World, enrol, snapshot


def hub_command(capsys, settings: HubSettings, *args: str) -> tuple[int, str, str]:
    """`mediateur-hub ARGS --dir … --db …`, in this process."""
    capsys.readouterr()
    code = main([*args, "--dir", str(settings.directory), "--db", settings.database_url])
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def followed(world: World, document: dict[str, Any]) -> RegionKeys:
    """The keys a site enrolled with the region's first key trusts after `document`'s sets."""
    first = RegionKeys.first_key_only(world.hub.region_public_key)
    trusted, _ = follow_key_sets(first, REGION_ID, document["key_sets"])
    return trusted


def rotated(world: World, settings: HubSettings) -> str:
    """Rotates the world's region key; the world's hub then signs with the new key."""
    new_kid = rotate_key(world.hub).key.kid
    world.hub.engine.dispose()
    world.hub = open_hub(settings)
    return new_kid


# --- a database from before key rotation ---------------------------------------------------


def test_migration_0006_keeps_the_region_signing_with_its_key(settings: HubSettings) -> None:
    key = new_private_key()
    write_private_key(settings.key_path, key)
    engine = make_engine(settings.database_url)
    upgrade(engine, "0005")  # a hub from before key rotation, with its region and a carnet
    with engine.begin() as connection:
        connection.execute(
            text(
                "INSERT INTO hub_region (id, public_key, created_at) "
                "VALUES ('HDF', :key, '2026-11-27 23:30:00')"
            ),
            {"key": public_key_bytes(key)},
        )
        connection.execute(
            text(
                "INSERT INTO hub_programme VALUES ('P', 'P', 1000, '2026-01-01', "
                "'2026-12-31', '2027-01-31', '[\"*\"]')"
            )
        )
        connection.execute(text("INSERT INTO hub_carnet VALUES ('C1', 'P', 10, NULL, NULL)"))
    engine.dispose()

    hub = open_hub(settings)  # migrated to 0006
    try:
        first_kid = key_id(public_key_bytes(key))
        assert hub.region_kid == first_kid and hub.payload_kid is None
        [region_key] = region_keys(hub)
        assert (region_key.kid, region_key.status, region_key.public_key) == (
            first_kid,
            KeyStatus.ACTIVE,
            public_key_bytes(key),
        )
        assert region_key.valid_from == date(2026, 11, 28)  # the creation day, in France
        page = changes_page(hub, 0)
        verify_document(page, public_key_bytes(key), region_signer(REGION_ID))
        assert page["signature"]["kid"] == first_kid and page["key_sets"] == []
        with read_session(hub.engine) as session:
            carnet = session.get(HubCarnet, "C1")
        assert carnet is not None and (carnet.issued_on, carnet.kid) == (None, None)
    finally:
        hub.engine.dispose()


def test_keys_list_shows_the_first_key(world: World, settings: HubSettings, capsys) -> None:
    code, out, err = hub_command(capsys, settings, "keys", "list")
    assert (code, err) == (0, "")
    header, row = out.splitlines()
    assert header.split("  ")[0] == "clé" and "révoquée à partir du" in header
    assert row.split() == [
        world.hub.region_kid,
        key_fingerprint(world.hub.region_public_key),
        format_date(today()),
        "—",
        "en",
        "service",
        "—",
    ]


# --- rotation ------------------------------------------------------------------------------


def test_rotate_makes_a_private_key_file_and_a_key_set_signed_by_the_first_key(
    world: World, settings: HubSettings, capsys
) -> None:
    first_kid = world.hub.region_kid
    code, out, err = hub_command(capsys, settings, "keys", "rotate")
    assert (code, err) == (0, "")
    hub = open_hub(settings)
    try:
        new_kid = hub.region_kid
        path = settings.directory / f"region_ed25519-{new_kid}.key"
        assert stat.S_IMODE(path.stat().st_mode) == 0o600
        assert f"Nouvelle clé de la région en service : {new_kid}." in out
        fingerprint = key_fingerprint(public_key_bytes(hub.region_key))
        assert f"Empreinte de la nouvelle clé : {fingerprint}" in out
        assert str(path) in out and "à sauvegarder" in out
        assert hub.region_public_key == world.hub.region_public_key  # the anchor stays

        with read_session(hub.engine) as session:
            [key_set] = key_set_documents(session)
        assert key_set["signature"]["kid"] == first_kid
        validate(key_set, "key-set")
        trusted = followed(world, {"key_sets": [key_set]})
        assert [(key.kid, key.status) for key in trusted.keys] == [
            (first_kid, KeyStatus.RETIRED),
            (new_kid, KeyStatus.ACTIVE),
        ]
        assert trusted.first.sign_until == today() == trusted.keys[1].valid_from
    finally:
        hub.engine.dispose()


def test_after_a_rotation_and_a_revoke_documents_are_signed_by_the_new_key(
    world: World, settings: HubSettings, capsys
) -> None:
    first_kid = world.hub.region_kid
    new_kid = rotated(world, settings)
    code, out, err = hub_command(capsys, settings, "keys", "revoke", first_kid.lower())
    assert (code, err) == (0, "")
    assert f"Clé {first_kid} révoquée à partir du {format_date(today())}." in out

    hub = world.hub
    page = changes_page(hub, 0)
    whole = snapshot(hub)
    answer = enrol(hub, "MAUBEUGE-EPN", "EPN de Maubeuge").answer
    for document, signed, name in (
        (page, page, "replica-page"),
        (whole.head, whole.seal, "replica-snapshot-lines"),
        (answer, answer, "enrolment"),
    ):
        validate(document, name)
        assert signed["signature"]["kid"] == new_kid
        assert [key_set["sequence"] for key_set in document["key_sets"]] == [1, 2]
        trusted = followed(world, document)
        assert [key.status for key in trusted.keys] == [KeyStatus.REVOKED, KeyStatus.ACTIVE]
        verify_region_document(signed, trusted, REGION_ID)
    assert whole.head["region_public_key"] == answer["region_public_key"]
    assert key_id(hub.region_public_key) == first_kid
    # The revocation's set is signed by the key in service.
    assert page["key_sets"][1]["signature"]["kid"] == new_kid


def test_the_hub_does_not_open_without_the_file_of_its_key_in_service(
    world: World, settings: HubSettings
) -> None:
    new_kid = rotated(world, settings)
    path = settings.rotated_key_path(new_kid)
    first_key = settings.key_path.read_bytes()
    path.unlink()
    with pytest.raises(NotInitialised, match=f"Clé de la région en service \\({new_kid}\\)"):
        open_hub(settings)
    path.write_bytes(first_key)  # another key than the one the database records
    with pytest.raises(HubError, match=f"n'est pas celle de la région HDF .*{new_kid}"):
        open_hub(settings)


def test_passes_issued_after_a_rotation_are_pn2_under_the_new_key(
    world: World, settings: HubSettings
) -> None:
    new_kid = rotated(world, settings)
    hub = world.hub
    issued = issue(hub, ProgrammeSpec(id=PROGRAMME), carnets=1, size=5)
    code = issued.carnets[0].codes[0]
    scan = parse_scan(pass_payload(hub, PROGRAMME, code, VALID_UNTIL))
    assert scan.error is None and scan.kid == new_kid
    trusted = followed(world, changes_page(hub, 0))
    key = trusted.named(scan.kid)
    assert key is not None and key.status is KeyStatus.ACTIVE
    assert scan.signed_message is not None and scan.signed_message.startswith(f"PN2:{new_kid}:")
    assert verify(key.public_key, scan.signed_message, scan.signature or "")
    assert not verify(hub.region_public_key, scan.signed_message, scan.signature or "")

    with read_session(hub.engine) as session:
        carnet = session.get(HubCarnet, issued.carnets[0].id)
    assert carnet is not None and (carnet.issued_on, carnet.kid) == (today(), new_kid)
    change = changes_page(hub, 0)["changes"][-1]
    assert (change["id"], change["i"]) == (carnet.id, today().isoformat())


def test_a_hub_opened_before_a_rotation_issues_nothing_under_the_old_key(
    world: World, settings: HubSettings
) -> None:
    opened_before = world.hub  # e.g. an `issue` started while another process rotates
    with read_session(opened_before.engine) as session:
        carnets = len(session.exec(select(HubCarnet)).all())
    rotated(world, settings)
    with pytest.raises(HubError, match="La clé en service a changé"):
        issue(opened_before, ProgrammeSpec(id=PROGRAMME), carnets=1, size=5)
    with read_session(world.hub.engine) as session:
        assert len(session.exec(select(HubCarnet)).all()) == carnets


def test_a_rotation_whose_commit_answer_is_lost_keeps_the_key_file(
    world: World, settings: HubSettings, monkeypatch
) -> None:
    """The database took the new key but the connection broke before it said so: its file
    must stay, or the hub could never open again."""
    publish = region_keys_module._publish

    def committed_then_cut(session, hub, now):
        publish(session, hub, now)
        session.commit()
        raise ConnectionError("connexion perdue pendant le commit")

    monkeypatch.setattr(region_keys_module, "_publish", committed_then_cut)
    with pytest.raises(HubError, match="a peut-être abouti"):
        rotate_key(world.hub)
    [kept] = settings.directory.glob("region_ed25519-*.key")
    assert kept.name == f"region_ed25519-{region_keys(world.hub)[-1].kid}.key"
    assert open_hub(settings).region_kid == region_keys(world.hub)[-1].kid


def test_passes_issued_before_any_rotation_are_pn1(world: World) -> None:
    issued = issue(world.hub, ProgrammeSpec(id=PROGRAMME), carnets=1, size=5)
    payload = pass_payload(world.hub, PROGRAMME, issued.carnets[0].codes[0], VALID_UNTIL)
    assert payload.startswith(f"PN1:{PROGRAMME}:")
    with read_session(world.hub.engine) as session:
        carnet = session.get(HubCarnet, issued.carnets[0].id)
    assert carnet is not None and carnet.kid == world.hub.region_kid


def test_a_failed_rotation_leaves_no_key_file(
    world: World, settings: HubSettings, monkeypatch
) -> None:
    def broken(*_args: Any) -> int:
        raise RuntimeError("the disk is full")

    monkeypatch.setattr(region_keys_module, "_publish", broken)
    with pytest.raises(RuntimeError):
        rotate_key(world.hub)
    assert list(settings.directory.glob("region_ed25519-*.key")) == []
    [key] = region_keys(world.hub)
    assert key.status is KeyStatus.ACTIVE
    with read_session(world.hub.engine) as session:
        assert session.exec(select(HubKeySet)).all() == []


# --- revocation rules ----------------------------------------------------------------------


def test_the_key_in_service_cannot_be_revoked(world: World, settings: HubSettings, capsys):
    code, out, err = hub_command(capsys, settings, "keys", "revoke", world.hub.region_kid)
    assert (code, out) == (2, "")
    assert "faites d'abord keys rotate" in err and err.startswith("Erreur : ")
    assert [key.revoked_from for key in region_keys(world.hub)] == [None]


def test_an_unknown_key_exits_2(world: World, settings: HubSettings, capsys) -> None:
    code, out, err = hub_command(capsys, settings, "keys", "revoke", "AAAAAAAA")
    assert (code, out) == (2, "")
    assert err.startswith("Erreur : Clé inconnue de la région : AAAAAAAA.")


def test_revoking_again_changes_nothing(world: World, settings: HubSettings, capsys) -> None:
    first_kid = world.hub.region_kid
    rotated(world, settings)
    day = today() - timedelta(days=3)
    args = ("keys", "revoke", first_kid, "--from", day.isoformat())
    assert hub_command(capsys, settings, *args)[0] == 0
    with read_session(world.hub.engine) as session:
        before = [json.loads(row.body) for row in session.exec(select(HubKeySet)).all()]
    code, out, err = hub_command(capsys, settings, "keys", "revoke", first_kid)
    assert (code, err) == (0, "")
    assert out == (
        f"La clé {first_kid} est déjà révoquée à partir du {format_date(day)} : rien n'a changé.\n"
    )
    with read_session(world.hub.engine) as session:
        assert key_set_documents(session) == before
    assert region_keys(world.hub)[0].revoked_from == day
