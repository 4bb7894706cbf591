"""The site's files under fault: a full disk, a damaged or emptied database, a lost `-wal`
after a crash, and who may read them. Each case: a French message, exit 2, nothing lost."""

from __future__ import annotations

import multiprocessing
import os
import shutil
import stat
from datetime import UTC, datetime, timedelta
from pathlib import Path

from mediateur_tui.domain.clock import fixed_clock
from mediateur_tui.services.desk import Desk
from mediateur_tui.services.site import open_site
from mediateur_tui.store.engine import open_database
from mediateur_tui.store.journal_file import JOURNAL_FILENAME
from mediateur_tui.store.sqlite_file import DATABASE_FILENAME

from . import workers
from .conftest import (
    MEDIATEUR,
    RESPONSABLE,
    Site,
    active_codes,
    fill,
    no_traceback,
    rows,
    run,
)

SPAWN = multiprocessing.get_context("spawn")


def database(site: Site) -> Path:
    return site.path / DATABASE_FILENAME


def redeem(site: Site, *codes: str) -> object:
    name, pin = MEDIATEUR
    return run(
        "redeem",
        *codes,
        "--operator",
        name,
        "--data-dir",
        str(site.path),
        env={"MEDIATEUR_PIN": pin},
    )


# --- a full disk ------------------------------------------------------------------------------


def test_a_full_disk_stops_cleanly_and_keeps_what_was_taken(site, small_disk):
    target = Site(small_disk / "lieu", site.codes)
    shutil.copytree(site.path, target.path)
    codes = target.valid(40)
    first = redeem(target, *codes[:2])
    assert first.code == 0, first.err
    filler = small_disk / "remplissage"
    fill(filler)
    full = redeem(target, *codes[2:])
    no_traceback(full)
    assert full.code == 2
    assert "Le disque est plein" in full.err
    assert "ce qui l'était avant est intact" in full.err
    # Only the lines that say a pass was taken count as taken (not a warning, nor a refusal).
    taken = {
        line.split(" : ")[0].replace("-", "")
        for line in full.out.splitlines()
        if " : Pass valide" in line
    }
    filler.unlink()
    # What was taken and said so is there; nothing else.
    assert set(codes[:2]) <= active_codes(target)
    assert active_codes(target) - set(codes[:2]) <= taken
    healthy = run("doctor", "--repair", "--data-dir", str(target.path))
    no_traceback(healthy)
    assert healthy.code == 0, healthy.out + healthy.err


# --- a damaged database -----------------------------------------------------------------------


def flip(path: Path, offset: int, count: int = 64) -> None:
    data = bytearray(path.read_bytes())
    for index in range(offset, offset + count):
        data[index] ^= 0xFF
    path.write_bytes(bytes(data))


def checkpointed(site: Site) -> None:
    """Everything in the database file itself (no -wal left), as after a clean close."""
    rows(site, "PRAGMA wal_checkpoint(TRUNCATE)")


def test_flipped_bytes_are_found_and_nothing_is_written(site):
    checkpointed(site)
    before = database(site).read_bytes()
    flip(database(site), 3 * 4096)  # the header of a b-tree page
    damaged = database(site).read_bytes()
    assert damaged != before
    for result in (
        redeem(site, site.valid(1)[0]),
        run("audit", "verify", "--data-dir", str(site.path)),
        run("doctor", "--data-dir", str(site.path)),
    ):
        no_traceback(result)
        assert result.code in (1, 2)
        assert "endommag" in (result.out + result.err).lower()
    assert database(site).read_bytes() == damaged  # nothing written on a damaged file


