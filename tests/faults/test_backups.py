"""Backups that restore, tried on real files and processes: a backup made during a burst of
redemptions restores to a sound site; a damaged or altered backup is refused with nothing
written; a damaged database is replaced with nothing lost since the backup; a full disk
leaves no half backup."""

from __future__ import annotations

import json
import multiprocessing
import stat
import zipfile
from pathlib import Path

from . import workers
from .conftest import MEDIATEUR, RESPONSABLE, Site, active_codes, fill, no_traceback, rows, run

SPAWN = multiprocessing.get_context("spawn")


def backup(site: Site, folder: Path, *options: str):
    return run("backup", str(folder), *options, "--data-dir", str(site.path))


def restore(archive: Path, data_dir: Path, *options: str):
    return run("restore", str(archive), *options, "--data-dir", str(data_dir))


def redeem(site: Site, *codes: str):
    name, pin = MEDIATEUR
    return run(
        "redeem", *codes, "--operator", name, "--data-dir", str(site.path),
        env={"MEDIATEUR_PIN": pin},
    )  # fmt: skip


def archives(folder: Path) -> list[Path]:
    return sorted(folder.glob("sauvegarde-*.zip"))


def redemption_ids(data_dir: Path) -> set[str]:
    return {i for (i,) in rows(Site(data_dir, {}), "SELECT id FROM redemption")}


def test_a_backup_restores_everything_on_a_new_laptop(site, tmp_path):
    codes = site.valid(5)
    assert redeem(site, *codes).code == 0
    usb = tmp_path / "cle-usb"
    made = backup(site, usb)
    no_traceback(made)
    assert made.code == 0, made.err
    assert "Sauvegarde écrite et vérifiée" in made.out and "5 encaissements" in made.out
    (archive,) = archives(usb)
    assert stat.S_IMODE(archive.stat().st_mode) == 0o600

    laptop = tmp_path / "nouveau-poste"
    restored = restore(archive, laptop)
    assert restored.code == 0, restored.err
    assert redemption_ids(laptop) == redemption_ids(site.path)
    assert active_codes(Site(laptop, {})) >= set(codes)
    for table in ("desk_session", "operator", "audit_event", "sync_state", "replica_meta"):
        query = f"SELECT * FROM {table} ORDER BY 1"
        assert rows(Site(laptop, {}), query) == rows(site, query), table
    for name in ("site_ed25519.key", "mediateur.journal"):
        if (site.path / name).exists():
            assert (laptop / name).read_bytes() == (site.path / name).read_bytes()
            assert stat.S_IMODE((laptop / name).stat().st_mode) == 0o600
    assert run("doctor", "--data-dir", str(laptop)).code == 0
    again = run("check", codes[0], "--data-dir", str(laptop))
    assert again.code == 1 and "Déjà encaissé ici" in again.out


def test_a_backup_during_a_burst_of_redemptions_restores_to_a_sound_site(site, tmp_path):
    """A process redeems 60 passes, one transaction each, while three backups are made: each
    restores to a site whose audit chain is whole and whose redemptions are the burst's first
    ones (the journal may bring a few made during the copy)."""
    codes = site.valid(60)
    receiver, sender = SPAWN.Pipe(duplex=False)
    burst = SPAWN.Process(target=workers.redeem_one_by_one, args=(site.path, codes, sender))
    burst.start()
    sender.close()
    assert receiver.recv() == "started"
    usb = tmp_path / "cle-usb"
    made = [backup(site, usb) for _ in range(3)]
    assert receiver.recv() == ("done", len(codes))
    burst.join(timeout=60)
    assert all(result.code == 0 for result in made), [r.err for r in made]
    final = redemption_ids(site.path)
    for number, archive in enumerate(archives(usb)):
        laptop = tmp_path / f"poste-{number}"
        assert restore(archive, laptop).code == 0
        assert run("doctor", "--data-dir", str(laptop)).code == 0  # chain and journal whole
        restored = redemption_ids(laptop)
        assert restored <= final


