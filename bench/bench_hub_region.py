"""A region at scale: issue, export, a full pull by one site, and the intake of one batch per
site, on SQLite in process and over HTTP on PostgreSQL with 4 workers.

For each backend it builds a region of --passes passes (carnets of 10, attributed in bulk),
then measures:

- issue: `issue()` of every carnet (MAX_CARNETS_PER_ISSUE carnets per call);
- export: `mediateur-hub export-replica` as a process (its time and its peak RSS, which
  streaming keeps under the same goal as the pull's);
- full pull: one site pages GET /v1/replica/changes from 0 (pages /2 of DEFAULT_PAGE_LIMIT
  changes, as `mediateur-tui sync` asks) from a real
  `mediateur-hub serve`, the hub's RSS sampled every 20 ms while it streams;
- intake: --sites sites × --lines lines, one signed pn-batch/1 each (`receive_batch` in process
  on SQLite; POST /v1/batches gzip'd by 4 clients to `serve --workers 4` on PostgreSQL), beside
  its floor: the same rows (lines, used passes, changes) written with the driver alone, one
  transaction per batch (sqlite3 executemany; psycopg COPY).

With --declared-first, every batch's lines are declared before the timed intake, as sites do
each day: one signed pn-declaration/1 per site and day of its lines (`receive_declaration` in
process on SQLite; POST /v1/declarations on PostgreSQL, like the batches), timed as its own
figure; the batches then adopt those declared lines (hub.intake), which the bench checks after
the intake (every declared line in a batch).

PostgreSQL is a throwaway cluster (tests/hub/postgres.py: initdb in a temp dir, 127.0.0.1,
fsync off). It prints figures beside their goals; it asserts nothing on time.

    .venv/bin/python bench/bench_hub_region.py                      # 10M passes, 5,000 × 200
    .venv/bin/python bench/bench_hub_region.py --passes 200000 --sites 500
    .venv/bin/python bench/bench_hub_region.py --backend sqlite
    .venv/bin/python bench/bench_hub_region.py --backend sqlite --declared-first
"""

from __future__ import annotations

import argparse
import os
import random
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import date
from pathlib import Path
from typing import Any

import httpx
from bench_hub_intake import PROGRAMME, REGION_ID, Site, _batches, _enrol, wait_until_healthy
from sqlalchemy import create_engine, func, select, update
from sqlmodel import col

from mediateur_tui.hub.changes import encode_change, used_change
from mediateur_tui.hub.database import (
    SQLITE_WRITE_PRAGMAS,
    Hub,
    HubSettings,
    read_session,
    write_session,
)
from mediateur_tui.hub.declarations import receive_declaration
from mediateur_tui.hub.intake import receive_batch
from mediateur_tui.hub.models import HubCarnet, HubDeclaredLine, hub_registry
from mediateur_tui.hub.registry import MAX_CARNETS_PER_ISSUE, ProgrammeSpec, init_region, issue
from mediateur_tui.hub.replica import DEFAULT_PAGE_LIMIT
from mediateur_tui.protocol.documents import dump_gzip_json, load_json
from mediateur_tui.protocol.formats import (
    ACK,
    DECLARATION_ANSWER,
    REPLICA_PAGE,
    REPLICA_PAGE_COMPACT,
)

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from tests.hub.helpers import make_declaration
from tests.hub.postgres import find_bin_dir, start_cluster

INTAKE_SQLITE_GOAL = 10_000
INTAKE_POSTGRES_GOAL = 8_000
RSS_GOAL_MB = 300
SAMPLE_SECONDS = 0.02  # how often the RSS of the hub's processes is read
HTTP_WORKERS = 4
CARNET = 10
MB = 1024 * 1024


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--passes", type=int, default=10_000_000)
    parser.add_argument("--sites", type=int, default=5_000)
    parser.add_argument("--lines", type=int, default=200, help="lines per site's batch")
    parser.add_argument("--backend", choices=["both", "sqlite", "postgresql"], default="both")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument(
        "--declared-first",
        action="store_true",
        help="declare every batch's lines (one declaration a site a day) before the intake",
    )
    args = parser.parse_args(argv)
    if args.sites * args.lines > args.passes:
        parser.error("--sites × --lines must not exceed --passes")
    print(f"load      {Path('/proc/loadavg').read_text().strip()} ({os.cpu_count()} CPU)")
    print(f"region    {args.passes:,} passes, {args.sites:,} sites × {args.lines} lines")
    if args.backend in ("both", "sqlite"):
        _backend(args, postgres=False)
    if args.backend in ("both", "postgresql"):
        _backend(args, postgres=True)
    print(f"load      {Path('/proc/loadavg').read_text().strip()}")
    return 0


