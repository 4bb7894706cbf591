"""Backups that restore: one file holding everything a site is (its database, its journal, its
keys), written while the app may be running, checked once written, and restored onto a new
laptop with nothing lost.

A backup is a zip file, `sauvegarde-<site>-<YYYYMMDD-HHMMSS>.zip`, readable by its owner only:

- `mediateur.sqlite3`: a consistent copy of the database (SQLite's online backup API);
- `mediateur.journal`: the journal (store/journal.py), copied after the database, so it may
  hold a few transactions more; a restore then writes them back, as `doctor --repair` does;
- the site's key files, when it has them;
- `manifest.json`: the format, when and from which site, and what the copy holds (counts, the
  last audit hash) and the SHA-256 of every file, so that a damaged or altered backup is
  refused before anything is written.

It holds the PIN hashes, the site's keys and its access key to the region: keep it as safely as
the laptop itself.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import shutil
import sqlite3
import tempfile
import zipfile
from collections.abc import Iterator
from contextlib import closing, contextmanager
from dataclasses import asdict, dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import Engine
from sqlmodel import Session

from mediateur_tui.domain.clock import Clock, system_clock
from mediateur_tui.domain.errors import UserError
from mediateur_tui.domain.formatting import LOCAL_TZ
from mediateur_tui.domain.french_cli import os_error_text
from mediateur_tui.domain.text import is_clean
from mediateur_tui.protocol.files import private_binary_file
from mediateur_tui.protocol.instants import iso_instant, parse_instant
from mediateur_tui.services import doctor
from mediateur_tui.store.backup import copy_database, examine_copy
from mediateur_tui.store.engine import open_database, writer
from mediateur_tui.store.errors import DatabaseDamaged, StoreError
from mediateur_tui.store.journal_file import JOURNAL_FILENAME
from mediateur_tui.store.keys import BENEFICIARY_KEY_FILENAME, SITE_KEY_FILENAME
from mediateur_tui.store.models import BackupSetting
from mediateur_tui.store.sqlite_file import DATABASE_FILENAME

log = logging.getLogger(__name__)

BACKUP_FORMAT = "mediateur-backup/1"
MANIFEST = "manifest.json"
KEY_FILES = (SITE_KEY_FILENAME, BENEFICIARY_KEY_FILENAME)
MEMBERS = (DATABASE_FILENAME, JOURNAL_FILENAME, *KEY_FILES)
DEFAULT_KEEP = 10
DAILY = timedelta(hours=24)  # the app's backup, into the site's folder when it is there
MAX_MEMBER_BYTES = 16 * 1024**3  # a database of this size is no site's: a forged archive


class BackupError(UserError):
    """A backup that cannot be written or read, with a French message."""


@dataclass(frozen=True)
class CopyFacts:
    """What a backup holds, as its manifest records it and its check finds it again."""

    schema_revision: str | None
    site_id: str | None
    redemptions: int
    sessions: int
    operators: int
    audit_events: int
    batches: int
    last_audit_hash: str | None

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class BackupReport:
    path: Path
    facts: CopyFacts
    size: int
    removed: list[Path]  # older backups deleted to keep the last N


@dataclass(frozen=True)
class BackupStatus:
    folder: Path | None
    folder_present: bool  # False: a USB key not plugged in
    keep: int
    last_backup_at: datetime | None
    last_backup_file: str | None
    last_error: str | None


@dataclass(frozen=True)
class Manifest:
    made_at: datetime
    facts: CopyFacts
    sha256: dict[str, str]


@dataclass(frozen=True)
class RestoreReport:
    manifest: Manifest
    replayed_events: int  # journal entries written back (made after the database copy)


# --- writing ----------------------------------------------------------------------------------


def make_backup(
    engine: Engine, data_dir: Path, folder: Path, keep: int, clock: Clock = system_clock
) -> BackupReport:
    """Writes a backup into `folder`, checks it, then deletes the oldest beyond `keep`."""
    if keep < 1:
        raise BackupError("Il faut garder au moins une sauvegarde (--keep 1 ou plus).")
    made_at = clock()
    try:
        folder.mkdir(mode=0o700, parents=True, exist_ok=True)
        with tempfile.TemporaryDirectory(prefix=".sauvegarde-", dir=folder) as work:
            staging = Path(work)
            copy_database(engine, staging / DATABASE_FILENAME)
            _copy_complete_lines(data_dir / JOURNAL_FILENAME, staging / JOURNAL_FILENAME)
            for name in KEY_FILES:
                if (data_dir / name).exists():
                    shutil.copyfile(data_dir / name, staging / name)
            problems, found = examine_copy(staging / DATABASE_FILENAME)
            if found is None:
                raise BackupError(
                    f"Sauvegarde impossible : la base du lieu est endommagée ({problems[0]}). "
                    "Lancez « mediateur-tui doctor »."
                )
            facts = CopyFacts(**found)
            path = folder / _file_name(facts, made_at)
            _write_archive(path, staging, Manifest(made_at, facts, {}))
    except OSError as error:
        problem = os_error_text(error)
        raise BackupError(f"Sauvegarde impossible dans {folder} : {problem}.") from error
    except StoreError as error:
        raise BackupError(f"Sauvegarde impossible dans {folder} : {error}") from error
    # Read back: every file as written matches the copy checked above (its SHA-256), so the
    # database's integrity check need not run twice. A backup that does not restore is none.
    with _extracted(path, folder) as written:
        _checked(path, written, examine=False)
    removed = _keep_latest(folder, facts.site_id, keep)
    log.info("backup %s written (%s bytes)", path, path.stat().st_size)
    return BackupReport(path, facts, path.stat().st_size, removed)


def _copy_complete_lines(source: Path, target: Path) -> None:
    """The journal up to its last complete line (one being appended is left out)."""
    try:
        data = source.read_bytes()
    except FileNotFoundError:
        return
    target.write_bytes(data[: data.rfind(b"\n") + 1])


def _file_name(facts: CopyFacts, made_at: datetime) -> str:
    local = made_at.astimezone(LOCAL_TZ)
    # To the millisecond: two backups in the same second do not overwrite each other, and
    # the names sort by date.
    millisecond = local.microsecond // 1000
    return f"sauvegarde-{facts.site_id or 'lieu'}-{local:%Y%m%d-%H%M%S}-{millisecond:03d}.zip"


def _write_archive(path: Path, staging: Path, manifest: Manifest) -> None:
    members = [name for name in MEMBERS if (staging / name).exists()]
    digests = {name: _sha256(staging / name) for name in members}
    document = _manifest_json(Manifest(manifest.made_at, manifest.facts, digests))
    with (
        private_binary_file(path) as stream,
        # Level 1: about three times faster than the default for a few per cent more bytes.
        zipfile.ZipFile(stream, "w", compression=zipfile.ZIP_DEFLATED, compresslevel=1) as archive,
    ):
        for name in members:
            archive.write(staging / name, name)
        archive.writestr(MANIFEST, json.dumps(document, ensure_ascii=False, indent=2))


def _manifest_json(manifest: Manifest) -> dict[str, Any]:
    return {
        "format": BACKUP_FORMAT,
        "made_at": iso_instant(manifest.made_at),
        "facts": manifest.facts.to_json(),
        "sha256": manifest.sha256,
    }


def _keep_latest(folder: Path, site_id: str | None, keep: int) -> list[Path]:
    """Deletes this site's oldest backups in `folder` beyond the `keep` newest."""
    mine = sorted(folder.glob(f"sauvegarde-{site_id or 'lieu'}-*.zip"))  # names sort by date
    removed = mine[:-keep]
    for old in removed:
        old.unlink(missing_ok=True)
    return removed


