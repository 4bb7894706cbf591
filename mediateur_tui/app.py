"""The Textual application: log-in, home, sessions, verification, history, help."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import timedelta
from functools import partial
from pathlib import Path

from sqlalchemy import Engine
from textual import work
from textual.app import App, SystemCommand
from textual.binding import Binding
from textual.screen import Screen

from mediateur_tui.domain.verdicts import DEFAULT_MAX_REPLICA_AGE
from mediateur_tui.screens.help import HelpScreen, key_label
from mediateur_tui.screens.home import HomeScreen
from mediateur_tui.screens.login import LoginScreen
from mediateur_tui.screens.new_session import NewSessionScreen, SessionForm
from mediateur_tui.screens.session import SessionScreen
from mediateur_tui.services.auth import OperatorInfo
from mediateur_tui.services.clock import Clock, system_clock
from mediateur_tui.services.desk import Desk, SessionInfo


class MediateurApp(App):
    CSS_PATH = "app.tcss"
    TITLE = "Pass numériques"
    ENABLE_COMMAND_PALETTE = True
    COMMAND_PALETTE_BINDING = "ctrl+p"
    BINDINGS = [
        Binding("f1", "help", "Aide", id="app.help"),
        Binding("ctrl+q", "quit", "Quitter", id="app.quit", priority=True),
    ]

    def __init__(
        self,
        engine: Engine,
        data_dir: Path,
        demo_pins: list[tuple[str, str]] | None = None,
        clock: Clock = system_clock,
        max_replica_age: timedelta = DEFAULT_MAX_REPLICA_AGE,
    ) -> None:
        super().__init__()
        self.engine = engine
        self.data_dir = data_dir
        self.demo_pins = demo_pins or []
        self.clock = clock
        self.desk = Desk(engine, clock, max_replica_age)
        self.operator: OperatorInfo | None = None

    def on_mount(self) -> None:
        self.push_screen(LoginScreen(self.demo_pins))

    # --- navigation -----------------------------------------------------------------------

    def logged_in(self, operator: OperatorInfo) -> None:
        self.operator = operator
        self.switch_screen(HomeScreen())

    def log_out(self) -> None:
        self.operator = None
        self.switch_screen(LoginScreen(self.demo_pins))

    def new_or_resume_session(self) -> None:
        """Resumes the operator's open session, or asks for a new one."""
        self._find_open_session()

    @work(thread=True, exclusive=True, group="open-session")
    def _find_open_session(self) -> None:
        open_session = self.desk.open_session(self.operator.id)
        if open_session is not None:
            self.call_from_thread(self.push_screen, SessionScreen(open_session))
        else:
            self.call_from_thread(self.push_screen, NewSessionScreen(), self._start_session)

    def _start_session(self, form: SessionForm | None) -> None:
        if form is not None:
            self._create_session(form)

    @work(thread=True, exclusive=True, group="open-session")
    def _create_session(self, form: SessionForm) -> None:
        desk_session: SessionInfo = self.desk.start_session(
            self.operator.id, form.title, form.kind, form.themes, form.duration_minutes
        )
        self.call_from_thread(self.push_screen, SessionScreen(desk_session))

    def action_help(self) -> None:
        if not isinstance(self.screen, HelpScreen):
            self.push_screen(HelpScreen(self.screen))

    # --- command palette: every key binding of the screen is also a command --------------

    def get_system_commands(self, screen: Screen) -> Iterable[SystemCommand]:
        seen: set[str] = set()
        for active in screen.active_bindings.values():
            binding = active.binding
            if not (binding.show and binding.description) or binding.action in seen:
                continue
            seen.add(binding.action)
            yield SystemCommand(
                binding.description,
                f"Touche {key_label(binding.key)}",
                partial(active.node.run_action, binding.action),
            )