def _backend(args: argparse.Namespace, postgres: bool) -> None:
    folder = Path(tempfile.mkdtemp(prefix="bench-region-"))
    cluster = None
    try:
        if postgres:
            bin_dir = find_bin_dir()
            if bin_dir is None:
                print("postgresql  skipped: no PostgreSQL server programs (initdb, pg_ctl)")
                return
            cluster = start_cluster(bin_dir)
            url, floor_url = cluster.new_database(), cluster.new_database()
        else:
            url = f"sqlite:///{folder / 'hub.sqlite3'}"
            floor_url = f"sqlite:///{folder / 'floor.sqlite3'}"
        print(f"\n== {'PostgreSQL, over HTTP, 4 workers' if postgres else 'SQLite, in process'}")
        hub, codes = _issue_region(folder, url, args.passes)
        sites = [_enrol(hub, f"SITE-{n:04d}", f"Site {n}") for n in range(args.sites)]
        batches = _batches(sites, codes, args.lines, random.Random(args.seed))
        declarations = _declarations(sites, batches) if args.declared_first else []
        del codes
        hub.engine.dispose()
        _export(folder, url if postgres else None)
        workers = HTTP_WORKERS if postgres else 1
        with _Server(folder, url if postgres else None, workers) as server:
            _pull(server, sites[0])  # before the declarations: their changes are not pulled
            if postgres:
                if declarations:
                    declared = _post_all(server, sites, declarations, DECLARATIONS_ROUTE)
                    _print_declared(*declared, len(declarations))
                elapsed, lines = _post_all(server, sites, batches, BATCHES_ROUTE)
        if not postgres:
            if declarations:
                declared = _declare_in_process(hub, declarations)
                _print_declared(*declared, len(declarations))
            started = time.perf_counter()
            lines = sum(len(receive_batch(hub, b, b["site_id"]).ack["lines"]) for b in batches)
            elapsed = time.perf_counter() - started
            hub.engine.dispose()
        floor = _floor(floor_url, batches)
        rate, floor_rate = lines / elapsed, lines / floor
        goal = INTAKE_POSTGRES_GOAL if postgres else INTAKE_SQLITE_GOAL
        print(
            f"intake    {lines:,} lines in {elapsed:.1f} s: {rate:,.0f} lines/s; floor (driver "
            f"alone) {floor_rate:,.0f} lines/s, ratio {floor_rate / rate:.2f}×; goal ≥ {goal:,}"
            f" lines/s {'met' if rate >= goal else 'NOT met'}"
        )
        if declarations:
            _check_adopted(hub, declared[1])
    finally:
        if cluster is not None:
            cluster.stop()
        shutil.rmtree(folder, ignore_errors=True)