# --- reading ----------------------------------------------------------------------------------


@contextmanager
def checked_copy(path: Path, work_dir: Path) -> Iterator[tuple[Manifest, Path]]:
    """The backup's manifest and its database, extracted into `work_dir` and checked whole
    (read_manifest), for as long as the block runs."""
    with _extracted(path, work_dir) as staging:
        yield _checked(path, staging), staging / DATABASE_FILENAME


def read_manifest(path: Path, work_dir: Path | None = None) -> Manifest:
    """Checks a backup whole: its manifest, every file's SHA-256, the database's integrity and
    audit chain, and that the database holds what the manifest says. BackupError otherwise.
    (`work_dir`: where to extract it meanwhile; beside it by default.)"""
    with _extracted(path, work_dir or path.parent) as staging:
        return _checked(path, staging)


def _checked(path: Path, staging: Path, examine: bool = True) -> Manifest:
    """The manifest of the backup extracted in `staging`, every file checked against its
    SHA-256 and (`examine`) the database examined whole; BackupError otherwise."""
    manifest = _parse_manifest(path, (staging / MANIFEST).read_bytes())
    for name, digest in manifest.sha256.items():
        if name not in MEMBERS or _sha256(staging / name) != digest:
            raise _damaged(path, f"le fichier {name} ne correspond pas à son empreinte")
    if DATABASE_FILENAME not in manifest.sha256:
        raise _damaged(path, "la base de données manque")
    if not examine:
        return manifest
    problems, found = examine_copy(staging / DATABASE_FILENAME)
    if found is None:
        raise _damaged(path, problems[0])
    if CopyFacts(**found) != manifest.facts:
        raise _damaged(path, "la base ne contient pas ce que la sauvegarde annonce")
    return manifest


