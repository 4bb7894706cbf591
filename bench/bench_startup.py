"""Start-up: the app to its log-in screen, and `mediateur-tui check CODE` as a process, each
beside its floor measured in the same run, with the goal of each.

Each figure is timed over --runs fresh processes, figure and floor taken in turn so that the
machine's load weighs on both alike. For each process: the CPU time it used (user + system,
`resource.getrusage(RUSAGE_CHILDREN)` around its run) and its wall time (start to exit).

  1. start -> log-in screen: a child imports the app, opens the site (open_site_for_app:
     file and schema checked on a raw connection, no ORM), freezes the collector's
     generations (gc.freeze(), as the app's command does) and runs MediateurApp headless
     (App.run_test()) until the LoginScreen and its PIN field are mounted (looked at every
     POLL_SECONDS), then leaves with os._exit(0) (no teardown).
     Floor: a bare Textual "hello" app (one Static) started the same way: the same script,
     the same run_test() harness, until its widget is mounted, then os._exit(0).
  2. `mediateur-tui check CODE` as a process (the console script, exit code 0 or 1).
     Floor: `python -c "import sqlite3"`.

Headless run_test() does not draw on a real terminal, so a real terminal adds its first paint;
everything else (imports, database, compose and mount of the screen) is the same. The
package's bytecode is compiled first, as an installed wheel has it (pip compiles it) and as a
checkout writes it at its first run: with PYTHONDONTWRITEBYTECODE set and no __pycache__, every
process would compile the whole package again (+40 ms to `check` here) while the floors' own
libraries are compiled.

    .venv/bin/python bench/bench_startup.py                       # 2,000-pass demo in a temp dir
    .venv/bin/python bench/bench_startup.py --data-dir bench/out  # the 1,000,000-pass replica
"""

from __future__ import annotations

import argparse
import compileall
import gc
import json
import os
import resource
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

DATABASE_FILENAME = "mediateur.sqlite3"  # = mediateur_tui.store.engine.DATABASE_FILENAME
LOGIN_GOAL, CHECK_GOAL = 2.0, 5.0  # at most 2x and 5x their floors (CPU time)
# How often a child looks whether its screen is mounted. Not Pilot.pause(): it waits until
# the process is idle, up to a second, and the app starts loading its services in a thread
# once its log-in screen is up.
POLL_SECONDS = 0.002