def _issue_region(folder: Path, url: str, passes: int) -> tuple[Hub, list[str]]:
    hub = init_region(HubSettings(folder, url), REGION_ID)
    spec = ProgrammeSpec(id=PROGRAMME, valid_from=date(2026, 1, 1), valid_until=date(2026, 12, 31))
    codes: list[str] = []
    started = time.perf_counter()
    carnets = -(-passes // CARNET)
    while carnets > 0:
        count = min(carnets, MAX_CARNETS_PER_ISSUE)
        issued = issue(hub, spec, carnets=count, size=CARNET)
        codes += [code for carnet in issued.carnets for code in carnet.codes]
        carnets -= count
    elapsed = time.perf_counter() - started
    with write_session(hub.engine) as session:  # bulk attribution: not what is measured
        session.execute(update(HubCarnet).values(attributed_on=date(2026, 2, 1)))
    print(f"issue     {len(codes):,} passes in {elapsed:.1f} s ({len(codes) / elapsed:,.0f}/s)")
    return hub, codes


def _export(folder: Path, db: str | None) -> None:
    """Times `export-replica` and samples its VmHWM from /proc every 20 ms until it exits
    (its ru_maxrss would count the bench's own pages, which the child has before its exec)."""
    command = [*_program(), "--dir", str(folder), *(["--db", db] if db else [])]
    command += ["export-replica", str(folder / "replica.json.gz")]
    started = time.perf_counter()
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL)
    peak_kib = 0
    while process.poll() is None:
        peak_kib = max(peak_kib, _status_kib(process.pid, "VmHWM:"))
        time.sleep(SAMPLE_SECONDS)  # a sampling period, not a synchronisation
    elapsed = time.perf_counter() - started
    if process.returncode != 0:
        raise SystemExit(f"export-replica failed ({process.returncode})")
    size = (folder / "replica.json.gz").stat().st_size
    peak = peak_kib / 1024
    met = "met" if peak <= RSS_GOAL_MB else "NOT met"
    print(
        f"export    {elapsed:.1f} s, {size / MB:,.1f} MB gzip'd, peak RSS of the process "
        f"{peak:,.0f} MB (streamed: goal ≤ {RSS_GOAL_MB} MB {met})"
    )


class _Server:
    """A real `mediateur-hub serve --workers N` on a free port, and the RSS of its processes."""

    def __init__(self, folder: Path, db: str | None, workers: int) -> None:
        command = [*_program(), "--dir", str(folder), *(["--db", db] if db else [])]
        command += ["serve", "--port", str(_free_port()), "--workers", str(workers)]
        self.port = int(command[command.index("--port") + 1])
        self.base = f"http://127.0.0.1:{self.port}"
        self.log = (folder / "serve.log").open("wb")
        self.process = subprocess.Popen(command, stdout=self.log, stderr=subprocess.STDOUT)

    def __enter__(self) -> _Server:
        wait_until_healthy(self.base, self.process)
        return self

    def __exit__(self, *_exc: object) -> None:
        self.process.terminate()
        try:
            self.process.wait(timeout=60)
        except subprocess.TimeoutExpired:
            self.process.kill()
        self.log.close()

    def rss_mb(self) -> tuple[float, float]:
        """(largest process, all processes) RSS of the server and its workers, in MB."""
        sizes = [_status_kib(pid) for pid in [self.process.pid, *_children(self.process.pid)]]
        return max(sizes) / 1024, sum(sizes) / 1024


def _pull(server: _Server, site: Site) -> None:
    peaks = [0.0, 0.0]
    streaming = threading.Event()
    streaming.set()

    def sample() -> None:
        while streaming.is_set():
            largest, total = server.rss_mb()
            peaks[0], peaks[1] = max(peaks[0], largest), max(peaks[1], total)
            time.sleep(SAMPLE_SECONDS)  # a sampling period, not a synchronisation

    sampler = threading.Thread(target=sample)
    since, changes, wire = 0, 0, 0
    headers = {"Authorization": f"Bearer {site.api_key}", "Accept-Encoding": "gzip"}
    with httpx.Client(base_url=server.base, headers=headers, timeout=600) as client:
        sampler.start()
        started = time.perf_counter()
        try:
            while True:
                response = client.get(
                    "/v1/replica/changes",
                    params={"since": since, "limit": DEFAULT_PAGE_LIMIT, "format": 2},
                )
                response.raise_for_status()
                wire += int(response.headers.get("content-length", len(response.content)))
                page = load_json(response.content, REPLICA_PAGE_COMPACT, also=(REPLICA_PAGE,))
                changes += len(page["changes"])
                since = page["until"]
                if not page["more"]:
                    break
            elapsed = time.perf_counter() - started
        finally:
            streaming.clear()
            sampler.join()
    print(
        f"pull      {changes:,} changes in {elapsed:.1f} s, {wire / MB:,.1f} MB on the wire "
        f"(measured; no goal)"
    )
    print(
        f"hub RSS   while streaming: {peaks[0]:,.0f} MB in its largest process "
        f"({peaks[1]:,.0f} MB all processes); goal ≤ {RSS_GOAL_MB} MB "
        f"{'met' if peaks[0] <= RSS_GOAL_MB else 'NOT met'}"
    )


