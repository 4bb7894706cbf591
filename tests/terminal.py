"""Runs a command on a pseudo-terminal of 80×24, as a person at a terminal would: for the tests
of the scripts and of the docs' commands that ask for a PIN or open the application."""

from __future__ import annotations

import fcntl
import os
import pty
import re
import select
import struct
import subprocess
import termios
import time
from pathlib import Path

ANSI = re.compile(r"\x1b(\[[0-9;?<>=]*[ -/]*[@-~]|\][^\x07\x1b]*(\x07|\x1b\\)|[()][0-9A-Za-z]|.)")


def run_in_pty(
    command: str, cwd: Path, env: dict[str, str], answers: tuple[str, ...], until: str | None
) -> tuple[int, str]:
    """Runs `command` on a pseudo-terminal of 80×24: types each answer at each new « PIN »
    prompt; with `until`, waits for that text on the screen, then types Ctrl+Q."""
    main_fd, child_fd = pty.openpty()
    os.set_blocking(main_fd, False)
    fcntl.ioctl(child_fd, termios.TIOCSWINSZ, struct.pack("HHHH", 24, 80, 0, 0))
    process = subprocess.Popen(
        ["bash", "-c", command],
        cwd=cwd,
        env=env,
        stdin=child_fd,
        stdout=child_fd,
        stderr=child_fd,
        start_new_session=True,
    )
    os.close(child_fd)
    raw = b""
    pending = list(answers)
    prompts_seen = 0
    quit_sent = False
    deadline = time.monotonic() + 120
    try:
        while process.poll() is None and time.monotonic() < deadline:
            ready, _, _ = select.select([main_fd], [], [], 0.2)
            if ready:
                try:
                    raw += os.read(main_fd, 65536)
                except OSError:
                    break
            screen = ANSI.sub("", raw.decode("utf-8", "replace"))
            if pending and screen.count("PIN") > prompts_seen:
                prompts_seen = screen.count("PIN")
                os.write(main_fd, pending.pop(0).encode() + b"\r")
            if until and not quit_sent and until in screen:
                os.write(main_fd, b"\x11")  # Ctrl+Q
                quit_sent = True
        code = process.wait(timeout=max(1, deadline - time.monotonic()))
        while True:  # what is left in the terminal
            ready, _, _ = select.select([main_fd], [], [], 0.1)
            if not ready:
                break
            try:
                chunk = os.read(main_fd, 65536)
            except OSError:
                break
            if not chunk:
                break
            raw += chunk
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
        os.close(main_fd)
    screen = ANSI.sub("", raw.decode("utf-8", "replace"))
    if until:
        assert quit_sent, f"« {until} » never appeared:\n{screen[-3000:]}"
    return code, screen
