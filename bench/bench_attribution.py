"""The distributor's desk on a large replica (1,000,000 passes by default): how long deciding
a request, checking a carnet and recording a hand-out take.

Uses the demo region built by bench_check.py in bench/out/ (built here when missing, or when
it predates the distributor's desk), on a copy in a temporary directory, so that the hand-outs
it records leave the shared replica as it was. It prints figures; it asserts nothing on time.

    .venv/bin/python bench/bench_attribution.py            # build if needed, then measure
"""

from __future__ import annotations

import argparse
import random
import shutil
import statistics
import tempfile
import time
from datetime import date, timedelta
from pathlib import Path

from bench_check import DEFAULT_OUT, _build, _built_at, _pass_count
from sqlmodel import Session, select

from mediateur_tui.domain.beneficiaries import Identity
from mediateur_tui.domain.clock import fixed_clock
from mediateur_tui.services.attribution import AttributionDesk, RequestForm
from mediateur_tui.services.auth import list_operators
from mediateur_tui.services.demo import DEMO_BENEFICIARY, STOCK_CARNETS
from mediateur_tui.store.engine import open_database
from mediateur_tui.store.keys import BENEFICIARY_KEY_FILENAME
from mediateur_tui.store.models import Carnet
from mediateur_tui.store.sqlite_file import DATABASE_FILENAME


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT, help="replica directory")
    parser.add_argument("--passes", type=int, default=1_000_000)
    parser.add_argument("--requests", type=int, default=1_000, help="assess() calls")
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args(argv)
    rng = random.Random(args.seed)
    source = args.out / DATABASE_FILENAME
    if _pass_count(source) != args.passes or not (args.out / BENEFICIARY_KEY_FILENAME).exists():
        _build(source, args.passes)
    with tempfile.TemporaryDirectory() as folder:
        data_dir = Path(folder)
        for name in (DATABASE_FILENAME, BENEFICIARY_KEY_FILENAME):
            shutil.copyfile(args.out / name, data_dir / name)
        print(f"database      copy of {source} ({_pass_count(source):,} passes)")
        _measure(data_dir, args, rng)
    return 0


def _measure(data_dir: Path, args: argparse.Namespace, rng: random.Random) -> None:
    path = data_dir / DATABASE_FILENAME
    engine = open_database(path)
    desk = AttributionDesk(engine, data_dir, fixed_clock(_built_at(path)))
    today = desk.today()

    forms = [_request(_stranger(rng), today) for _ in range(args.requests)]
    forms[:: max(1, args.requests // 10)] = [
        _request(DEMO_BENEFICIARY, today) for _ in forms[:: max(1, args.requests // 10)]
    ]
    assess_ms, eligible = [], 0
    for form in forms:
        started = time.perf_counter()
        assessment = desk.assess(form)
        assess_ms.append((time.perf_counter() - started) * 1000)
        eligible += assessment.decision.eligible
    print(f"\nassess()      {len(forms):,} requests (HMAC reference, count, decision)")
    print(_line("  assess", assess_ms) + f"   {eligible} eligible")

    stock = _stock(engine)
    scan_ms = []
    for _ in range(200):
        carnet = rng.choice(stock)
        started = time.perf_counter()
        desk.identify_carnet(carnet, (5, 10))
        scan_ms.append((time.perf_counter() - started) * 1000)
    print("\nidentify_carnet() 200 scans of stock carnets (replica, revocations, redemptions)")
    print(_line("  identify", scan_ms))

    operator = next(op.id for op in list_operators(engine) if op.role == "distributeur")
    record_ms = []
    for carnet, size in zip(stock, STOCK_CARNETS, strict=True):
        assessment = desk.assess(_request(_stranger(rng), today, accompanied=size == 10))
        started = time.perf_counter()
        desk.record(assessment, [carnet], operator)
        record_ms.append((time.perf_counter() - started) * 1000)
    print(f"\nrecord()      {len(record_ms)} hand-outs, one transaction each (synchronous=FULL)")
    print(_line("  record", record_ms))
    engine.dispose()


def _stranger(rng: random.Random) -> Identity:
    born = date(1940, 1, 1) + timedelta(days=rng.randrange(365 * 20))
    return Identity(f"Nom{rng.randrange(10**9)}", f"Prénom{rng.randrange(10**6)}", born)


def _request(identity: Identity, today: date, accompanied: bool = False) -> RequestForm:
    return RequestForm(
        identity=identity,
        received_on=today,
        category="senior",
        postcode="59000",
        accompanied=accompanied,
        proofs=frozenset({"residence", "age_proof"}),
        proof_dates={},
    )


def _stock(engine) -> list[str]:
    with Session(engine) as session:
        rows = session.exec(
            select(Carnet.id).where(Carnet.attributed_on.is_(None)).order_by(Carnet.id)
        ).all()
    return list(rows)[-len(STOCK_CARNETS) :]


def _line(label: str, values: list[float]) -> str:
    ordered = sorted(values)

    def at(fraction: float) -> float:
        return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))]

    return (
        f"{label:<12} p50 {statistics.median(ordered):6.2f} ms   p95 {at(0.95):6.2f} ms   "
        f"max {ordered[-1]:6.2f} ms"
    )


if __name__ == "__main__":
    raise SystemExit(main())