@contextmanager
def _extracted(path: Path, work_dir: Path) -> Iterator[Path]:
    """The archive's known files, extracted into a private temporary folder in `work_dir`."""
    try:
        archive = zipfile.ZipFile(path)
    except FileNotFoundError as error:
        raise BackupError(f"Sauvegarde introuvable : {path}.") from error
    except (zipfile.BadZipFile, OSError) as error:
        raise _damaged(path, "ce n'est pas un fichier de sauvegarde lisible") from error
    with archive, tempfile.TemporaryDirectory(prefix=".restauration-", dir=work_dir) as work:
        staging = Path(work)
        names = set(archive.namelist())
        if MANIFEST not in names:
            raise _damaged(path, "le manifeste manque")
        for name in (MANIFEST, *MEMBERS):
            if name in names:
                _extract_one(archive, name, staging / name, path)
        yield staging


def _extract_one(archive: zipfile.ZipFile, name: str, target: Path, path: Path) -> None:
    info = archive.getinfo(name)
    if info.file_size > MAX_MEMBER_BYTES:
        raise _damaged(path, f"le fichier {name} annonce une taille impossible")
    try:
        with archive.open(info) as source, target.open("wb") as stream:
            shutil.copyfileobj(source, stream)
    except (zipfile.BadZipFile, OSError, EOFError) as error:  # a CRC error is a BadZipFile
        raise _damaged(path, f"le fichier {name} est illisible") from error


def _parse_manifest(path: Path, data: bytes) -> Manifest:
    try:
        document = json.loads(data)
        if document.get("format") != BACKUP_FORMAT:
            raise _damaged(path, f"format inconnu ({document.get('format')!r})")
        facts = CopyFacts(**document["facts"])
        return Manifest(parse_instant(document["made_at"]), facts, dict(document["sha256"]))
    except (ValueError, KeyError, TypeError, AttributeError) as error:
        raise _damaged(path, "son manifeste est illisible") from error


def _damaged(path: Path, problem: str) -> BackupError:
    return BackupError(
        f"Sauvegarde {path.name} refusée : {problem}. Rien n'a été écrit ; prenez une autre "
        "sauvegarde."
    )


# --- restoring --------------------------------------------------------------------------------


def restore_backup(path: Path, data_dir: Path, replace: bool = False) -> RestoreReport:
    """Restores `path` into `data_dir`: a folder with no site yet (a new laptop), or, with
    `replace`, the folder of a site whose database is damaged beyond repair. The backup is
    checked whole first; nothing is written when it is refused.

    Replacing sets the damaged files aside (`endommage-<date>/`) and keeps the site's journal
    when it goes on from the backup's: what was done since the backup is then written back
    too. The keys already there are kept (they may be newer: a site enrolled again)."""
    database = data_dir / DATABASE_FILENAME
    if database.exists() and not replace:
        raise BackupError(
            f"{data_dir} contient déjà les données d'un lieu : restaurez dans un dossier sans "
            "base (un nouveau poste), ou, si sa base est endommagée, ajoutez --replace."
        )
    data_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
    with _extracted(path, data_dir) as staging:
        manifest = _checked(path, staging)
        try:
            if database.exists():
                _refuse_a_sound_site(data_dir)
                _set_damaged_aside(data_dir, staging)
            for name in (JOURNAL_FILENAME, *KEY_FILES):
                if (staging / name).exists() and not (data_dir / name).exists():
                    _move_private(staging / name, data_dir / name)
            _ask_the_region_again(staging / DATABASE_FILENAME)
            _move_private(staging / DATABASE_FILENAME, database)  # last: a cut leaves no site
        except OSError as error:
            raise BackupError(f"Restauration impossible : {os_error_text(error)}.") from error
    return RestoreReport(manifest, _replay_journal(data_dir))


def _ask_the_region_again(copy: Path) -> None:
    """The next sync takes back from the region what it has of the site (services/recovery.py):
    the redemptions declared since the backup was made. Written in the checked copy before it
    takes its place, so that no cut leaves a restored site that would not ask."""
    try:
        with closing(sqlite3.connect(copy)) as database, database:
            tables = database.execute("SELECT name FROM sqlite_master WHERE type = 'table'")
            if ("sync_state",) in tables.fetchall():  # a copy from before sync: nothing to do
                database.execute("UPDATE sync_state SET last_sync_at = NULL")
    except sqlite3.Error as error:
        raise BackupError(f"Restauration impossible : {error}.") from error


def _refuse_a_sound_site(data_dir: Path) -> None:
    database = data_dir / DATABASE_FILENAME
    try:
        engine = open_database(database, repairing=True)
        try:
            diagnosis = doctor.examine(engine, database)
        finally:
            engine.dispose()
    except DatabaseDamaged:
        return
    if diagnosis.healthy:
        raise BackupError(
            f"La base de {data_dir} est saine : rien à restaurer (une restauration perdrait ce "
            "qui a été fait depuis la sauvegarde)."
        )
    if diagnosis.repairable:
        raise BackupError(
            "La base de ce lieu se répare sans sauvegarde : lancez « mediateur-tui doctor "
            "--repair »."
        )


