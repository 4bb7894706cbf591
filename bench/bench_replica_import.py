"""Replica import, by file and by HTTP, beside `sqlite3 .import` of the same rows.

Uses the region hub of bench_replica_pull.py (1,000,000 attributed passes in
bench/out/hub-<N>/, built or reused with --reuse), then in the same run:

1. by file: `mediateur-hub export-replica` writes the snapshot (.json.gz, not timed); a fresh
   site imports it as `mediateur-tui import-replica` does (`import_replica_file`: the lines
   read, hashed and written as they come, one transaction, the seal verified at the end); then
   `mediateur-tui import-replica` itself, as a process, into another fresh site, for its peak
   RSS (VmHWM, sampled from /proc);
2. by HTTP: a fresh site enrols with a real `mediateur-hub serve` and pulls every page
   (`SiteSync.sync`, as bench_replica_pull.py), with the bytes on the wire;
3. the floor: the same carnet and pass rows (in the snapshot's order) written to a CSV, and
   loaded into an empty database of the same schema by the `sqlite3` command-line tool's
   `.import` (foreign keys on, synchronous=FULL, one transaction), or, when the tool is not
   installed, by python's sqlite3 `executemany` from the CSV in one transaction.

It prints each figure beside the floor, the ratio and the goal, the bytes per pass on the wire
and on disk, and the machine's load. It asserts nothing on time.

    .venv/bin/python bench/bench_replica_import.py            # builds the hub if needed
    .venv/bin/python bench/bench_replica_import.py --reuse    # the hub built before
"""

from __future__ import annotations

import argparse
import csv
import multiprocessing
import os
import platform
import shutil
import sqlite3
import subprocess
import sys
import time
from contextlib import closing
from pathlib import Path
from typing import Any

from bench_hub_intake import wait_until_healthy
from bench_hub_region import SAMPLE_SECONDS, _status_kib
from bench_replica_pull import (
    DEFAULT_OUT,
    SITE_ID,
    _enrolment_token,
    _free_port,
    _hub_command,
    _hub_options,
    _prepare_hub,
    _pull,
    _start_server,
)

IMPORT_GOAL = 2.0  # an import may take at most twice the floor
WIRE_GOAL = 12.0  # bytes per pass of a full pull, gzip'd
DISK_GOAL = 40.0  # bytes per pass of the site's database


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT, help="bench directory")
    parser.add_argument("--passes", type=int, default=1_000_000, help="a multiple of 10")
    parser.add_argument("--reuse", action="store_true", help="reuse the hub built before")
    args = parser.parse_args(argv)
    if args.passes < 10 or args.passes % 10:
        parser.error("--passes must be a positive multiple of 10 (carnets of 10)")
    hub_dir = args.out / f"hub-{args.passes}"
    work = args.out / "replica-import"
    shutil.rmtree(work, ignore_errors=True)
    work.mkdir(parents=True)
    print(
        f"machine       {platform.python_implementation()} {platform.python_version()}, "
        f"SQLite {sqlite3.sqlite_version}, {os.cpu_count()} CPU, load {_load()}"
    )
    context = multiprocessing.get_context("spawn")
    with context.Pool(1) as pool:
        built = pool.apply(_prepare_hub, (str(hub_dir), None, args.passes, args.reuse))
    passes = built["passes"]
    print(f"hub           {hub_dir}: {passes:,} passes, {built['changes']:,} changes")

    token = _enrolment_token(hub_dir, None)  # the site is in the registry from now on
    snapshot = work / "snapshot.json.gz"
    subprocess.run(
        [*_hub_command(), *_hub_options(hub_dir, None), "export-replica", str(snapshot)],
        check=True,
        capture_output=True,
    )
    by_file = _import_file(snapshot, work / "site-file")
    by_file["peak_mb"] = import_peak_mb(snapshot, work / "site-process")
    by_http = _import_http(hub_dir, work, token)
    floor = _floor(work / "site-file", snapshot, work / "floor")
    _report(passes, by_file, by_http, floor, snapshot.stat().st_size)
    print(f"load after    {_load()}")
    return 0


def _load() -> str:
    return " ".join(Path("/proc/loadavg").read_text().split()[:3])


# --- the site's import ----------------------------------------------------------------------


class _WriteTimer:
    """Adds up the time spent in store/replica.py's apply_changes (the SQLite writes)."""

    def __init__(self) -> None:
        from mediateur_tui.services import replica

        self.module = replica
        self.real = replica.replica_tables.apply_changes
        self.seconds = 0.0

    def __enter__(self) -> _WriteTimer:
        def timed(*positional: Any, **named: Any) -> None:
            began = time.perf_counter()
            try:
                self.real(*positional, **named)
            finally:
                self.seconds += time.perf_counter() - began

        self.module.replica_tables.apply_changes = timed
        return self

    def __exit__(self, *_exc: object) -> None:
        self.module.replica_tables.apply_changes = self.real


