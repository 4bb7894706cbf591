"""Hub intake throughput: redemption lines per second for N sites × M lines (not a test).

    .venv/bin/python -m tests.hub.bench_intake                  # 200 sites × 500 lines, SQLite
    .venv/bin/python -m tests.hub.bench_intake --db postgresql+psycopg://user@host/db

Builds a region with enough attributed passes (bulk SQL for the attributions: the bench is
about intake), enrols the sites, signs one batch per site (about 2 % of the lines take a pass
another site already took, and 1 % are unknown codes), then times `receive_batch` for every
batch, each in its own transaction, as the API does. Prints figures; asserts nothing.
"""

from __future__ import annotations

import argparse
import random
import tempfile
import time
from datetime import date
from pathlib import Path

from sqlalchemy import update

from mediateur_tui.hub.database import HubSettings, write_session
from mediateur_tui.hub.intake import receive_batch
from mediateur_tui.hub.models import HubCarnet
from mediateur_tui.hub.registry import ProgrammeSpec, init_region, issue

from .helpers import enrol, line, make_batch


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sites", type=int, default=200)
    parser.add_argument("--lines", type=int, default=500)
    parser.add_argument("--db", help="database URL (default: SQLite in a temporary directory)")
    args = parser.parse_args()
    folder = Path(tempfile.mkdtemp(prefix="bench-hub-"))
    url = args.db or f"sqlite:///{folder / 'hub.sqlite3'}"
    started = time.perf_counter()
    hub = init_region(HubSettings(folder, url), "HDF")
    passes_needed = args.sites * args.lines
    spec = ProgrammeSpec(id="HDFNUM", valid_from=date(2026, 1, 1), valid_until=date(2026, 12, 31))
    issued = issue(hub, spec, carnets=-(-passes_needed // 10), size=10)
    with write_session(hub.engine) as session:
        session.execute(update(HubCarnet).values(attributed_on=date(2026, 2, 1)))
    codes = [code for carnet in issued.carnets for code in carnet.codes]
    sites = [enrol(hub, f"SITE-{number:03d}", f"Site {number}") for number in range(args.sites)]
    rng = random.Random(7)
    batches = []
    for number, site in enumerate(sites):
        own = codes[number * args.lines : (number + 1) * args.lines]
        chosen = []
        for index, code in enumerate(own):
            roll = rng.random()
            if roll < 0.02:
                code = rng.choice(codes)  # a pass some other site may take too
            elif roll < 0.03:
                code = "0000000000000"  # unknown to the registry
            chosen.append(line(code, f"2026-11-{1 + index % 28:02d}T10:00:00Z"))
        batches.append(make_batch(site, chosen))
    setup = time.perf_counter() - started

    started = time.perf_counter()
    accepted = refused = 0
    for batch in batches:
        ack = receive_batch(hub, batch, batch["site_id"]).ack
        accepted += ack["totals"]["accepted"]
        refused += ack["totals"]["refused"]
    elapsed = time.perf_counter() - started
    lines = accepted + refused
    print(f"database: {hub.engine.dialect.name} ({url})")
    print(f"setup: {setup:.1f} s ({len(codes)} passes, {len(sites)} sites, batches signed)")
    print(f"intake: {len(batches)} batches, {lines} lines in {elapsed:.2f} s")
    print(f"        {lines / elapsed:,.0f} lines/s; accepted {accepted}, refused {refused}")
    hub.engine.dispose()


if __name__ == "__main__":
    main()
