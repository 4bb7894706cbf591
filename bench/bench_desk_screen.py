"""Enter → verdict on screen, at the desk, beside a bare Textual app doing the least it can.

Fresh processes, one after the other, on the same data directory (the 1,000,000-pass
replica that bench_check.py builds in bench/out/ by default):

  - the bare anchor: a Textual app with one Input and one Static; Enter posts the text to a
    thread worker that runs one primary-key SELECT on a raw sqlite3 connection and posts the
    answer back as a message, whose handler calls `Static.update`;
  - the anchor with writes: the same, its worker also making a redemption's durable writes
    (bench_check.Floors.writes: the same inserts, the commit's fsync, a journal line fsync'd),
    since the desk shows a pass as taken only once it is on disk;
  - the application: MediateurApp logged in, a session opened (Enter alone on the new
    session form), then --scans fresh passes scanned one after the other, each taken for real;
  - both anchors again (their figures are pooled with the first runs': the machine is shared).

Both run headless at 80×24 with `App.run_test()`, and both receive the keys the same way (the
code's characters posted as key events, as a USB scanner types them; then the time starts and
Enter is posted). The time stops when the verdict is on the screen: `VerdictPanel.show_result`
in the application, `Static.update` in the anchor. It prints p50 / p95 of each and their
ratios, the application's scans 151–200 against its scans 1–50 (an atelier's table must not
slow down as it fills), the CPU time of the event loop's thread between Enter and the verdict
handled and the screen's layouts a scan (app and bare anchor), and the application's memory
after its scans (VmRSS / VmHWM). It asserts nothing about time.

    .venv/bin/python bench/bench_check.py              # builds bench/out/ once (1,000,000 passes)
    .venv/bin/python bench/bench_desk_screen.py        # then this
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import subprocess
import sys
import time
from pathlib import Path

DEFAULT_DATA_DIR = Path(__file__).resolve().parent / "out"
DATABASE_FILENAME = "mediateur.sqlite3"  # = mediateur_tui.store.sqlite_file.DATABASE_FILENAME
SIZE = (80, 24)
_WINDOW: _Window  # set in each child


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-dir", type=Path, default=DEFAULT_DATA_DIR)
    parser.add_argument("--scans", type=int, default=200)
    parser.add_argument("--child", choices=["app", "anchor", "writing"], help=argparse.SUPPRESS)
    parser.add_argument("--codes", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        codes = json.loads(args.codes.read_text())
        global _WINDOW
        _WINDOW = _Window()
        if args.child == "app":
            report = asyncio.run(_app_child(args.data_dir, codes))
        else:
            report = asyncio.run(_anchor_child(args.data_dir, codes, args.child == "writing"))
        print(json.dumps({**report, **_WINDOW.report()}))
        return 0

    if not (args.data_dir / DATABASE_FILENAME).exists():
        print(f"{args.data_dir} holds no database: run bench/bench_check.py first", file=sys.stderr)
        return 2
    codes_file = args.data_dir / "bench-desk-codes.json"
    codes_file.write_text(json.dumps(_fresh_codes(args.data_dir, args.scans)))
    try:
        first = _run_child("anchor", args.data_dir, codes_file)
        first_writing = _run_child("writing", args.data_dir, codes_file)
        app = _run_child("app", args.data_dir, codes_file)
        second = _run_child("anchor", args.data_dir, codes_file)
        second_writing = _run_child("writing", args.data_dir, codes_file)
    finally:
        codes_file.unlink(missing_ok=True)
    anchor = first["enter_to_verdict_ms"] + second["enter_to_verdict_ms"]
    writing = first_writing["enter_to_verdict_ms"] + second_writing["enter_to_verdict_ms"]
    ours = app["enter_to_verdict_ms"]
    print(f"data dir      {args.data_dir} ({app['passes']:,} passes)")
    print(f"scans         {len(ours)} by the application, {len(anchor)} by each anchor (2 runs)\n")
    print(f"  {'Enter → verdict':<28}{'app':>10}{'anchor':>10}{'ratio':>8}  goal")
    for label, fraction, floor, goal in (
        ("p50, bare anchor", 0.5, anchor, ""),
        ("p95, bare anchor", 0.95, anchor, "≤ 1.5×"),
        ("p50, anchor + writes", 0.5, writing, ""),
        ("p95, anchor + writes", 0.95, writing, "(the same durable writes)"),
    ):
        mine, base = _percentile(ours, fraction), _percentile(floor, fraction)
        print(f"  {label:<28}{mine:>7.2f} ms{base:>7.2f} ms{mine / base:>7.2f}×  {goal}")
    early, late = statistics.median(ours[:50]), statistics.median(ours[150:200])
    print(
        f"  {'scans 151–200 / 1–50, p50':<28}{late:>7.2f} ms{early:>7.2f} ms"
        f"{late / early:>7.2f}×  ≤ 1.1×"
    )
    print(
        f"\nthe event loop's thread between Enter and the verdict (median CPU; layouts a scan): "
        f"app {app['main_cpu_ms']:.2f} ms, {app['layouts_per_scan']:.2f}; bare anchor "
        f"{first['main_cpu_ms']:.2f} ms, {first['layouts_per_scan']:.2f}"
    )
    print(
        f"\nmemory of the app after its scans: VmRSS {app['rss_mb']:.0f} MB, "
        f"VmHWM {app['hwm_mb']:.0f} MB (goal ≤ 120 MB); the anchor: VmRSS {first['rss_mb']:.0f} MB"
    )
    print(f"verdicts      {app['verdicts']}")
    return 0


def _run_child(kind: str, data_dir: Path, codes_file: Path) -> dict:
    command = [sys.executable, __file__, "--child", kind, "--data-dir", str(data_dir)]
    output = subprocess.run(
        [*command, "--codes", str(codes_file)], check=True, capture_output=True, text=True
    ).stdout
    return json.loads(output.strip().splitlines()[-1])


def _fresh_codes(data_dir: Path, count: int) -> list[str]:
    """Random passes the desk would take now (valid, never redeemed)."""
    import sqlite3

    from mediateur_tui.services.checking import open_checker

    path = data_dir / DATABASE_FILENAME
    connection = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        candidates = [
            row[0]
            for row in connection.execute(
                "SELECT code FROM pass WHERE code NOT IN (SELECT code FROM redemption) "
                "ORDER BY random() LIMIT ?",
                (count * 3,),
            )
        ]
    finally:
        connection.close()
    checker = open_checker(data_dir)
    try:
        redeemable = [code for code in candidates if checker.check(code).redeemable]
    finally:
        checker.close()
    if len(redeemable) < count:
        raise SystemExit(f"only {len(redeemable)} redeemable passes found")
    return redeemable[:count]


class _Window:
    """What the event loop's thread does between Enter and the verdict: its CPU time and the
    screen's layouts (each one reflows and repaints every widget)."""

    def __init__(self) -> None:
        from textual.screen import Screen

        self.open = False
        self.cpu_ms: list[float] = []
        self.layouts = 0
        lay_out = Screen._refresh_layout

        def counted(screen, *args, **kwargs):
            self.layouts += self.open
            return lay_out(screen, *args, **kwargs)

        Screen._refresh_layout = counted

    def report(self) -> dict:
        return {
            "main_cpu_ms": statistics.median(self.cpu_ms),
            "layouts_per_scan": self.layouts / len(self.cpu_ms),
        }


