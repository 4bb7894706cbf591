"""The region's beneficiary key is recorded by its fingerprint in the database, on SQLite and
on PostgreSQL: once recorded, the hub never makes another one; it refuses to open with the
file missing (a database restored on another host, a second `serve` host) or another key,
and says to restore the file from the backup."""

from __future__ import annotations

import hashlib
import os
import shutil
import stat

import httpx
import pytest
from sqlalchemy import text

from mediateur_tui.domain.signatures import key_fingerprint
from mediateur_tui.hub import database
from mediateur_tui.hub.api import create_app
from mediateur_tui.hub.cli import main
from mediateur_tui.hub.database import (
    BENEFICIARY_KEY_FILENAME,
    KEY_FILENAME,
    HubSettings,
    open_hub,
    read_session,
)
from mediateur_tui.hub.errors import NotInitialised
from mediateur_tui.hub.models import HubRegion
from mediateur_tui.hub.registry import init_region

from .helpers import REGION_ID, World

RESTORE = f"Restaurez le fichier {BENEFICIARY_KEY_FILENAME} depuis la sauvegarde du hub"


def recorded(settings: HubSettings) -> str | None:
    engine = database.make_engine(settings.database_url)
    try:
        with read_session(engine) as session:
            return session.get(HubRegion, REGION_ID).beneficiary_key_fingerprint
    finally:
        engine.dispose()


def set_recorded(settings: HubSettings, fingerprint: str | None) -> None:
    engine = database.make_engine(settings.database_url)
    try:
        with engine.begin() as connection:
            connection.execute(
                text("UPDATE hub_region SET beneficiary_key_fingerprint = :value"),
                {"value": fingerprint},
            )
    finally:
        engine.dispose()


def cli(settings: HubSettings, capsys, *args: str) -> tuple[int, str, str]:
    code = main(["--dir", str(settings.directory), "--db", settings.database_url, *args])
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def test_init_records_the_fingerprint_and_prints_it(settings: HubSettings, capsys) -> None:
    code, out, _ = cli(settings, capsys, "init", "--region-id", REGION_ID)
    assert code == 0
    key = (settings.directory / BENEFICIARY_KEY_FILENAME).read_bytes()
    assert recorded(settings) == hashlib.sha256(key).hexdigest()
    assert f"Empreinte de la clé des bénéficiaires : {key_fingerprint(key)}" in out


def test_a_missing_key_file_is_never_made_again(settings: HubSettings, world: World, capsys):
    path = settings.beneficiary_key_path
    saved = path.read_bytes()
    fingerprint = recorded(settings)
    path.unlink()
    with pytest.raises(NotInitialised) as refused:
        open_hub(settings)
    message = str(refused.value)
    assert message.startswith(f"Clé des bénéficiaires introuvable ({path}) : la base de la ")
    assert key_fingerprint(saved) in message and RESTORE in message
    assert "n'en crée jamais de nouvelle" in message
    # Neither `init` again nor any command makes one.
    for args in (("init", "--region-id", REGION_ID), ("export-replica", "r.json.gz")):
        code, _, err = cli(settings, capsys, *args)
        assert code == 2 and RESTORE in err
    assert not path.exists()
    assert recorded(settings) == fingerprint
    # Restoring the backup is the way back.
    path.write_bytes(saved)
    path.chmod(0o600)
    reopened = open_hub(settings)
    try:
        assert reopened.beneficiary_key == saved == world.hub.beneficiary_key
    finally:
        reopened.engine.dispose()


def test_another_key_file_is_refused_and_left_alone(settings: HubSettings, world: World) -> None:
    path = settings.beneficiary_key_path
    saved = path.read_bytes()
    other = os.urandom(32)
    path.write_bytes(other)
    with pytest.raises(NotInitialised) as refused:
        open_hub(settings)
    message = str(refused.value)
    assert f"La clé des bénéficiaires {path} n'est pas celle de la région {REGION_ID}" in message
    assert f"empreinte attendue {key_fingerprint(saved)}, trouvée {key_fingerprint(other)}" in (
        message
    )
    assert RESTORE in message
    assert path.read_bytes() == other
    path.write_bytes(b"short")  # not even 32 bytes
    with pytest.raises(NotInitialised, match="n'est pas celle de la région"):
        open_hub(settings)


