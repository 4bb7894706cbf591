"""Declaration round trip: from a pass taken at the desk to the region's answer stored at the
site, over a real `mediateur-hub serve` on 127.0.0.1, beside its floor.

Sets up a region (SQLite in a temporary directory, or --db), one site enrolled online through
its own services, the replica pulled; then, --rounds times: one pass redeemed, and its
declaration timed (`declare_pending`: the signed pn-declaration/1 built, posted gzip'd, the
hub's reconciliation and its `used` change, the signed answer verified and stored). The floor
is an HTTP round trip to the same server on the same connection (GET /v1/health), measured in
the same run. Then --burst passes taken offline are declared at once (one document). It prints
figures; it asserts nothing on time.

    .venv/bin/python bench/bench_declarations.py
    .venv/bin/python bench/bench_declarations.py --db postgresql+psycopg://user@host/db
"""

from __future__ import annotations

import argparse
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import date, timedelta
from pathlib import Path

from bench_hub_intake import wait_until_healthy
from sqlalchemy import Engine
from sqlmodel import Session

from mediateur_tui.domain.clock import system_clock
from mediateur_tui.hub.database import HubSettings
from mediateur_tui.hub.enrolment import enrol_site
from mediateur_tui.hub.registry import ProgrammeSpec, attribute, init_region, issue
from mediateur_tui.services.auth import add_operator
from mediateur_tui.services.declarations import declare_pending
from mediateur_tui.services.desk import Desk
from mediateur_tui.services.sync import SiteSync
from mediateur_tui.store.engine import open_database
from mediateur_tui.store.sqlite_file import DATABASE_FILENAME
from mediateur_tui.store.sync_state import read_sync_state
from mediateur_tui.sync.client import HubClient

REGION_ID, PROGRAMME, SITE_ID = "HDF", "HDFNUM", "AVESNES-EPN"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--db", help="an empty database URL (default: SQLite in a temp dir)")
    parser.add_argument("--rounds", type=int, default=200, help="single declarations timed")
    parser.add_argument("--burst", type=int, default=2_000, help="passes declared at once")
    args = parser.parse_args(argv)
    folder = Path(tempfile.mkdtemp(prefix="bench-declarations-"))
    try:
        return _run(args, folder)
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def _run(args: argparse.Namespace, folder: Path) -> int:
    hub_dir = folder / "region"
    database = args.db or f"sqlite:///{hub_dir / 'hub.sqlite3'}"
    hub = init_region(HubSettings(hub_dir, database), REGION_ID)
    today = date.today()
    spec = ProgrammeSpec(
        id=PROGRAMME, valid_from=today - timedelta(days=31), valid_until=today + timedelta(days=90)
    )
    passes = args.rounds + args.burst
    issued = issue(hub, spec, carnets=-(-passes // 5), size=5)
    for number, carnet in enumerate(issued.carnets):  # one per beneficiary: under the cap
        attribute(hub, carnet.id, f"BENEF-{number:05d}", on=spec.valid_from)
    codes = [code for carnet in issued.carnets for code in carnet.codes]
    token = enrol_site(hub, SITE_ID, "EPN d'Avesnes-sur-Helpe")
    hub.engine.dispose()
    print(f"database  {database.split('@')[-1]}, {len(codes):,} passes")

    with _served(hub_dir, database) as url:
        site_dir = folder / "site"
        engine = open_database(site_dir / DATABASE_FILENAME)
        sync = SiteSync(engine, site_dir)
        sync.enrol(url, token)
        assert sync.sync().ok
        operator = add_operator(engine, "Camille Martin", "responsable", "1234")
        desk = Desk(engine)
        session_id = desk.start_session(operator.id, "Atelier", "collectif", "", 60).id
        api_key = _api_key(engine)
        with HubClient(url, api_key) as client:
            declare = _declarer(engine, site_dir, client)
            single = []
            for code in codes[: args.rounds]:
                assert desk.redeem(session_id, operator.id, code).redeemable
                single.append(_timed(declare))
            floor = [
                _timed(lambda: client.http.get("/v1/health").raise_for_status())
                for _ in range(args.rounds)
            ]
            for code in codes[args.rounds : passes]:
                desk.redeem(session_id, operator.id, code)
            burst = _timed(declare)
        engine.dispose()

    ours, bare = statistics.median(single), statistics.median(floor)
    print(
        f"one pass  declared in {ours * 1000:.1f} ms (p50 of {len(single)}), "
        f"p95 {_p95(single) * 1000:.1f} ms   floor: GET /v1/health {bare * 1000:.2f} ms   "
        f"ratio {ours / bare:.1f}×"
    )
    print(
        f"burst     {args.burst:,} passes declared in {burst:.2f} s "
        f"({args.burst / burst:,.0f} lines/s, one document)"
    )
    return 0


def _declarer(engine: Engine, site_dir: Path, client: HubClient) -> Callable[[], None]:
    def declare() -> None:
        report = declare_pending(engine, site_dir, client.post_declaration, system_clock)
        assert report.redemptions and report.refused == 0, report

    return declare


def _api_key(engine: Engine) -> str:
    with Session(engine) as session:
        key = read_sync_state(session).api_key
    assert key
    return key


def _timed(action: Callable[[], object]) -> float:
    started = time.perf_counter()
    action()
    return time.perf_counter() - started


def _p95(values: list[float]) -> float:
    return sorted(values)[int(len(values) * 0.95) - 1]


@contextmanager
def _served(hub_dir: Path, database: str) -> Iterator[str]:
    """`mediateur-hub serve` on a free port of 127.0.0.1, for the `with` block: its URL."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    script = Path(sys.executable).with_name("mediateur-hub")
    program = [str(script)] if script.exists() else [sys.executable, "-m", "mediateur_tui.hub.cli"]
    command = [*program, "--dir", str(hub_dir), "--db", database, "serve", "--port", str(port)]
    with (hub_dir / "serve.log").open("wb") as log:
        server = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT)
        try:
            url = f"http://127.0.0.1:{port}"
            wait_until_healthy(url, server)
            yield url
        finally:
            server.terminate()
            try:
                server.wait(timeout=30)
            except subprocess.TimeoutExpired:
                server.kill()


if __name__ == "__main__":
    sys.exit(main())