async def _scan_each(app, pilot, codes: list[str], shown: asyncio.Event, stamps: list[float]):
    """Types each code as a scanner does, then times Enter → the verdict on screen."""
    from textual import events

    timings = []
    window = _WINDOW
    field = app.screen.focused
    for code in codes:
        for character in code:
            event = events.Key(character if character.isalnum() else "minus", character)
            event.set_sender(app)
            app.post_message(event)
        while field.value != code:
            await pilot.pause()
        shown.clear()
        window.open, cpu = True, time.thread_time()
        started = time.perf_counter()
        enter = events.Key("enter", "\r")
        enter.set_sender(app)
        app.post_message(enter)
        await shown.wait()
        window.open = False
        window.cpu_ms.append((time.thread_time() - cpu) * 1000)
        timings.append((stamps[-1] - started) * 1000)
    return timings


async def _app_child(data_dir: Path, codes: list[str]) -> dict:
    from mediateur_tui.services.demo import DEMO_OPERATORS
    from mediateur_tui.services.site import open_site
    from mediateur_tui.ui.app import MediateurApp
    from mediateur_tui.ui.screens.home import HomeScreen
    from mediateur_tui.ui.screens.login import LoginScreen
    from mediateur_tui.ui.screens.new_session import NewSessionScreen
    from mediateur_tui.ui.screens.session import SessionScreen
    from mediateur_tui.ui.widgets.verdict_panel import VerdictPanel

    shown, stamps, verdicts = asyncio.Event(), [], {}
    real_show_result = VerdictPanel.show_result

    def timed_show_result(panel, result, note=""):
        real_show_result(panel, result, note)
        stamps.append(time.perf_counter())
        verdicts[result.verdict.value] = verdicts.get(result.verdict.value, 0) + 1
        shown.set()

    VerdictPanel.show_result = timed_show_result
    site = open_site(data_dir)
    app = MediateurApp(site, demo_pins=[(name, pin) for name, pin, _ in DEMO_OPERATORS])
    async with app.run_test(size=SIZE) as pilot:
        await _until(pilot, lambda: _login_shown(app, LoginScreen))
        await pilot.press(*DEMO_OPERATORS[0][1], "enter")
        await _until(pilot, lambda: isinstance(app.screen, HomeScreen))
        await pilot.press("n")  # a new session, or the one an earlier run left open
        await _until(pilot, lambda: isinstance(app.screen, (NewSessionScreen, SessionScreen)))
        if isinstance(app.screen, NewSessionScreen):
            await pilot.press("enter")
        await _until(pilot, lambda: isinstance(app.screen, SessionScreen) and app.screen.focused)
        timings = await _scan_each(app, pilot, codes, shown, stamps)
        rss, hwm = _memory_mb()
        app.exit()
    site.close()
    return {
        "enter_to_verdict_ms": timings,
        "rss_mb": rss,
        "hwm_mb": hwm,
        "verdicts": verdicts,
        "passes": _pass_count(data_dir),
    }