def test_a_damaged_or_altered_backup_is_refused_and_nothing_is_written(site, tmp_path):
    usb = tmp_path / "cle-usb"
    assert backup(site, usb).code == 0
    (good,) = archives(usb)
    cases = {}
    flipped = bytearray(good.read_bytes())
    middle = len(flipped) // 2
    flipped[middle : middle + 64] = bytes(b ^ 0xFF for b in flipped[middle : middle + 64])
    cases["flipped"] = bytes(flipped)
    cases["not-a-zip"] = b"ceci n'est pas une sauvegarde" * 10
    cases["cut"] = good.read_bytes()[: len(good.read_bytes()) // 3]
    cases["more-redemptions"] = _with_manifest(good, lambda m: m["facts"].update(redemptions=99))
    cases["other-format"] = _with_manifest(good, lambda m: m.update(format="autre/1"))
    cases["swapped-database"] = _with_member(good, "mediateur.sqlite3", b"SQLite format 3\0" * 64)
    for name, data in cases.items():
        archive = tmp_path / f"{name}.zip"
        archive.write_bytes(data)
        target = tmp_path / f"cible-{name}"
        result = restore(archive, target)
        no_traceback(result)
        assert result.code == 2, (name, result.err)
        assert "refusée" in result.err and "Rien n'a été écrit" in result.err, name
        assert not (target / "mediateur.sqlite3").exists(), name
    missing = restore(tmp_path / "absente.zip", tmp_path / "cible")
    assert missing.code == 2 and "Sauvegarde introuvable" in missing.err


def _with_manifest(archive: Path, change) -> bytes:
    with zipfile.ZipFile(archive) as source:
        manifest = json.loads(source.read("manifest.json"))
    change(manifest)
    return _with_member(archive, "manifest.json", json.dumps(manifest).encode())


def _with_member(archive: Path, name: str, data: bytes) -> bytes:
    target = archive.with_name("modifiee.zip")
    with zipfile.ZipFile(archive) as source, zipfile.ZipFile(target, "w") as copy:
        for item in source.infolist():
            copy.writestr(item.filename, data if item.filename == name else source.read(item))
    content = target.read_bytes()
    target.unlink()
    return content


def test_a_damaged_database_is_replaced_and_nothing_since_the_backup_is_lost(site, tmp_path):
    before = site.valid(3)
    assert redeem(site, *before).code == 0
    usb = tmp_path / "cle-usb"
    assert backup(site, usb).code == 0
    after = site.valid(4)[1:]
    assert redeem(site, *after).code == 0  # after the backup: only the journal has them too
    expected = redemption_ids(site.path)
    refused_healthy = restore(archives(usb)[0], site.path, "--replace")
    assert refused_healthy.code == 2 and "est saine : rien à restaurer" in refused_healthy.err

    rows(site, "PRAGMA wal_checkpoint(TRUNCATE)")
    database = site.path / "mediateur.sqlite3"
    data = bytearray(database.read_bytes())
    data[3 * 4096 : 3 * 4096 + 64] = bytes(64)  # a b-tree page's header wiped
    database.write_bytes(bytes(data))
    assert run("check", after[0], "--data-dir", str(site.path)).code == 2
    plain = restore(archives(usb)[0], site.path)
    assert plain.code == 2 and "--replace" in plain.err

    replaced = restore(archives(usb)[0], site.path, "--replace")
    no_traceback(replaced)
    assert replaced.code == 0, replaced.err
    assert "remis depuis le journal" in replaced.out
    assert redemption_ids(site.path) == expected  # nothing lost since the backup
    assert run("doctor", "--data-dir", str(site.path)).code == 0
    (aside,) = site.path.glob("endommage-*")
    assert (aside / "mediateur.sqlite3").read_bytes() == bytes(data)


def test_a_full_disk_leaves_no_half_backup_and_the_site_intact(site, small_disk):
    usb = small_disk / "cle-usb"
    usb.mkdir()
    fill(small_disk / "remplissage")
    result = backup(site, usb)
    no_traceback(result)
    assert result.code == 2
    assert "Sauvegarde impossible" in result.err and "disque est plein" in result.err
    assert list(usb.iterdir()) == []  # neither an archive nor its work folder
    assert run("doctor", "--data-dir", str(site.path)).code == 0


def test_only_the_last_backups_are_kept(site, tmp_path):
    usb = tmp_path / "cle-usb"
    for _ in range(4):
        assert backup(site, usb, "--keep", "2").code == 0
    kept = archives(usb)
    assert len(kept) == 2
    result = backup(site, usb, "--keep", "2")
    assert "1 ancienne sauvegarde supprimée : les 2 dernières sont gardées." in result.out
    assert kept[1] in archives(usb) and kept[0] not in archives(usb)


def test_a_backup_merged_on_top_adds_what_is_missing_once(site, tmp_path):
    """The old laptop takes passes after its first backup and makes a second one; the new
    laptop, restored from the first, takes passes of its own (one of them also taken on the
    old one). Merging the second backup adds the old laptop's later passes, once; the pass
    taken on both is a conflict, not a second redemption."""
    first_codes = site.valid(3)
    assert redeem(site, *first_codes).code == 0
    usb = tmp_path / "cle-usb"
    assert backup(site, usb).code == 0
    *later, shared = site.valid(3)
    assert redeem(site, *later, shared).code == 0
    assert backup(site, usb).code == 0
    older, newer = archives(usb)

    laptop = Site(tmp_path / "nouveau-poste", site.codes)
    assert restore(older, laptop.path).code == 0
    new_only = next(code for code in laptop.valid(10) if code not in {*later, shared})
    assert redeem(laptop, new_only, shared).code == 0  # `shared` again, on the new laptop
    name, pin = RESPONSABLE
    as_responsable = ("--operator", name)
    anonymous = restore(newer, laptop.path, "--merge")
    assert anonymous.code == 2 and "réservé aux responsables" in anonymous.err
    merged = run(
        "restore", str(newer), "--merge", *as_responsable, "--data-dir", str(laptop.path),
        env={"MEDIATEUR_PIN": pin},
    )  # fmt: skip
    no_traceback(merged)
    assert merged.code == 0, merged.err
    assert "Sauvegarde fusionnée : 2 encaissements ajoutés, 3 déjà présent(s)" in merged.out
    assert "non ajouté (un pass ne s'encaisse qu'une fois)" in merged.out
    codes = [code for (code,) in rows(laptop, "SELECT code FROM redemption")]
    assert sorted(codes) == sorted({*first_codes, *later, shared, new_only})  # each once
    again = run(
        "restore", str(newer), "--merge", *as_responsable, "--data-dir", str(laptop.path),
        env={"MEDIATEUR_PIN": pin},
    )  # fmt: skip
    assert "Sauvegarde fusionnée : 0 encaissement ajouté, 5 déjà présent(s)" in again.out
    assert run("doctor", "--data-dir", str(laptop.path)).code == 0
    merged_events = rows(laptop, "SELECT details FROM audit_event WHERE kind = 'merged'")
    assert len(merged_events) == 2
    assert json.loads(merged_events[0][0])["redemptions_added"] == 2