def test_a_second_host_without_the_file_cannot_open_the_database(
    settings: HubSettings, world: World, tmp_path
) -> None:
    # Another host: the region's signing key copied, the beneficiary key forgotten.
    elsewhere = HubSettings(tmp_path / "autre-serveur", settings.database_url)
    elsewhere.directory.mkdir()
    shutil.copy2(settings.key_path, elsewhere.key_path)
    with pytest.raises(NotInitialised, match="Clé des bénéficiaires introuvable"):
        open_hub(elsewhere)
    with pytest.raises(NotInitialised, match="introuvable"):
        init_region(elsewhere, REGION_ID)
    assert sorted(p.name for p in elsewhere.directory.iterdir()) == [KEY_FILENAME]
    # With the file copied too, it opens with the region's key.
    shutil.copy2(settings.beneficiary_key_path, elsewhere.beneficiary_key_path)
    hub = open_hub(elsewhere)
    try:
        assert hub.beneficiary_key == world.hub.beneficiary_key
    finally:
        hub.engine.dispose()


async def test_the_api_of_a_hub_without_its_key_file_answers_503(
    settings: HubSettings, world: World
) -> None:
    settings.beneficiary_key_path.unlink()
    transport = httpx.ASGITransport(app=create_app(settings))
    async with httpx.AsyncClient(transport=transport, base_url="http://hub") as client:
        response = await client.get("/v1/health")
    assert response.status_code == 503
    assert RESTORE in response.json()["detail"]
    assert not settings.beneficiary_key_path.exists()


def test_a_region_without_a_fingerprint_gets_one_on_first_open(
    settings: HubSettings, world: World
) -> None:
    """A database no hub has opened since revision 0002 (or a region made before the key
    existed): its key file is made (or the one there kept) and recorded, once."""
    path = settings.beneficiary_key_path
    kept = path.read_bytes()
    set_recorded(settings, None)
    first = open_hub(settings)  # the file there is kept
    first.engine.dispose()
    assert first.beneficiary_key == kept
    assert recorded(settings) == hashlib.sha256(kept).hexdigest()

    set_recorded(settings, None)
    path.unlink()  # a region made before the key existed
    made = open_hub(settings)
    again = open_hub(settings)
    try:
        assert made.beneficiary_key != kept and len(made.beneficiary_key) == 32
        assert again.beneficiary_key == made.beneficiary_key == path.read_bytes()
        assert stat.S_IMODE(path.stat().st_mode) == 0o600
        assert recorded(settings) == hashlib.sha256(made.beneficiary_key).hexdigest()
    finally:
        made.engine.dispose()
        again.engine.dispose()
    path.unlink()  # from now on, it is never made again
    with pytest.raises(NotInitialised, match="introuvable"):
        open_hub(settings)


def test_a_host_that_loses_the_race_to_record_its_key_keeps_no_key_file(
    settings: HubSettings, world: World, monkeypatch
) -> None:
    """Two hosts open a database with no fingerprint at the same moment, each without the
    file: the one that records second must not go on with the key it made."""
    set_recorded(settings, None)
    path = settings.beneficiary_key_path
    path.unlink()
    winner = os.urandom(32)
    real_make = database._make_beneficiary_key_file

    def make_while_the_other_host_records(target):
        made = real_make(target)
        set_recorded(settings, hashlib.sha256(winner).hexdigest())
        return made

    monkeypatch.setattr(database, "_make_beneficiary_key_file", make_while_the_other_host_records)
    with pytest.raises(NotInitialised, match="Clé des bénéficiaires introuvable"):
        open_hub(settings)
    assert not path.exists()
    assert recorded(settings) == hashlib.sha256(winner).hexdigest()
    monkeypatch.undo()
    path.write_bytes(winner)  # the winner's file, restored
    hub = open_hub(settings)
    try:
        assert hub.beneficiary_key == winner
    finally:
        hub.engine.dispose()
