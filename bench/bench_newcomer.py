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
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

SCREEN_SECONDS = 60
SESSION = "bench-newcomer"
SERVER = ["tmux", "-L", f"bench-newcomer-{os.getpid()}"]  # a private server, never the user's


def tmux(*args: str) -> str:
    done = subprocess.run([*SERVER, *args], capture_output=True, text=True, check=True)
    return done.stdout


def screen() -> str:
    return tmux("capture-pane", "-p", "-t", SESSION).replace("\u00a0", " ").replace("\u202f", " ")


def wait_for(text: str) -> float:
    """Seconds until the screen shows `text`."""
    started = time.perf_counter()
    while text not in screen():
        if time.perf_counter() - started > SCREEN_SECONDS:
            raise SystemExit(f"« {text} » never showed:\n{screen()}")
        time.sleep(0.02)
    return time.perf_counter() - started


def main() -> int:
    if shutil.which("tmux") is None:
        print("tmux is needed for this measure (apt install tmux).")
        return 2
    program = str(Path(sys.executable).with_name("mediateur-tui"))
    with tempfile.TemporaryDirectory(prefix="bench-newcomer-") as folder:
        data_dir = Path(folder) / "demo"
        command = f"'{program}' --demo --data-dir '{data_dir}'"
        started = time.perf_counter()
        tmux("new-session", "-d", "-s", SESSION, "-x", "80", "-y", "24", command)
        try:
            return _run(data_dir, started)
        finally:
            subprocess.run([*SERVER, "kill-server"], capture_output=True)


def _run(data_dir: Path, started: float) -> int:
    steps: list[tuple[str, int, float]] = []
    wait_for("Camille Martin (médiateur·rice)")
    steps.append(("start: the demo made, the log-in shown", 0, time.perf_counter() - started))
    codes = json.loads((data_dir / "demo.json").read_text(encoding="utf-8"))["codes"]["valid"]
    tmux("send-keys", "-t", SESSION, "1234", "Enter")
    steps.append(("log in: 1234 Enter", 5, wait_for("Camille Martin — accueil")))
    tmux("send-keys", "-t", SESSION, "n")
    steps.append(("new session: n", 1, wait_for("Nouvelle séance")))
    tmux("send-keys", "-t", SESSION, "Enter")
    steps.append(("its defaults: Enter", 1, wait_for("Scannez ou tapez un pass")))
    began = time.perf_counter()
    for count, code in enumerate(codes[:10], start=1):
        tmux("send-keys", "-t", SESSION, "-l", code)
        tmux("send-keys", "-t", SESSION, "Enter")
        wait_for(f"{count} pass encaissé")
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
