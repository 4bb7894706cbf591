"""A site's recovery (pn-site-recovery/1) after months of declarations, beside its floor.

Sets up a region (SQLite in a temporary directory) and one site, then gives the site
--per-month declared lines a month for each count of --months: every month but the last
brought by its batch, as when a site declares each day and sends its remise each month (the
batch rows hold a document and an acknowledgement of that month's lines). For each count it
times `site_recovery` (every batch with its acknowledgement, the declared lines no batch has
brought yet, the signed document) and, as its floor, the same two reads on raw `sqlite3` (the
same statements, every row fetched, no document built), and the process's peak RSS so far
(give the counts in increasing order). The recovery returns every batch the site sent, so it
grows with them; what it reads of the declared lines should not. It prints figures; it
asserts nothing on time.

    .venv/bin/python bench/bench_site_recovery.py
    .venv/bin/python bench/bench_site_recovery.py --months 12,60,120 --per-month 2000
"""

from __future__ import annotations

import argparse
import json
import resource
import shutil
import sqlite3
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from mediateur_tui.hub.database import HubSettings
from mediateur_tui.hub.declarations import site_recovery
from mediateur_tui.hub.enrolment import enrol_site
from mediateur_tui.hub.registry import init_region

REGION_ID, SITE_ID = "HDF", "AVESNES-EPN"
AT = "2026-01-05 10:00:00.000000"
BATCHES = "SELECT * FROM hub_batch WHERE site_id = ? ORDER BY sequence, received_at"
OUTSTANDING = (
    "SELECT * FROM hub_declared_line WHERE site_id = ? AND batch_id IS NULL "
    "ORDER BY redeemed_at, redemption_id"
)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--months", default="12,120", help="months of history, comma-separated")
    parser.add_argument("--per-month", type=int, default=2_000, help="lines declared a month")
    parser.add_argument("--repeat", type=int, default=5, help="recoveries timed per count")
    args = parser.parse_args(argv)
    print(f"load      {Path('/proc/loadavg').read_text().strip()}")
    for months in (int(text) for text in args.months.split(",")):
        folder = Path(tempfile.mkdtemp(prefix="bench-recovery-"))
        try:
            _measure(folder, months, args.per_month, args.repeat)
        finally:
            shutil.rmtree(folder, ignore_errors=True)
    print(f"load      {Path('/proc/loadavg').read_text().strip()}")
    return 0


def _measure(folder: Path, months: int, per_month: int, repeat: int) -> None:
    database = folder / "hub.sqlite3"
    hub = init_region(HubSettings(folder, f"sqlite:///{database}"), REGION_ID)
    enrol_site(hub, SITE_ID, "EPN d'Avesnes")
    _declare_months(database, months, per_month)
    document = site_recovery(hub, SITE_ID)
    assert len(document["declared"]["redemptions"]) == per_month
    assert len(document["batches"]) == months - 1
    ours = _median(lambda: site_recovery(hub, SITE_ID), repeat)
    floor = _median(lambda: _raw_reads(database), repeat)
    hub.engine.dispose()
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(
        f"{months:>3} months  {months * per_month:,} lines declared, {per_month:,} outstanding: "
        f"recovery {ours * 1000:.1f} ms; floor (the same reads, raw sqlite3) "
        f"{floor * 1000:.1f} ms; ratio {ours / floor:.2f}×; peak RSS of this process so far "
        f"{peak_mb:.0f} MB"
    )


def _declare_months(database: Path, months: int, per_month: int) -> None:
    """The site's history, written straight into the tables with realistic sizes: a batch row
    for each month but the last (its document holds the month's lines, its acknowledgement an
    answer for each), and the month's declared lines (each with its line and session JSON)."""
    redemption = {
        "id": "0" * 32,
        "code": "X" * 13,
        "session_id": 1,
        "operator": "Camille Martin",
        "redeemed_at": "2026-11-12T09:30:00Z",
        "input_method": "scan",
        "value_cents": 1000,
        "provisional": False,
    }
    answer = {"redemption_id": "0" * 32, "code": "X" * 13, "verdict": "accepted", "reason": None}
    session_object = {"id": 1, "kind": "atelier", "label": "Atelier " + "s" * 60, "minutes": 90}
    line, session = json.dumps(redemption), json.dumps(session_object)
    document = json.dumps(
        {
            "format": "pn-batch/1",
            "sessions": [session_object],
            "redemptions": [redemption] * per_month,
            "signature": "s" * 88,
        }
    )
    ack = json.dumps({"format": "pn-ack/1", "lines": [answer] * per_month, "signature": "s" * 88})
    connection = sqlite3.connect(database)
    with connection:
        for month in range(months):
            period = f"{2017 + month // 12}-{month % 12 + 1:02d}"
            batch_id = f"B{month:04d}" if month < months - 1 else None
            if batch_id is not None:
                connection.execute(
                    "INSERT INTO hub_batch (batch_id, site_id, period, sequence, received_at, "
                    "document_hash, document, ack) VALUES (?, ?, ?, ?, ?, 'h', ?, ?)",
                    (batch_id, SITE_ID, period, month + 1, AT, document, ack),
                )
            connection.executemany(
                "INSERT INTO hub_declared_line (redemption_id, site_id, declaration_id, code, "
                "line, session, redeemed_at, value_cents, verdict, declared_at, received_at, "
                "batch_id) VALUES (?, ?, 'D', ?, ?, ?, ?, 1000, 'accepted', ?, ?, ?)",
                (
                    (f"{month:04d}{n:028x}", SITE_ID, f"{month:04d}{n:09d}", line, session,
                     AT, AT, AT, batch_id)
                    for n in range(per_month)
                ),
            )  # fmt: skip
    connection.close()


def _raw_reads(database: Path) -> None:
    connection = sqlite3.connect(database)
    try:
        connection.execute(BATCHES, (SITE_ID,)).fetchall()
        connection.execute(OUTSTANDING, (SITE_ID,)).fetchall()
    finally:
        connection.close()


def _median(work: Callable[[], object], repeat: int) -> float:
    times = []
    for _ in range(repeat):
        started = time.perf_counter()
        work()
        times.append(time.perf_counter() - started)
    return statistics.median(times)


if __name__ == "__main__":
    raise SystemExit(main())
