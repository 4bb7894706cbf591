"""Check and redemption latency on a large replica (1,000,000 passes by default).

Builds the demo region at full size in a directory (bench/out/ by default, gitignored), or
reuses it with --reuse, then times `Desk.check()` on random known codes, unknown codes and QR
payloads, and `Desk.redeem()` on fresh passes. It prints figures; it asserts nothing on time.

    .venv/bin/python bench/bench_check.py            # build (about 30 s) and measure
    .venv/bin/python bench/bench_check.py --reuse    # measure on the replica built before
"""

from __future__ import annotations

import argparse
import os
import platform
import random
import sqlite3
import statistics
import sys
import time
from contextlib import closing
from datetime import date
from pathlib import Path

from mediateur_tui.domain.clock import fixed_clock, system_clock
from mediateur_tui.domain.codes import ALPHABET, DATA_LENGTH, make_code
from mediateur_tui.domain.scan_input import build_payload, parse_scan, signed_message
from mediateur_tui.domain.signatures import sign
from mediateur_tui.services.auth import list_operators
from mediateur_tui.services.demo import DEMO_OPERATORS, build_demo, demo_region_key
from mediateur_tui.services.desk import Desk
from mediateur_tui.store.engine import open_database
from mediateur_tui.store.scan_lookup import SCAN_STATEMENT
from mediateur_tui.store.sqlite_file import DATABASE_FILENAME

DEFAULT_OUT = Path(__file__).resolve().parent / "out"
CATEGORY_PASSES = 80  # the demo's first 16 carnets hold the special categories (revoked…)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT, help="replica directory")
    parser.add_argument("--passes", type=int, default=1_000_000)
    parser.add_argument("--reuse", action="store_true", help="reuse the replica in --out")
    parser.add_argument("--checks", type=int, default=2_000, help="Desk.check() calls")
    parser.add_argument("--redeems", type=int, default=200, help="Desk.redeem() calls")
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args(argv)
    rng = random.Random(args.seed)
    path = args.out / DATABASE_FILENAME

    print(
        f"machine       {platform.python_implementation()} {platform.python_version()}, "
        f"SQLite {sqlite3.sqlite_version}, {os.cpu_count()} CPU, {platform.machine()}"
    )
    build_seconds = None
    if args.reuse and _pass_count(path) == args.passes:
        print(f"replica       reusing {path}")
    else:
        if args.reuse:
            print(f"replica       {path} missing or not {args.passes:,} passes: building")
        build_seconds = _build(path, args.passes)

    started = time.perf_counter()
    engine = open_database(path)
    open_seconds = time.perf_counter() - started
    now = _built_at(path)
    desk = Desk(engine, clock=fixed_clock(now))
    print(f"database      {path}")
    print(f"  passes      {_pass_count(path):,}")
    print(f"  size        {_size_mb(path)}")
    if build_seconds is not None:
        print(f"  build time  {build_seconds:.1f} s (demo builder, {args.passes:,} passes)")
    print(f"  open        {open_seconds * 1000:.1f} ms (open_database: engine + migrations check)")

    inputs = _check_inputs(path, rng, args.checks)
    started = time.perf_counter()
    desk.check(inputs[0][1])
    cold_ms = (time.perf_counter() - started) * 1000
    timings: dict[str, list[float]] = {kind: [] for kind in ("known", "unknown", "qr")}
    verdicts: dict[str, dict[str, int]] = {kind: {} for kind in timings}
    for kind, text in inputs:
        started = time.perf_counter()
        result = desk.check(text)
        timings[kind].append((time.perf_counter() - started) * 1000)
        counts = verdicts[kind]
        counts[result.verdict.value] = counts.get(result.verdict.value, 0) + 1
    print(f"\nDesk.check()  {len(inputs):,} calls, shuffled; first (cold) call {cold_ms:.2f} ms")
    for kind, values in timings.items():
        print(_line(f"  {kind}", values) + "   " + _verdict_counts(verdicts[kind]))
    print(_line("  all", [v for values in timings.values() for v in values]))
    _print_floors(
        path,
        [parse_scan(text).code or "" for kind, text in inputs if kind == "known"],
        timings["known"],
    )

    operator = next(o for o in list_operators(engine) if o.name == DEMO_OPERATORS[0][0])
    session_id = desk.start_session(operator.id, "Banc d'essai", "collectif", "", 120).id
    codes = _fresh_codes(path, rng, args.redeems)
    redeem_ms: list[float] = []
    redeemed = 0
    for code in codes:
        started = time.perf_counter()
        result = desk.redeem(session_id, operator.id, code)
        redeem_ms.append((time.perf_counter() - started) * 1000)
        redeemed += result.redeemable
    desk.end_session(session_id)
    print(f"\nDesk.redeem() {len(codes)} fresh passes, one transaction each (synchronous=FULL)")
    print(_line("  redeem", redeem_ms) + f"   {redeemed} redeemed")
    if redeemed != len(codes):
        print(f"  WARNING: {len(codes) - redeemed} passes were not redeemable", file=sys.stderr)
    print(f"\nsize after    {_size_mb(path)}")
    engine.dispose()
    return 0


def _build(path: Path, passes: int) -> float:
    for suffix in ("", "-wal", "-shm"):
        Path(f"{path}{suffix}").unlink(missing_ok=True)
    print(f"replica       building {passes:,} passes in {path.parent} …", flush=True)
    started = time.perf_counter()
    engine = open_database(path)
    build_demo(engine, path.parent, system_clock(), passes=passes)
    engine.dispose()
    return time.perf_counter() - started