async def _anchor_child(data_dir: Path, codes: list[str], writing: bool) -> dict:
    """The bare anchor; `writing`: its worker also makes a redemption's durable writes
    (bench_check.Floors.writes: the same inserts, commit fsync and journal line fsync)."""
    import sqlite3
    from dataclasses import dataclass

    from bench_check import Floors  # this script's folder is on sys.path
    from textual.app import App, ComposeResult
    from textual.message import Message
    from textual.widgets import Input, Static

    shown, stamps = asyncio.Event(), []
    connection = sqlite3.connect(
        f"file:{data_dir / DATABASE_FILENAME}?mode=ro", uri=True, check_same_thread=False
    )
    floors = Floors(data_dir / DATABASE_FILENAME) if writing else None

    @dataclass
    class Answered(Message):
        text: str

    class Anchor(App[None]):
        def compose(self) -> ComposeResult:
            yield Input(id="scan")
            yield Static(id="verdict")

        def on_input_submitted(self, event: Input.Submitted) -> None:
            code = event.value
            event.input.value = ""
            self.run_worker(lambda: self.look_up(code), thread=True)

        def look_up(self, code: str) -> None:
            row = connection.execute("SELECT 1 FROM pass WHERE code = ?", (code,)).fetchone()
            if floors is not None:
                floors.writes(code)
            self.post_message(Answered(f"{code}: {row}"))

        def on_answered(self, message: Answered) -> None:
            self.query_one("#verdict", Static).update(message.text)
            stamps.append(time.perf_counter())
            shown.set()

    app = Anchor()
    async with app.run_test(size=SIZE) as pilot:
        await _until(pilot, lambda: app.focused is not None)
        timings = await _scan_each(app, pilot, codes, shown, stamps)
        rss, hwm = _memory_mb()
        app.exit()
    connection.close()
    if floors is not None:
        floors.close()
    return {"enter_to_verdict_ms": timings, "rss_mb": rss, "hwm_mb": hwm}


def _login_shown(app, login_screen: type) -> bool:
    return isinstance(app.screen, login_screen) and bool(app.screen.query("#pin"))


async def _until(pilot, condition) -> None:
    while not condition():
        await pilot.pause()


def _memory_mb() -> tuple[float, float]:
    """(VmRSS, VmHWM) of this process, in MB."""
    fields = {}
    for line in Path("/proc/self/status").read_text().splitlines():
        name, _, value = line.partition(":")
        if name in ("VmRSS", "VmHWM"):
            fields[name] = int(value.split()[0]) / 1024
    return fields["VmRSS"], fields["VmHWM"]


def _pass_count(data_dir: Path) -> int:
    import sqlite3

    connection = sqlite3.connect(f"file:{data_dir / DATABASE_FILENAME}?mode=ro", uri=True)
    try:
        return connection.execute("SELECT count(*) FROM pass").fetchone()[0]
    finally:
        connection.close()


def _percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(fraction * (len(ordered) - 1)))]


if __name__ == "__main__":
    raise SystemExit(main())