def test_a_truncated_database_is_refused_in_french(site):
    checkpointed(site)
    code = site.valid(1)[0]
    path = database(site)
    path.write_bytes(path.read_bytes()[: path.stat().st_size // 2])
    result = run("check", code, "--data-dir", str(site.path))
    no_traceback(result)
    assert result.code == 2 and "endommagée" in result.err


def test_an_emptied_database_of_a_site_with_a_journal_is_refused(site):
    first, second = site.valid(2)
    assert redeem(site, first).code == 0
    for suffix in ("", "-wal", "-shm"):
        Path(f"{database(site)}{suffix}").unlink(missing_ok=True)
    database(site).touch()  # a "backup" that kept an empty file
    result = run("check", second, "--data-dir", str(site.path))
    no_traceback(result)
    assert result.code == 2
    assert "fichier vide, alors que le journal du lieu n'est pas vide" in result.err


def test_garbage_in_place_of_the_database_is_refused(site):
    code = site.valid(1)[0]
    database(site).write_bytes(b"ceci n'est pas une base" * 100)
    result = run("check", code, "--data-dir", str(site.path))
    no_traceback(result)
    assert result.code == 2 and "ce n'est pas une base SQLite" in result.err


# --- the -wal lost after a crash --------------------------------------------------------------


def test_a_lost_wal_is_found_and_repaired_with_nothing_lost(site):
    """A crash, then the loss of mediateur.sqlite3-wal (an antivirus, a copy of the database
    alone): the redemptions acknowledged since the last checkpoint come back from the journal."""
    checkpointed(site)
    codes = site.valid(20)
    receiver, sender = SPAWN.Pipe(duplex=False)
    process = SPAWN.Process(target=workers.redeem_then_wait, args=(site.path, codes, sender))
    process.start()
    sender.close()
    assert receiver.recv() == ("done", len(codes))
    assert Path(f"{database(site)}-wal").stat().st_size > 0  # still only in the WAL
    process.kill()  # the crash: no checkpoint
    process.join(timeout=30)
    assert process.exitcode is not None  # gone, with its locks
    for suffix in ("-wal", "-shm"):
        Path(f"{database(site)}{suffix}").unlink()
    assert not active_codes(site) & set(codes)  # the database alone lost them

    check = run("check", codes[0], "--data-dir", str(site.path))
    no_traceback(check)
    assert check.code == 2 and "a perdu ses derniers enregistrements" in check.err
    found = run("doctor", "--data-dir", str(site.path))
    assert found.code == 2
    # The session the burst opened, and its 20 redemptions.
    assert "21 événement(s) du journal manquent dans la base (dont 20 encaissement(s))" in (
        found.out
    ), found.out
    repaired = run("doctor", "--repair", "--data-dir", str(site.path))
    assert repaired.code == 0, repaired.out + repaired.err
    assert active_codes(site) >= set(codes)  # 0 lost
    assert run("audit", "verify", "--data-dir", str(site.path)).code == 0
    again = run("check", codes[0], "--data-dir", str(site.path))
    assert again.code == 1 and "Déjà encaissé ici" in again.out
    assert run("doctor", "--data-dir", str(site.path)).code == 0


# --- files only the site can read -------------------------------------------------------------


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_the_site_files_are_readable_by_their_owner_only(site, tmp_path):
    os.chmod(database(site), 0o644)  # as a copy made by hand would leave it
    assert redeem(site, site.valid(1)[0]).code == 0
    name, pin = RESPONSABLE
    usb = tmp_path / "cle-usb"
    request = run(
        "enrol",
        "--token",
        "JETON",
        "--request-file",
        str(usb / "demande.json"),
        "--operator",
        name,
        "--data-dir",
        str(tmp_path / "nouveau"),
    )
    assert request.code == 0, request.err
    assert mode(tmp_path / "nouveau") == 0o700
    assert mode(usb / "demande.json") == 0o600
    assert mode(site.path) == 0o700
    for file in (DATABASE_FILENAME, JOURNAL_FILENAME, "mediateur.log"):
        assert mode(site.path / file) == 0o600, file
    del pin


def test_exported_batches_are_private(site, tmp_path):
    """A month closed and exported by its responsable: every file of the export is 0600."""
    last_month = datetime.now(UTC).replace(day=1) - timedelta(days=3)
    site_services = open_site(site.path)
    desk = Desk(open_database(database(site)), fixed_clock(last_month))
    operator = next(op for op in site_services.accounts.list() if op.role == "mediateur")
    session = desk.start_session(operator.id, "Atelier", "collectif", "", 60)
    assert desk.redeem(session.id, operator.id, site.valid(1)[0]).redeemable
    site_services.close()
    name, pin = RESPONSABLE
    as_responsable = ("--operator", name, "--data-dir", str(site.path))
    month = f"{last_month:%Y-%m}"
    closed = run("close-month", "--month", month, *as_responsable, env={"MEDIATEUR_PIN": pin})
    assert closed.code == 0, closed.err
    usb = tmp_path / "cle-usb"
    export = run("export-batch", str(usb), *as_responsable, env={"MEDIATEUR_PIN": pin})
    assert export.code == 0, export.err
    files = sorted(usb.iterdir())
    assert [file.suffix for file in files] == [".csv", ".gz", ".pdf"]
    assert {mode(file) for file in files} == {0o600}


def test_journal_lines_appended_in_another_order_than_their_commits_are_sound(site):
    """Two processes commit one after the other, then append their journal lines the other
    way round: nothing is lost, and nothing must be said damaged."""
    first, second, third = site.valid(3)
    assert redeem(site, first).code == 0
    assert redeem(site, second).code == 0
    path = site.path / JOURNAL_FILENAME
    lines = path.read_bytes().splitlines(keepends=True)
    path.write_bytes(b"".join([*lines[:-2], lines[-1], lines[-2]]))
    healthy = run("doctor", "--data-dir", str(site.path))
    assert healthy.code == 0, healthy.out
    assert redeem(site, third).code == 0


def test_a_garbled_journal_line_is_said_damaged(site):
    taken, checked = site.valid(2)
    assert redeem(site, taken).code == 0
    with (site.path / JOURNAL_FILENAME).open("ab") as stream:
        stream.write(b'{"rows": [\n')
    for result in (
        run("check", checked, "--data-dir", str(site.path)),
        run("doctor", "--data-dir", str(site.path)),
    ):
        no_traceback(result)
        assert result.code == 2
        assert "Le journal du lieu" in result.out + result.err
        assert "est endommagé (une ligne illisible)" in result.out + result.err


def test_a_journal_line_cut_by_a_full_disk_blocks_nothing_and_is_repaired(site):
    """A crash or a full disk leaves the last journal line cut (no newline): the next entry
    starts on a line of its own, every command goes on, and `doctor --repair` mends it."""
    taken, checked, later = site.valid(3)
    assert redeem(site, taken).code == 0
    path = site.path / JOURNAL_FILENAME
    last = path.read_bytes().splitlines()[-1]
    with path.open("ab") as stream:
        stream.write(last[:40])
    name, _pin = MEDIATEUR
    wrong = run(
        "redeem", later, "--operator", name, "--data-dir", str(site.path),
        env={"MEDIATEUR_PIN": "0000"},
    )  # fmt: skip
    no_traceback(wrong)
    assert wrong.code == 2 and "Code PIN incorrect" in wrong.err  # refused, audited
    assert path.read_bytes().count(b"\n") == len(path.read_bytes().splitlines())
    check = run("check", checked, "--data-dir", str(site.path))
    no_traceback(check)
    assert check.code == 0, check.err
    assert redeem(site, checked).code == 0
    found = run("doctor", "--data-dir", str(site.path))
    assert found.code == 2
    assert "1 ligne(s) coupée(s) dans le fichier journal" in found.out, found.out
    repaired = run("doctor", "--repair", "--data-dir", str(site.path))
    no_traceback(repaired)
    assert repaired.code == 0, repaired.out + repaired.err
    assert last[:40] + b"\n" not in path.read_bytes()
    assert run("doctor", "--data-dir", str(site.path)).code == 0
    assert run("audit", "verify", "--data-dir", str(site.path)).code == 0
    assert {taken, checked} <= active_codes(site)


def test_an_unreadable_journal_line_before_the_last_is_damage(site):
    first, second = site.valid(2)
    assert redeem(site, first).code == 0
    assert redeem(site, second).code == 0
    path = site.path / JOURNAL_FILENAME
    lines = path.read_bytes().splitlines(keepends=True)
    path.write_bytes(b"".join([*lines[:-2], lines[-2][:40] + b"\n", lines[-1]]))
    found = run("doctor", "--data-dir", str(site.path))
    no_traceback(found)
    assert found.code == 2
    assert "est endommagé (une ligne illisible)" in found.out


def test_a_journal_line_that_cannot_be_written_is_said(site, small_disk):
    """The redemption is in the database, so it stands; the command says the journal lacks
    it and how to complete it."""
    [code] = site.valid(1)
    path = site.path / JOURNAL_FILENAME
    (small_disk / JOURNAL_FILENAME).write_bytes(path.read_bytes() if path.exists() else b"")
    fill(small_disk / "remplissage")
    path.unlink(missing_ok=True)
    path.symlink_to(small_disk / JOURNAL_FILENAME)  # the journal alone on a full disk
    result = redeem(site, code)
    no_traceback(result)
    assert result.code == 0, result.err
    assert "Pass valide" in result.out, result.out
    assert "journal non écrit" in result.err
    assert "doctor --repair" in result.err
    assert code in active_codes(site)
    (small_disk / "remplissage").unlink()
    repaired = run("doctor", "--repair", "--data-dir", str(site.path))
    assert repaired.code == 0, repaired.out + repaired.err
    assert run("doctor", "--data-dir", str(site.path)).code == 0