class _ReadTimer:
    """Adds up the time spent reading a snapshot file's lines (SnapshotReader.changes: gunzip,
    split, hash, parse), which `apply_changes` pulls as it writes: the writes are the rest."""

    def __init__(self) -> None:
        from mediateur_tui.protocol.snapshot_lines import SnapshotReader

        self.reader = SnapshotReader
        self.real = SnapshotReader.changes
        self.seconds = 0.0

    def __enter__(self) -> _ReadTimer:
        real = self.real

        def timed(reader: Any) -> Any:
            changes = real(reader)
            while True:
                began = time.perf_counter()
                try:
                    change = next(changes)
                except StopIteration:
                    return
                finally:
                    self.seconds += time.perf_counter() - began
                yield change

        self.reader.changes = timed
        return self

    def __exit__(self, *_exc: object) -> None:
        self.reader.changes = self.real


def _import_file(snapshot: Path, site_dir: Path) -> dict[str, float]:
    from mediateur_tui.services import replica
    from mediateur_tui.store.engine import open_database
    from mediateur_tui.store.sqlite_file import database_path

    engine = open_database(database_path(site_dir))
    with _WriteTimer() as writes, _ReadTimer() as reads:
        started = time.perf_counter()
        result = replica.import_replica_file(engine, snapshot, SITE_ID)
        total = time.perf_counter() - started
    engine.dispose()
    return {
        "total": total,
        "writes": writes.seconds - reads.seconds,
        "passes": result.pass_count,
        **_sizes(database_path(site_dir)),
    }


def import_peak_mb(snapshot: Path, site_dir: Path) -> float:
    """The peak RSS (VmHWM, MB) of `mediateur-tui import-replica SNAPSHOT` into a fresh site,
    sampled every SAMPLE_SECONDS until it exits (the code it runs is whatever PYTHONPATH
    gives: the same measure for an older checkout)."""
    script = Path(sys.executable).with_name("mediateur-tui")
    program = [str(script)] if script.exists() else [sys.executable, "-m", "mediateur_tui.cli"]
    command = [*program, "import-replica", str(snapshot), "--site", SITE_ID]
    process = subprocess.Popen([*command, "--data-dir", str(site_dir)], stdout=subprocess.DEVNULL)
    peak_kib = 0
    while process.poll() is None:
        peak_kib = max(peak_kib, _status_kib(process.pid, "VmHWM:"))
        time.sleep(SAMPLE_SECONDS)  # a sampling period, not a synchronisation
    if process.returncode != 0:
        raise SystemExit(f"import-replica failed ({process.returncode})")
    return peak_kib / 1024


def _import_http(hub_dir: Path, work: Path, token: str) -> dict[str, Any]:
    from mediateur_tui.store.sqlite_file import database_path

    site_dir = work / "site-http"
    site_dir.mkdir()
    port = _free_port()
    url = f"http://127.0.0.1:{port}"
    server = _start_server(hub_dir, None, port, work / "hub.log")
    try:
        wait_until_healthy(url, server)
        with _WriteTimer() as writes:
            figures = _pull(url, token, site_dir, None)
    finally:
        server.terminate()
        try:
            server.wait(timeout=30)
        except subprocess.TimeoutExpired:
            server.kill()
    return {**figures, "writes": writes.seconds, **_sizes(database_path(site_dir))}


def _sizes(path: Path) -> dict[str, float]:
    """The file after a checkpoint (as a site has it once its process closed), and after a
    VACUUM of a copy."""
    with closing(sqlite3.connect(path)) as connection:
        connection.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    checkpointed = path.stat().st_size
    copy = path.with_name("vacuumed.sqlite3")
    shutil.copyfile(path, copy)
    with closing(sqlite3.connect(copy)) as connection:
        connection.execute("VACUUM")
    vacuumed = copy.stat().st_size
    copy.unlink()
    return {"checkpointed": checkpointed, "vacuumed": vacuumed}


# --- the floor ------------------------------------------------------------------------------


