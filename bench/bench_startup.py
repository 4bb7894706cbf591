"""Start-up time: from process start to the log-in screen being shown.

Three figures, each over --runs fresh processes (median and min):
  1. `python -c "pass"`                       the interpreter alone (the floor);
  2. `python -c "import mediateur_tui.ui.app"`   interpreter + every import of the app (+ the
     interpreter's shutdown; the "no teardown" line ends with os._exit(0) to leave it out);
  3. process start -> LoginScreen mounted       a child process imports the app, opens the
     database (open_database: pragmas + migration check) and runs MediateurApp headless
     (App.run_test()) until the LoginScreen and its PIN field are mounted. The child reports
     its own breakdown (imports, open_database, mount).

Headless run_test() does not draw on a real terminal, so a real terminal adds its first paint;
everything else (imports, database, compose and mount of the screen) is the same.

    .venv/bin/python bench/bench_startup.py                       # 2,000-pass demo in a temp dir
    .venv/bin/python bench/bench_startup.py --data-dir bench/out  # the 1,000,000-pass replica
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

DATABASE_FILENAME = "mediateur.sqlite3"  # = mediateur_tui.store.engine.DATABASE_FILENAME


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument(
        "--data-dir", type=Path, help="existing data directory (default: a new 2,000-pass demo)"
    )
    parser.add_argument("--child", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        return _child(args.child)

    with tempfile.TemporaryDirectory(prefix="bench-startup-") as temporary:
        data_dir = args.data_dir or _build_demo(Path(temporary))
        print(f"python        {sys.executable} ({sys.version.split()[0]})")
        print(f"data dir      {data_dir}")
        print(f"runs          {args.runs} fresh processes each\n")
        _report("python -c pass", [_run([sys.executable, "-c", "pass"]) for _ in range(args.runs)])
        for label, code in (
            ("import app", "import mediateur_tui.ui.app"),
            ("  no teardown", "import os, mediateur_tui.ui.app; os._exit(0)"),
        ):
            _report(label, [_run([sys.executable, "-c", code]) for _ in range(args.runs)])
        totals, parts = [], []
        for _ in range(args.runs):
            started = time.time()
            output = subprocess.run(
                [sys.executable, __file__, "--child", str(data_dir)],
                check=True,
                capture_output=True,
                text=True,
            ).stdout
            report = json.loads(output.strip().splitlines()[-1])
            totals.append(report["login_shown_at"] - started)
            parts.append(report)
        _report("to login", totals)
        for key, label in (
            ("imports", "imports"),
            ("open_database", "open_database"),
            ("mount", "app to login"),
        ):
            _report(f"  {label}", [part[key] for part in parts])
    return 0


def _build_demo(folder: Path) -> Path:
    from datetime import UTC, datetime

    from mediateur_tui.services.demo import build_demo
    from mediateur_tui.store.engine import open_database

    data_dir = folder / "demo"
    engine = open_database(data_dir / DATABASE_FILENAME)
    build_demo(engine, data_dir, datetime.now(UTC))
    engine.dispose()
    return data_dir


def _run(command: list[str]) -> float:
    started = time.perf_counter()
    subprocess.run(command, check=True)
    return time.perf_counter() - started


def _report(label: str, seconds: list[float]) -> None:
    print(
        f"{label:<16} median {statistics.median(seconds) * 1000:7.1f} ms   "
        f"min {min(seconds) * 1000:7.1f} ms   max {max(seconds) * 1000:7.1f} ms"
    )


def _child(data_dir: Path) -> int:
    """Runs in a fresh process: imports, opens the database, mounts the log-in screen."""
    import asyncio

    started = time.perf_counter()
    from mediateur_tui.services.demo import DEMO_OPERATORS
    from mediateur_tui.services.site import open_site
    from mediateur_tui.ui.app import MediateurApp
    from mediateur_tui.ui.screens.login import LoginScreen

    imported = time.perf_counter()
    site = open_site(data_dir)
    opened = time.perf_counter()
    app = MediateurApp(site, demo_pins=[(name, pin) for name, pin, _ in DEMO_OPERATORS])

    async def until_login() -> tuple[float, float]:
        async with app.run_test() as pilot:
            while not (isinstance(app.screen, LoginScreen) and app.screen.query("#pin")):
                await pilot.pause()
            shown = time.time(), time.perf_counter()
            app.exit()
            return shown

    shown_at, mounted = asyncio.run(until_login())
    site.close()
    print(
        json.dumps(
            {
                "login_shown_at": shown_at,
                "imports": imported - started,
                "open_database": opened - imported,
                "mount": mounted - opened,
            }
        )
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
