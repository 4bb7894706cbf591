"""Backup and restore of a large site (the 1,000,000-pass demo by default), beside their floor.

Uses the demo replica built by bench_check.py in bench/out/ (built here when missing), copied
into a temporary directory. Times `make_backup` (SQLite's online backup API into a staging
folder, the copy checked, zipped, read back and checked again) and `restore_backup` (the
archive checked whole, then unpacked into a new folder), each beside its floor measured in the
same run: a raw `sqlite3` backup of the same file (`Connection.backup`), and a raw unzip of
the same archive. It prints figures; it asserts nothing on time.

    .venv/bin/python bench/bench_backup.py              # build if needed, then measure
    .venv/bin/python bench/bench_backup.py --rounds 5
"""

from __future__ import annotations

import argparse
import shutil
import sqlite3
import statistics
import sys
import tempfile
import time
import zipfile
from collections.abc import Callable
from contextlib import closing
from pathlib import Path

from bench_check import DEFAULT_OUT, _build, _pass_count

from mediateur_tui.services.backup import make_backup, restore_backup
from mediateur_tui.store.engine import open_database
from mediateur_tui.store.sqlite_file import DATABASE_FILENAME


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT, help="replica directory")
    parser.add_argument("--passes", type=int, default=1_000_000)
    parser.add_argument("--rounds", type=int, default=3, help="backups and restores timed")
    args = parser.parse_args(argv)
    source = args.out / DATABASE_FILENAME
    if _pass_count(source) != args.passes:
        _build(source, args.passes)
    with tempfile.TemporaryDirectory(prefix="bench-backup-") as folder:
        return _run(Path(folder), source, args.rounds)


def _run(folder: Path, source: Path, rounds: int) -> int:
    site = folder / "site"
    site.mkdir()
    shutil.copyfile(source, site / DATABASE_FILENAME)
    engine = open_database(site / DATABASE_FILENAME)
    size = (site / DATABASE_FILENAME).stat().st_size
    print(f"database  {_pass_count(source):,} passes, {size / 1e6:.1f} MB")

    usb = folder / "usb"
    archives: list[Path] = []

    def backup() -> None:
        archives.append(make_backup(engine, site, usb, keep=rounds + 1).path)

    def raw_copy() -> None:
        target = folder / "raw.sqlite3"
        target.unlink(missing_ok=True)
        with (
            closing(sqlite3.connect(site / DATABASE_FILENAME)) as src,
            closing(sqlite3.connect(target)) as dst,
        ):
            src.backup(dst)

    _compare(
        "backup", _times(backup, rounds), "sqlite3 Connection.backup", _times(raw_copy, rounds)
    )
    engine.dispose()
    print(f"          archive {archives[-1].stat().st_size / 1e6:.1f} MB")

    targets = iter(range(rounds * 2))

    def restore() -> None:
        restore_backup(archives[-1], folder / f"laptop-{next(targets)}")

    def raw_unzip() -> None:
        with zipfile.ZipFile(archives[-1]) as archive:
            archive.extractall(folder / f"unzip-{next(targets)}")

    _compare(
        "restore", _times(restore, rounds), "raw unzip of the archive", _times(raw_unzip, rounds)
    )
    return 0


def _times(action: Callable[[], None], rounds: int) -> list[float]:
    times = []
    for _ in range(rounds):
        started = time.perf_counter()
        action()
        times.append(time.perf_counter() - started)
    return times


def _compare(name: str, ours: list[float], floor_name: str, floor: list[float]) -> None:
    ours_s, floor_s = statistics.median(ours), statistics.median(floor)
    print(
        f"{name:<9} {ours_s:.2f} s (median of {len(ours)})   floor: {floor_name} "
        f"{floor_s:.2f} s   ratio {ours_s / floor_s:.1f}×"
    )


if __name__ == "__main__":
    sys.exit(main())
