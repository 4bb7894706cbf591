"""The accessible mode in a real terminal (tmux, 80×24): the terminal's own cursor is shown,
on the focused field; without the mode Textual hides it."""

from __future__ import annotations

import secrets
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

pytestmark = pytest.mark.skipif(shutil.which("tmux") is None, reason="tmux is not installed")
PROMPT = "Scannez ou tapez un pass, puis Entrée."
START_SECONDS = 60  # the app's first start in a fresh process, on a shared 2-core machine


@contextmanager
def app_in_tmux(data_dir: Path, *flags: str) -> Iterator[list[str]]:
    """`mediateur-tui --data-dir DIR FLAGS` in a private tmux server; yields its tmux command."""
    tmux = ["tmux", "-L", f"mediateur-{secrets.token_hex(4)}"]
    program = [sys.executable, "-m", "mediateur_tui", "--data-dir", str(data_dir), *flags]
    subprocess.run([*tmux, "new-session", "-d", "-x", "80", "-y", "24", *program], check=True)
    try:
        yield tmux
    finally:
        subprocess.run([*tmux, "kill-server"], check=False, capture_output=True)


def send(tmux: list[str], *keys: str) -> None:
    subprocess.run([*tmux, "send-keys", *keys], check=True)


def tmux_output(tmux: list[str], *args: str) -> str:
    return subprocess.run([*tmux, *args], check=True, capture_output=True, text=True).stdout


def wait_for_screen(tmux: list[str], text: str) -> list[str]:
    """The pane's rows once `text` is on it (polled, with a deadline)."""
    deadline = time.monotonic() + START_SECONDS
    while time.monotonic() < deadline:
        rows = tmux_output(tmux, "capture-pane", "-p").splitlines()
        if any(text in row for row in rows):
            return rows
        time.sleep(0.2)
    raise AssertionError(f"« {text} » never shown")


def cursor(tmux: list[str]) -> tuple[bool, int, int]:
    """Whether the terminal's cursor is shown, and where (column, row)."""
    flag, x, y = tmux_output(
        tmux, "display", "-p", "#{cursor_flag} #{cursor_x} #{cursor_y}"
    ).split()
    return flag == "1", int(x), int(y)


def cursor_on_field(tmux: list[str], find_row) -> tuple[list[str], bool, int, int]:
    """The pane's rows and the cursor, once it is shown on the row `find_row(rows)` gives (the
    screen may still move as it settles): polled, with a deadline."""
    deadline = time.monotonic() + 10
    while True:
        rows = tmux_output(tmux, "capture-pane", "-p").splitlines()
        shown, x, y = cursor(tmux)
        if (shown and y == find_row(rows)) or time.monotonic() > deadline:
            return rows, shown, x, y
        time.sleep(0.1)


def row_of(text: str, below: int = 0):
    """The row `below` rows under the first one holding `text`."""
    return lambda rows: next(i for i, row in enumerate(rows) if text in row) + below


def test_accessible_mode_shows_the_terminal_cursor_on_the_focused_field(demo_dir):
    with app_in_tmux(demo_dir.path, "--accessible") as tmux:
        wait_for_screen(tmux, "Code PIN")
        pin_row = row_of("Code PIN", below=2)  # the middle row of the field's frame
        rows, shown, x, y = cursor_on_field(tmux, pin_row)
        assert (shown, y) == (True, pin_row(rows))
        assert rows[y].index("▊") < x < rows[y].rindex("▎")
        # Logged in, a new session: the cursor is on the scan field of the new screen.
        send(tmux, "1234", "Enter")
        wait_for_screen(tmux, "accueil")
        send(tmux, "n")
        wait_for_screen(tmux, "Nouvelle séance")
        send(tmux, "Enter")
        wait_for_screen(tmux, PROMPT)
        scan_row = row_of(PROMPT)  # the field's placeholder (the panel says it again, below)
        rows, shown, x, y = cursor_on_field(tmux, scan_row)
        assert (shown, y) == (True, scan_row(rows))
        # A refusal, in words on one line of the screen too.
        send(tmux, demo_dir.codes["expired"][1], "Enter")
        rows = wait_for_screen(tmux, "✘ REFUSÉ : Pass expiré, code ")
        assert any("┃  ✘  PASS EXPIRÉ" in row for row in rows)  # and in the panel's frame


def test_without_the_mode_the_cursor_stays_hidden(demo_dir):
    with app_in_tmux(demo_dir.path) as tmux:
        wait_for_screen(tmux, "Code PIN")
        shown, _x, _y = cursor(tmux)
        assert not shown  # hidden by Textual's driver before it draws anything