def _declarations(sites: list[Site], batches: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Every batch's lines (the same redemptions and session) as its site declares them: one
    pn-declaration/1 per site and day of `redeemed_at`, declared that evening, day by day."""
    by_id = {site.id: site for site in sites}
    days: dict[str, list[dict[str, Any]]] = {}
    for batch in batches:
        site = by_id[batch["site_id"]]
        lines: dict[str, list[dict[str, Any]]] = {}
        for item in batch["redemptions"]:
            lines.setdefault(item["redeemed_at"][:10], []).append(item)
        for day, items in lines.items():
            declaration = make_declaration(site, items, declared_at=f"{day}T18:00:00Z")
            days.setdefault(day, []).append(declaration)
    return [declaration for day in sorted(days) for declaration in days[day]]


def _declare_in_process(hub: Hub, declarations: list[dict[str, Any]]) -> tuple[float, int]:
    started = time.perf_counter()
    lines = sum(len(receive_declaration(hub, d, d["site_id"])["lines"]) for d in declarations)
    return time.perf_counter() - started, lines


def _print_declared(elapsed: float, lines: int, documents: int) -> None:
    print(
        f"declare   {lines:,} lines in {documents:,} declarations (a site's day each) in "
        f"{elapsed:.1f} s: {lines / elapsed:,.0f} lines/s (measured; no goal)"
    )


def _check_adopted(hub: Hub, declared: int) -> None:
    """Every declared line now belongs to a batch: the intake took the adoption path."""
    count = select(func.count()).select_from(HubDeclaredLine)
    with read_session(hub.engine) as session:
        stored = session.scalar(count)
        outside = session.scalar(count.where(col(HubDeclaredLine.batch_id).is_(None)))
    hub.engine.dispose()
    if stored != declared or outside != 0:
        raise SystemExit(f"{declared:,} lines declared, {stored:,} stored, {outside:,} not adopted")
    print(f"adopted   {stored:,} declared lines, every one now in its batch")


BATCHES_ROUTE = ("/v1/batches", ACK)
DECLARATIONS_ROUTE = ("/v1/declarations", DECLARATION_ANSWER)


def _post_all(
    server: _Server, sites: list[Site], documents: list[dict[str, Any]], route: tuple[str, str]
) -> tuple[float, int]:
    """Posts every document gzip'd to `route` (its path, its answer's format) from 4 clients;
    (seconds, lines answered)."""
    path, answer = route
    keys = {site.id: site.api_key for site in sites}
    bodies = [(keys[d["site_id"]], dump_gzip_json(d)) for d in documents]
    local = threading.local()

    def post(item: tuple[str, bytes]) -> int:
        if not hasattr(local, "client"):
            local.client = httpx.Client(base_url=server.base, timeout=600)
        response = local.client.post(
            path,
            content=item[1],
            headers={
                "Authorization": f"Bearer {item[0]}",
                "Content-Type": "application/json",
                "Content-Encoding": "gzip",
                "Accept-Encoding": "gzip",
            },
        )
        response.raise_for_status()
        return len(load_json(response.content, answer)["lines"])

    started = time.perf_counter()
    with ThreadPoolExecutor(max_workers=HTTP_WORKERS) as pool:
        lines = sum(pool.map(post, bodies))
    return time.perf_counter() - started, lines


def _floor(url: str, batches: list[dict[str, Any]]) -> float:
    """Seconds to write the intake's rows with the driver alone, one transaction a batch."""
    engine = create_engine(url)
    hub_registry.metadata.create_all(engine)
    engine.dispose()
    taken: set[str] = set()
    rows = [_rows(batch, taken) for batch in batches]
    if url.startswith("sqlite"):
        import sqlite3

        connection = sqlite3.connect(url.removeprefix("sqlite:///"))
        for pragma in SQLITE_WRITE_PRAGMAS:  # the hub's durability and checkpoints
            connection.execute(pragma)
        started = time.perf_counter()
        for lines, used, changes in rows:
            connection.executemany(_insert("hub_line", _LINE_COLUMNS), lines)
            connection.executemany(_insert("hub_used_pass", _USED_COLUMNS), used)
            connection.executemany(_insert("hub_change", "kind, body, at"), changes)
            connection.commit()
        elapsed = time.perf_counter() - started
        connection.close()
        return elapsed
    import psycopg

    with psycopg.connect(url.replace("postgresql+psycopg", "postgresql")) as connection:
        # No batch or site rows here: the floor's rows skip the foreign keys' triggers.
        connection.execute("SET session_replication_role = replica")
        started = time.perf_counter()
        for lines, used, changes in rows:
            with connection.cursor() as cursor:
                for copy_sql, data in (
                    (f"COPY hub_line ({_LINE_COLUMNS}) FROM STDIN", lines),
                    (f"COPY hub_used_pass ({_USED_COLUMNS}) FROM STDIN", used),
                    ("COPY hub_change (kind, body, at) FROM STDIN", changes),
                ):
                    with cursor.copy(copy_sql) as copy:
                        for row in data:
                            copy.write_row(row)
            connection.commit()
        return time.perf_counter() - started


