"""The app's daily backup: when it is due, where it goes, and what the home screen says."""

from __future__ import annotations

import errno
from datetime import timedelta

from mediateur_tui.domain.clock import fixed_clock
from mediateur_tui.services.backup import Backups
from mediateur_tui.ui.screens.home import backup_text

from .conftest import NOW


def backups(demo_db, moment=NOW) -> Backups:
    return Backups(demo_db.engine, demo_db.path.parent, fixed_clock(moment))


def test_the_daily_backup_waits_for_a_folder_that_is_there(demo_db, tmp_path):
    assert backups(demo_db).make_if_due() is None  # no folder set
    usb = tmp_path / "cle-usb"
    backups(demo_db).make(usb, remember=True)
    made_at = NOW
    assert backups(demo_db, made_at + timedelta(hours=23)).make_if_due() is None
    later = backups(demo_db, made_at + timedelta(hours=24)).make_if_due()
    assert later is not None and later.path.parent == usb
    usb.rename(tmp_path / "cle-retiree")  # the USB key taken out
    absent = backups(demo_db, made_at + timedelta(days=3))
    assert absent.make_if_due() is None
    assert backup_text(absent.status(), made_at + timedelta(days=3)) == (
        "Sauvegardée il y a 2 jours (clé absente)"
    )


def test_a_clock_put_back_does_not_stop_the_daily_backup(demo_db, tmp_path):
    usb = tmp_path / "cle-usb"
    backups(demo_db).make(usb, remember=True)
    put_back = backups(demo_db, NOW - timedelta(days=200))
    assert put_back.make_if_due() is not None  # the last one is "in the future": due


def test_a_failed_backup_is_said_on_the_home_screen(demo_db, tmp_path, monkeypatch):
    """(The real full disk is in tests/faults/test_backups.py; here, what is recorded.)"""
    usb = tmp_path / "cle-usb"
    backups(demo_db).make(usb, remember=True)

    def full_disk(*_args: object) -> None:
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr("mediateur_tui.services.backup.copy_database", full_disk)
    failing = backups(demo_db, NOW + timedelta(days=2))
    assert failing.make_if_due() is None
    status = failing.status()
    assert status.last_error == f"Sauvegarde impossible dans {usb} : le disque est plein."
    assert backup_text(status, NOW + timedelta(days=2)) == "Dernière sauvegarde en échec"


def test_the_home_line_before_any_backup(demo_db):
    status = backups(demo_db).status()
    assert backup_text(status, NOW) == "Sauvegarde non réglée"
