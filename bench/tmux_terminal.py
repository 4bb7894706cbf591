"""A real terminal for the benches that drive the app as a person would: tmux at 80×24, on a
private tmux server (never the user's), its screen read back as text."""

from __future__ import annotations

import os
import subprocess
import time

SCREEN_SECONDS = 60


class Terminal:
    def __init__(self, name: str) -> None:
        self.session = name
        self.server = ["tmux", "-L", f"{name}-{os.getpid()}"]

    def tmux(self, *args: str) -> str:
        done = subprocess.run([*self.server, *args], capture_output=True, text=True, check=True)
        return done.stdout

    def start(self, command: str) -> None:
        self.tmux("new-session", "-d", "-s", self.session, "-x", "80", "-y", "24", command)

    def keys(self, *keys: str) -> None:
        self.tmux("send-keys", "-t", self.session, *keys)

    def screen(self) -> str:
        shown = self.tmux("capture-pane", "-p", "-t", self.session)
        return shown.replace("\u00a0", " ").replace("\u202f", " ")

    def wait_for(self, text: str) -> float:
        """Seconds until the screen shows `text`."""
        started = time.perf_counter()
        while text not in self.screen():
            if time.perf_counter() - started > SCREEN_SECONDS:
                raise SystemExit(f"« {text} » never showed:\n{self.screen()}")
            time.sleep(0.02)
        return time.perf_counter() - started

    def close(self) -> None:
        subprocess.run([*self.server, "kill-server"], capture_output=True)