def _floor(imported: Path, snapshot: Path, folder: Path) -> dict[str, Any]:
    """Times loading the imported site's carnet and pass rows into an empty database of the
    same schema (its programmes and sites already there, as the foreign keys want)."""
    from mediateur_tui.protocol.snapshot_lines import SnapshotReader
    from mediateur_tui.store.engine import open_database
    from mediateur_tui.store.sqlite_file import database_path

    folder.mkdir()
    source = database_path(imported)
    target = database_path(folder)
    open_database(target).dispose()  # the migrated schema, empty
    with closing(sqlite3.connect(source)) as connection:
        refs = dict(connection.execute("SELECT id, ref FROM carnet"))
        carnets = connection.execute(
            "SELECT ref, id, programme_id, size, attributed_on, beneficiary_ref, issued_on "
            "FROM carnet ORDER BY ref"
        ).fetchall()
    with snapshot.open("rb") as stream:
        pass_rows = [
            (code, refs[change["id"]])
            for change in SnapshotReader(stream).changes()
            if change["t"] == "carnet"
            for code in change["codes"]
        ]
    carnet_csv, pass_csv = folder / "carnet.csv", folder / "pass.csv"
    _write_csv(carnet_csv, carnets)
    _write_csv(pass_csv, pass_rows)
    with closing(sqlite3.connect(target)) as connection, connection:
        connection.execute("ATTACH DATABASE ? AS source", (str(source),))
        for table in ("site", "programme", "programme_site"):
            connection.execute(f"INSERT INTO {table} SELECT * FROM source.{table}")
    tool = shutil.which("sqlite3")
    started = time.perf_counter()
    if tool:
        script = (
            "PRAGMA foreign_keys=ON;\nPRAGMA synchronous=FULL;\nBEGIN;\n"
            f".import --csv {carnet_csv} carnet\n.import --csv {pass_csv} pass\nCOMMIT;\n"
        )
        subprocess.run([tool, str(target)], input=script, text=True, check=True)
        how = "sqlite3 CLI .import (one transaction)"
    else:
        _executemany_from_csv(target, carnet_csv, pass_csv)
        how = "python sqlite3 executemany from the CSV (one transaction)"
    seconds = time.perf_counter() - started
    with closing(sqlite3.connect(target)) as connection:
        loaded = connection.execute("SELECT count(*) FROM pass").fetchone()[0]
    if loaded != len(pass_rows):
        raise SystemExit(f"the floor loaded {loaded:,} passes, not {len(pass_rows):,}")
    return {"seconds": seconds, "how": how, "rows": len(carnets) + len(pass_rows)}


def _write_csv(path: Path, rows: list[tuple[Any, ...]]) -> None:
    with path.open("w", newline="") as handle:
        csv.writer(handle).writerows(rows)


def _executemany_from_csv(target: Path, carnet_csv: Path, pass_csv: Path) -> None:
    connection = sqlite3.connect(target, isolation_level=None)
    try:
        connection.execute("PRAGMA foreign_keys=ON")
        connection.execute("PRAGMA synchronous=FULL")
        connection.execute("BEGIN")
        with carnet_csv.open(newline="") as handle:
            connection.executemany(
                "INSERT INTO carnet VALUES (?, ?, ?, ?, ?, ?, ?)",
                ([value or None for value in row] for row in csv.reader(handle)),
            )
        with pass_csv.open(newline="") as handle:
            connection.executemany("INSERT INTO pass VALUES (?, ?)", csv.reader(handle))
        connection.execute("COMMIT")
    finally:
        connection.close()


# --- the report -----------------------------------------------------------------------------


def _report(
    passes: int,
    by_file: dict[str, Any],
    by_http: dict[str, Any],
    floor: dict[str, Any],
    snapshot_bytes: int,
) -> None:
    base = floor["seconds"]
    rows = f"{floor['rows']:,} rows (carnets and passes)"
    print(f"floor         {base:.2f} s: {rows}, {floor['how']}")
    print(f"{'':14}{'seconds':>9}  {'÷ floor':>8}  goal")

    def line(name: str, seconds: float, goal: str) -> None:
        print(f"  {name:<28}{seconds:>7.2f}  {seconds / base:>7.2f}×  {goal}")

    print("by file       (import_replica_file: pn-replica-snapshot/2, streamed)")
    line("import, in all", by_file["total"], f"≤ {IMPORT_GOAL:.0f}×")
    line("  read, hash, verify, commit", by_file["total"] - by_file["writes"], "")
    line("  SQLite writes", by_file["writes"], f"≤ {IMPORT_GOAL:.0f}×")
    print(f"  peak RSS of `mediateur-tui import-replica`: {by_file['peak_mb']:,.0f} MB")
    formats = ", ".join(f"{count} {name}" for name, count in sorted(by_http["formats"].items()))
    print(f"by HTTP       (SiteSync.sync from cursor 0; {formats}; fetch and parse beside apply)")
    line("pull, in all", by_http["total"], f"≤ {IMPORT_GOAL:.0f}×")
    line("  not applying (waiting)", by_http["total"] - by_http["apply"], "")
    line("  site CPU (all threads)", by_http["cpu"], "")
    line("  fetch (hub reads, signs)", by_http["fetch"], "")
    line("  parse (gunzip, JSON)", by_http["parse"], "")
    line("  apply_page", by_http["apply"], f"≤ {IMPORT_GOAL:.0f}×")
    line("    SQLite writes", by_http["writes"], f"≤ {IMPORT_GOAL:.0f}×")
    wire = by_http["body"] / passes
    print(
        f"on the wire   {wire:.2f} bytes/pass gzip'd ({by_http['pages']} pages, "
        f"{by_http['body'] / 1e6:.1f} MB; snapshot file {snapshot_bytes / passes:.2f} "
        f"bytes/pass), goal ≤ {WIRE_GOAL:.0f}"
    )
    for name, figures in (("by file", by_file), ("by HTTP", by_http)):
        print(
            f"on disk       {name}: {figures['checkpointed'] / passes:.1f} bytes/pass after a "
            f"checkpoint, {figures['vacuumed'] / passes:.1f} after VACUUM, "
            f"goal ≤ {DISK_GOAL:.0f}"
        )


if __name__ == "__main__":
    sys.exit(main())
