"""A newcomer's first two minutes, scripted in a real terminal (tmux, 80×24).

Told only the README: `mediateur-tui --demo` (what `bash scripts/demo.sh` runs), log in as
the médiatrice shown on the screen (PIN 1234, Enter), `n` for a new session, Enter for its
defaults, then 10 passes scanned (the demo's valid passes, typed as a scanner types them:
the code and Enter). Prints each step with the keys pressed and the seconds the app took to
show what the newcomer waits for, and the total.

The seconds are the app's, keys sent as fast as tmux sends them: a person adds her reading and
typing time (about a second a key, a few seconds a scan). Needs tmux; Python alone otherwise.

    .venv/bin/python bench/bench_newcomer.py
"""

from __future__ import annotations

import json
import shutil
import sys
import tempfile
import time
from pathlib import Path

from tmux_terminal import Terminal

TERMINAL = Terminal("bench-newcomer")


def main() -> int:
    if shutil.which("tmux") is None:
        print("tmux is needed for this measure (apt install tmux).")
        return 2
    program = str(Path(sys.executable).with_name("mediateur-tui"))
    with tempfile.TemporaryDirectory(prefix="bench-newcomer-") as folder:
        data_dir = Path(folder) / "demo"
        command = f"'{program}' --demo --data-dir '{data_dir}'"
        started = time.perf_counter()
        TERMINAL.start(command)
        try:
            return _run(data_dir, started)
        finally:
            TERMINAL.close()


def _run(data_dir: Path, started: float) -> int:
    steps: list[tuple[str, int, float]] = []
    TERMINAL.wait_for("Camille Martin (médiateur·rice)")
    steps.append(("start: the demo made, the log-in shown", 0, time.perf_counter() - started))
    codes = json.loads((data_dir / "demo.json").read_text(encoding="utf-8"))["codes"]["valid"]
    TERMINAL.keys("1234", "Enter")
    steps.append(("log in: 1234 Enter", 5, TERMINAL.wait_for("Camille Martin — accueil")))
    TERMINAL.keys("n")
    steps.append(("new session: n", 1, TERMINAL.wait_for("Nouvelle séance")))
    TERMINAL.keys("Enter")
    steps.append(("its defaults: Enter", 1, TERMINAL.wait_for("Scannez ou tapez un pass")))
    began = time.perf_counter()
    for count, code in enumerate(codes[:10], start=1):
        TERMINAL.keys("-l", code)
        TERMINAL.keys("Enter")
        TERMINAL.wait_for(f"{count} pass encaissé")
    steps.append(("10 passes scanned (code + Enter each)", 10, time.perf_counter() - began))
    with open("/proc/loadavg", encoding="ascii") as handle:
        print(f"load      {handle.read().split()[0]} (1 min), Python {sys.version.split()[0]}")
    print(f"{'step':<44} {'keys':>5} {'seconds':>8}")
    for name, keys, seconds in steps:
        print(f"{name:<44} {keys:>5} {seconds:>8.2f}")
    after_start = sum(seconds for _, _, seconds in steps[1:])
    keys = sum(keys for _, keys, _ in steps)
    print(f"{'from the log-in screen to the 10th pass':<44} {keys:>5} {after_start:>8.2f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