def _set_damaged_aside(data_dir: Path, staging: Path) -> None:
    """Moves the damaged database (and its -wal, -shm) into `endommage-<date>/`; the journal
    too, unless it goes on from the backup's (then it stays, and is replayed)."""
    aside = data_dir / f"endommage-{datetime.now(LOCAL_TZ):%Y%m%d-%H%M%S}"
    aside.mkdir(mode=0o700)
    for suffix in ("", "-wal", "-shm"):
        damaged = data_dir / f"{DATABASE_FILENAME}{suffix}"
        if damaged.exists():
            shutil.move(damaged, aside / damaged.name)
    current = data_dir / JOURNAL_FILENAME
    if current.exists() and not _goes_on_from(current, staging / JOURNAL_FILENAME):
        shutil.move(current, aside / current.name)


def _goes_on_from(journal: Path, earlier: Path) -> bool:
    """Whether `journal` starts with the whole of `earlier` (the backup's copy of it)."""
    if not earlier.exists():
        return True
    size = earlier.stat().st_size
    with journal.open("rb") as current, earlier.open("rb") as copy:
        return current.read(size) == copy.read()


def _move_private(source: Path, target: Path) -> None:
    os.chmod(source, 0o600)
    shutil.move(source, target)


def _replay_journal(data_dir: Path) -> int:
    """Writes back what the journal holds beyond the database copy (made while the app wrote)."""
    database = data_dir / DATABASE_FILENAME
    engine = open_database(database, repairing=True)
    try:
        diagnosis = doctor.examine(engine, database)
        if diagnosis.healthy:
            return 0
        return doctor.repair(engine, database).restored_events
    finally:
        engine.dispose()


# --- settings ---------------------------------------------------------------------------------


class Backups:
    """The backups of one site: where they go, making one, and when the last was made."""

    def __init__(self, engine: Engine, data_dir: Path, clock: Clock = system_clock) -> None:
        self._engine = engine
        self.data_dir = data_dir
        self.clock = clock

    def status(self) -> BackupStatus:
        setting = self._setting()
        folder = Path(setting.folder) if setting.folder else None
        return BackupStatus(
            folder,
            folder is not None and folder.is_dir(),
            setting.keep,
            setting.last_backup_at,
            setting.last_backup_file,
            setting.last_error,
        )

    def make_if_due(self) -> BackupReport | None:
        """The app's daily backup: made when the site's folder is there (a USB key plugged
        in) and the last one is a day old, or dated after now (a clock put back). A failure
        is recorded for the home screen, not raised: the next attempt comes soon."""
        status = self.status()
        now = self.clock()
        last = status.last_backup_at
        if not status.folder_present or (last is not None and now - DAILY < last <= now):
            return None
        try:
            return self.make()
        except BackupError as error:
            log.warning("daily backup failed: %s", error)
            return None

    def make(
        self, folder: Path | None = None, keep: int | None = None, remember: bool = False
    ) -> BackupReport:
        """A backup into `folder` (else the site's folder); `remember` makes `folder` the
        site's folder for the next ones (the app's daily backup)."""
        setting = self._setting()
        target = folder or (Path(setting.folder) if setting.folder else None)
        if target is None:
            raise BackupError(
                "Aucun dossier de sauvegarde : donnez-en un (mediateur-tui backup DOSSIER "
                "--default pour qu'il serve aussi aux suivantes)."
            )
        if not is_clean(str(target)):  # its name goes into the database, as text
            raise BackupError(
                f"Nom de dossier illisible (caractères invalides) : {target}. Choisissez un "
                "dossier dont le nom est du texte."
            )
        count = keep or setting.keep
        try:
            report = make_backup(self._engine, self.data_dir, target, count, self.clock)
        except BackupError as error:
            self._record(last_error=str(error))
            raise
        self._record(
            last_backup_at=self.clock(),
            last_backup_file=str(report.path),
            last_error=None,
            **({"folder": str(target), "keep": count} if remember else {}),
        )
        return report

    def _setting(self) -> BackupSetting:
        with Session(self._engine) as session:
            return session.get(BackupSetting, 1) or BackupSetting()

    def _record(self, **values: Any) -> None:
        with Session(writer(self._engine)) as session:
            setting = session.get(BackupSetting, 1) or BackupSetting()
            for name, value in values.items():
                setattr(setting, name, value)
            session.add(setting)
            session.commit()


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as stream:
        for block in iter(lambda: stream.read(1024 * 1024), b""):
            digest.update(block)
    return digest.hexdigest()