def _print_floors(path: Path, codes: list[str], known_ms: list[float]) -> None:
    """The floors of a known code's check, measured now on a raw sqlite3 connection: the
    scan path's one statement alone, and one primary-key SELECT."""
    with closing(_connect(path)) as raw:
        statement: list[float] = []
        primary_key: list[float] = []
        for code in codes:
            started = time.perf_counter()
            raw.execute(SCAN_STATEMENT, {"code": code, "refused": "refused"}).fetchone()
            statement.append((time.perf_counter() - started) * 1000)
            started = time.perf_counter()
            raw.execute("SELECT carnet_id FROM pass WHERE code = ?", (code,)).fetchone()
            primary_key.append((time.perf_counter() - started) * 1000)
    ours = statistics.median(known_ms)
    print("  floors for a known code, raw sqlite3 in this process (p50):")
    for name, values in (
        ("the same statement", statement),
        ("one primary-key SELECT", primary_key),
    ):
        floor = statistics.median(values)
        print(f"    {name:<24} {floor:.3f} ms   Desk.check ratio {ours / floor:.1f}×")


def _connect(path: Path) -> sqlite3.Connection:
    return sqlite3.connect(f"file:{path}?mode=ro", uri=True)


def _pass_count(path: Path) -> int | None:
    if not path.exists():
        return None
    connection = _connect(path)
    try:
        row = connection.execute("SELECT pass_count FROM replica_meta WHERE id = 1").fetchone()
        return row[0] if row else None
    except sqlite3.Error:
        return None
    finally:
        connection.close()


def _built_at(path: Path):
    """The demo's clock: its categories (valid, grace, expired…) are relative to that day."""
    from sqlmodel import Session

    from mediateur_tui.store.engine import make_engine
    from mediateur_tui.store.queries import replica_meta

    engine = make_engine(path)
    try:
        with Session(engine) as session:
            return replica_meta(session).updated_at
    finally:
        engine.dispose()


def _check_inputs(path: Path, rng: random.Random, count: int) -> list[tuple[str, str]]:
    """Known bare codes, unknown (well-formed) codes and signed QR payloads, a third each."""
    connection = _connect(path)
    try:
        max_rowid = connection.execute("SELECT max(rowid) FROM pass").fetchone()[0]
        until = {
            programme: date.fromisoformat(valid_until)
            for programme, valid_until in connection.execute(
                "SELECT id, valid_until FROM programme"
            )
        }

        def known() -> tuple[str, str]:
            while True:
                row = connection.execute(
                    "SELECT code, programme_id FROM pass WHERE rowid = ?",
                    (rng.randint(1, max_rowid),),
                ).fetchone()
                if row:
                    return row

        key = demo_region_key()
        inputs = []
        for index in range(count):
            kind = ("known", "unknown", "qr")[index % 3]
            if kind == "known":
                inputs.append((kind, known()[0]))
            elif kind == "qr":
                code, programme = known()
                message = signed_message(programme, code, until[programme])
                inputs.append(
                    (kind, build_payload(programme, code, until[programme], sign(key, message)))
                )
            else:
                while True:
                    data = "".join(rng.choice(ALPHABET) for _ in range(DATA_LENGTH))
                    code = make_code(data)
                    if not connection.execute(
                        "SELECT 1 FROM pass WHERE code = ?", (code,)
                    ).fetchone():
                        break
                inputs.append((kind, code))
    finally:
        connection.close()
    rng.shuffle(inputs)
    return inputs


def _fresh_codes(path: Path, rng: random.Random, count: int) -> list[str]:
    """Random ordinary passes (valid) that no earlier run has redeemed."""
    connection = _connect(path)
    try:
        max_rowid = connection.execute("SELECT max(rowid) FROM pass").fetchone()[0]
        codes: set[str] = set()
        while len(codes) < count:
            row = connection.execute(
                "SELECT code FROM pass WHERE rowid = ? AND code NOT IN "
                "(SELECT code FROM redemption WHERE cancelled_at IS NULL)",
                (rng.randint(CATEGORY_PASSES + 1, max_rowid),),
            ).fetchone()
            if row:
                codes.add(row[0])
    finally:
        connection.close()
    ordered = sorted(codes)
    rng.shuffle(ordered)
    return ordered


def _percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(fraction * (len(ordered) - 1)))]


def _line(label: str, values: list[float]) -> str:
    return (
        f"{label:<9} n={len(values):<5} p50 {statistics.median(values):6.2f} ms  "
        f"p95 {_percentile(values, 0.95):6.2f} ms  p99 {_percentile(values, 0.99):6.2f} ms  "
        f"max {max(values):6.2f} ms"
    )


def _verdict_counts(counts: dict[str, int]) -> str:
    return ", ".join(f"{verdict} {n}" for verdict, n in sorted(counts.items()))


def _size_mb(path: Path) -> str:
    wal = Path(f"{path}-wal")
    main_mb = path.stat().st_size / 1e6
    wal_mb = wal.stat().st_size / 1e6 if wal.exists() else 0.0
    return f"{main_mb:.1f} MB (+ WAL {wal_mb:.1f} MB)"


if __name__ == "__main__":
    raise SystemExit(main())