@dataclass(frozen=True)
class Run:
    cpu: float  # seconds of CPU, user + system
    wall: float  # seconds from start to exit


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument(
        "--data-dir", type=Path, help="existing data directory (default: a new 2,000-pass demo)"
    )
    parser.add_argument("--code", help="the code `check` is given (default: one of the replica)")
    parser.add_argument("--child", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--demo-pins", default="[]", help=argparse.SUPPRESS)
    parser.add_argument("--floor-child", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        return _child(args.child, [tuple(pair) for pair in json.loads(args.demo_pins)])
    if args.floor_child:
        return _floor_child()

    import mediateur_tui  # here, not at the top: the children time their own imports

    compileall.compile_dir(Path(mediateur_tui.__file__).parent, quiet=1)
    with tempfile.TemporaryDirectory(prefix="bench-startup-") as temporary:
        data_dir = args.data_dir or _build_demo(Path(temporary))
        code = args.code or _a_code(data_dir)
        print(f"python        {sys.executable} ({sys.version.split()[0]})")
        print(f"data dir      {data_dir}")
        print(f"check code    {code}")
        print(f"runs          {args.runs} fresh processes each, figure and floor in turn")
        print(f"load          {Path('/proc/loadavg').read_text().strip()}\n")
        script = [sys.executable, __file__]
        login, hello, parts = _compare(
            [*script, "--child", str(data_dir), "--demo-pins", _demo_pins()],
            [*script, "--floor-child"],
            args.runs,
        )
        check, floor = _compare(
            [*_entry_point(), "check", "--data-dir", str(data_dir), code],
            [sys.executable, "-c", "import sqlite3"],
            args.runs,
            allowed_exits=(0, 1),
        )[:2]
        _table(
            [
                ("start -> log-in screen", login, 'bare Textual "hello"', hello, LOGIN_GOAL),
                ("check CODE (process)", check, 'python -c "import sqlite3"', floor, CHECK_GOAL),
            ]
        )
        print("\nthe log-in child's own breakdown (wall, median):")
        for key, label in (
            ("imports", "imports"),
            ("open_site", "open_site"),
            ("mount", "app to log-in"),
        ):
            print(f"  {label:<16} {statistics.median(part[key] for part in parts) * 1000:7.1f} ms")
    return 0


def _entry_point() -> list[str]:
    """The console script `mediateur-tui` next to this interpreter, else `python -m`."""
    script = Path(sys.executable).parent / "mediateur-tui"
    return [str(script)] if script.exists() else [sys.executable, "-m", "mediateur_tui"]


def _compare(
    figure: list[str], floor: list[str], runs: int, allowed_exits: tuple[int, ...] = (0,)
) -> tuple[list[Run], list[Run], list[dict[str, float]]]:
    """`runs` processes of each command, in turn; the figure's child reports, if any."""
    figures, floors, reports = [], [], []
    for _ in range(runs):
        run, output = _run(figure, allowed_exits)
        figures.append(run)
        if output.strip().startswith("{"):
            reports.append(json.loads(output.strip().splitlines()[-1]))
        floors.append(_run(floor, (0,))[0])
    return figures, floors, reports


def _run(command: list[str], allowed_exits: tuple[int, ...]) -> tuple[Run, str]:
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    done = subprocess.run(command, capture_output=True, text=True, check=False)
    wall = time.perf_counter() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if done.returncode not in allowed_exits:
        raise SystemExit(f"{' '.join(command)} exited {done.returncode}:\n{done.stderr}")
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return Run(cpu=cpu, wall=wall), done.stdout


def _table(rows: list[tuple[str, list[Run], str, list[Run], float]]) -> None:
    print(
        f"{'figure':<24} {'CPU':>8} {'wall':>8}   {'floor':<28} {'CPU':>8} {'wall':>8}   "
        f"{'ratio CPU':>9} {'wall':>6}   goal (CPU)"
    )
    for label, runs, floor_label, floor_runs, goal in rows:
        cpu, wall = _median(runs, "cpu"), _median(runs, "wall")
        floor_cpu, floor_wall = _median(floor_runs, "cpu"), _median(floor_runs, "wall")
        ratio = cpu / floor_cpu
        print(
            f"{label:<24} {cpu * 1000:6.0f}ms {wall * 1000:6.0f}ms   {floor_label:<28} "
            f"{floor_cpu * 1000:6.0f}ms {floor_wall * 1000:6.0f}ms   {ratio:8.1f}x "
            f"{wall / floor_wall:5.1f}x   <= {goal:.0f}x {'met' if ratio <= goal else 'NOT met'}"
        )
    print("(medians over the runs; ratio = figure / floor)")


def _median(runs: list[Run], field: str) -> float:
    return statistics.median(getattr(run, field) for run in runs)


def _build_demo(folder: Path) -> Path:
    from datetime import UTC, datetime

    from mediateur_tui.services.demo import build_demo
    from mediateur_tui.store.engine import open_database

    data_dir = folder / "demo"
    engine = open_database(data_dir / DATABASE_FILENAME)
    build_demo(engine, data_dir, datetime.now(UTC))
    engine.dispose()
    return data_dir


def _a_code(data_dir: Path) -> str:
    with sqlite3.connect(data_dir / DATABASE_FILENAME) as connection:
        row = connection.execute("SELECT code FROM pass LIMIT 1").fetchone()
    if row is None:
        raise SystemExit(f"no pass in {data_dir}: give one with --code")
    return str(row[0])


def _demo_pins() -> str:
    """The demo's (name, PIN) pairs the log-in screen shows, for the child: services/demo.py
    loads the ORM, which the app itself loads only once its log-in screen is up."""
    from mediateur_tui.services.demo import DEMO_OPERATORS

    return json.dumps([(name, pin) for name, pin, _ in DEMO_OPERATORS])


def _child(data_dir: Path, demo_pins: list[tuple[str, str]]) -> int:
    """Runs in a fresh process: imports, opens the site, mounts the log-in screen."""
    import asyncio

    started = time.perf_counter()
    from mediateur_tui.services.site import open_site_for_app
    from mediateur_tui.ui.app import MediateurApp
    from mediateur_tui.ui.screens.login import LoginScreen

    imported = time.perf_counter()
    site = open_site_for_app(data_dir)  # as run_app (cli/desk_commands.py), then gc.freeze()
    gc.freeze()
    opened = time.perf_counter()
    app = MediateurApp(site, demo_pins=demo_pins)

    async def until_login() -> None:
        async with app.run_test():
            while not (isinstance(app.screen, LoginScreen) and app.screen.query("#pin")):
                await asyncio.sleep(POLL_SECONDS)
            mounted = time.perf_counter()
            report = {"imports": imported - started, "open_site": opened - imported}
            print(json.dumps({**report, "mount": mounted - opened}), flush=True)
            os._exit(0)  # the figure ends with the screen shown: no teardown

    asyncio.run(until_login())
    return 1  # never reached


def _floor_child() -> int:
    """The floor of the log-in: a bare Textual app, started and measured as `_child` is."""
    import asyncio

    from textual.app import App, ComposeResult
    from textual.widgets import Static

    class Hello(App[None]):
        def compose(self) -> ComposeResult:
            yield Static("hello", id="hello")

    app = Hello()

    async def until_shown() -> None:
        async with app.run_test():
            while not app.query("#hello"):
                await asyncio.sleep(POLL_SECONDS)
            os._exit(0)

    asyncio.run(until_shown())
    return 1  # never reached


if __name__ == "__main__":
    raise SystemExit(main())
