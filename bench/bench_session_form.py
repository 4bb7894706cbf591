"""The time and keys to record a session with the new-session form, in a real terminal
(tmux, 80×24, on a private tmux server).

Two runs, each on a fresh demo (`mediateur-tui --demo`), logged in as Camille Martin:

- « Enter alone »: `n`, then Enter: the defaults (the demo's previous session of Camille: an
  individuel of 1h30 at the site, « Navigation sur internet »);
- « collectif 90 min, 2 thématiques, 6 participants »: `n`, → (Atelier collectif), Tab ×4
  (date, duration — already 1h30 —, place, to the thématiques), `mail` Space (E-mail beside
  « Navigation sur internet »), Tab ×4 (equipment, title, level, to Participants), `6`, Enter.

Each run waits for the session screen to show the session's type and duration, then reads
the session's row back (thématiques, participants). Prints the keys pressed from the home
screen and the seconds the app took; keys are sent as fast as tmux sends them: a person adds
her own reading and typing time.

    .venv/bin/python bench/bench_session_form.py
"""

from __future__ import annotations

import shutil
import sqlite3
import sys
import tempfile
import time
from pathlib import Path

from tmux_terminal import Terminal

from mediateur_tui.store.sqlite_file import DATABASE_FILENAME

TERMINAL = Terminal("bench-form")

# (name, keys as tmux send-keys arguments — a literal text is ("-l", text), ("wait", text)
# waits for the screen to show text —, the key count, what the session screen shows once the
# session started). After → the form shows the atelier's fields: a Tab sent before they show
# would skip them (the app's Tab moves the focus as soon as it reads the key), as a person
# would see them before going on.
RUNS: list[tuple[str, list[list[str]], int, str]] = [
    ("Enter alone", [["Enter"]], 1, "(Individuel, 90 min)"),
    (
        "collectif 90 min, 2 thématiques, 6 participants",
        [
            ["Right"],
            ["wait", "Participants"],
            ["Tab", "Tab", "Tab", "Tab"],
            ["-l", "mail"],
            ["Space"],
            ["Tab", "Tab", "Tab", "Tab"],
            ["-l", "6"],
            ["Enter"],
        ],
        16,
        "(Atelier collectif, 90 min)",
    ),
]


def recorded(data_dir: Path) -> str:
    """The last session's kind, duration, thématiques and participants, as stored."""
    with sqlite3.connect(data_dir / DATABASE_FILENAME) as connection:
        row = connection.execute(
            "SELECT kind, duration_minutes, thematiques, participants FROM desk_session "
            "ORDER BY id DESC LIMIT 1"
        ).fetchone()
    return " ".join(str(value) for value in row)


def run(program: str, keys: list[list[str]], shows: str) -> tuple[float, str]:
    """Seconds from `n` on the home screen to the session screen showing `shows`, and the
    session recorded."""
    with tempfile.TemporaryDirectory(prefix="bench-form-") as folder:
        data_dir = Path(folder) / "demo"
        command = f"'{program}' --demo --data-dir '{data_dir}'"
        TERMINAL.start(command)
        try:
            TERMINAL.wait_for("Camille Martin (médiateur·rice)")
            TERMINAL.keys("1234", "Enter")
            TERMINAL.wait_for("Camille Martin — accueil")
            started = time.perf_counter()
            TERMINAL.keys("n")
            TERMINAL.wait_for("Nouvelle séance")
            for chunk in keys:
                if chunk[0] == "wait":
                    TERMINAL.wait_for(chunk[1])
                else:
                    TERMINAL.keys(*chunk)
            TERMINAL.wait_for(shows)
            return time.perf_counter() - started, recorded(data_dir)
        finally:
            TERMINAL.close()


def main() -> int:
    if shutil.which("tmux") is None:
        print("tmux is needed for this measure (apt install tmux).")
        return 2
    program = str(Path(sys.executable).with_name("mediateur-tui"))
    with open("/proc/loadavg", encoding="ascii") as handle:
        print(f"load      {handle.read().split()[0]} (1 min), Python {sys.version.split()[0]}")
    print(f"{'session recorded':<50} {'keys':>5} {'seconds':>8}")
    for name, keys, count, shows in RUNS:
        seconds, row = run(program, keys, shows)
        print(f"{name:<50} {count + 1:>5} {seconds:>8.2f}  {row}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