_LINE_COLUMNS = (
    "batch_id, line_index, redemption_id, first_redemption_id, replay_of_batch_id, site_id, "
    "code, redeemed_at, value_cents, verdict, reason, winner_site_id, winner_redeemed_at"
)
_USED_COLUMNS = "code, redemption_id, batch_id, declaration_id, site_id, redeemed_at"


def _rows(batch: dict[str, Any], taken: set[str]) -> tuple[list[tuple], list[tuple], list[tuple]]:
    """The rows an intake of `batch` writes: every line, and a used pass and its change for
    each code not `taken` yet (the floor's work)."""
    at = "2026-12-01 08:00:00.000000"
    batch_id, site = batch["batch_id"], batch["site_id"]
    lines, used, changes = [], [], []
    for index, item in enumerate(batch["redemptions"]):
        redeemed = item["redeemed_at"].replace("T", " ").replace("Z", ".000000")
        lines.append(
            (batch_id, index, item["id"], item["id"], None, site, item["code"], redeemed,
             item["value_cents"], "accepted", None, None, None)
        )  # fmt: skip
        if item["code"] in taken:
            continue
        taken.add(item["code"])
        used.append((item["code"], item["id"], batch_id, None, site, redeemed))
        change = used_change(item["code"], site, date.fromisoformat(item["redeemed_at"][:10]))
        changes.append(("used", encode_change(change), at))
    return lines, used, changes


def _insert(table: str, columns: str) -> str:
    marks = ", ".join("?" for _ in columns.split(","))
    return f"INSERT INTO {table} ({columns}) VALUES ({marks})"


def _status_kib(pid: int, field: str = "VmRSS:") -> int:
    """A size (KiB) from /proc/PID/status: VmRSS (now) or VmHWM (its peak); 0 once gone."""
    try:
        with open(f"/proc/{pid}/status", encoding="ascii") as status:
            for line in status:
                if line.startswith(field):
                    return int(line.split()[1])
    except (FileNotFoundError, ProcessLookupError):
        pass
    return 0


def _children(pid: int) -> list[int]:
    found = []
    for task in Path(f"/proc/{pid}/task").glob("*/children"):
        found += [int(child) for child in task.read_text().split()]
    return found


def _program() -> list[str]:
    script = Path(sys.executable).with_name("mediateur-hub")
    return [str(script)] if script.exists() else [sys.executable, "-m", "mediateur_tui.hub.cli"]


def _free_port() -> int:
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


if __name__ == "__main__":
    sys.exit(main())
