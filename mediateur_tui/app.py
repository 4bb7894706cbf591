"""The Textual application: first run, log-in, home, sessions, verification, history, sync
with the region, month end and reconciliation, the distributor's desk (carnets), help."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from datetime import timedelta
from functools import partial
from pathlib import Path

import httpx
from sqlalchemy import Engine
from textual import work
from textual.app import App, SystemCommand
from textual.binding import Binding
from textual.screen import Screen

from mediateur_tui.domain.clock import Clock, system_clock
from mediateur_tui.domain.verdicts import DEFAULT_MAX_REPLICA_AGE
from mediateur_tui.screens.first_operator import FirstOperatorScreen
from mediateur_tui.screens.first_run import FirstRunScreen
from mediateur_tui.screens.help import HelpScreen, binding_title, is_listed, key_label
from mediateur_tui.screens.home import HomeScreen
from mediateur_tui.screens.login import LoginScreen
from mediateur_tui.screens.new_session import NewSessionScreen, SessionForm
from mediateur_tui.screens.session import SessionScreen
from mediateur_tui.services.attribution import AttributionDesk
from mediateur_tui.services.auth import OperatorInfo
from mediateur_tui.services.desk import Desk, SessionInfo
from mediateur_tui.services.month_end import MonthEnd
from mediateur_tui.services.setup import setup_state
from mediateur_tui.services.sync import SiteSync


class MediateurApp(App):
    CSS_PATH = "app.tcss"
    TITLE = "Pass numériques"
    ENABLE_COMMAND_PALETTE = True
    COMMAND_PALETTE_BINDING = "ctrl+p"
    BINDINGS = [
        Binding("f1", "help", "Aide", id="app.help"),
        # Not in the footers (80 columns are short): F1 and the palette list it.
        Binding("ctrl+q", "quit", "Quitter", show=False, id="app.quit", priority=True),
    ]

    def __init__(
        self,
        engine: Engine,
        data_dir: Path,
        demo_pins: list[tuple[str, str]] | None = None,
        clock: Clock = system_clock,
        max_replica_age: timedelta = DEFAULT_MAX_REPLICA_AGE,
        hub_transport: httpx.BaseTransport | None = None,
        hub_sleep: Callable[[float], None] | None = None,
    ) -> None:
        """`hub_transport` and `hub_sleep` are for tests (see SiteSync)."""
        super().__init__()
        self.engine = engine
        self.data_dir = data_dir
        self.demo_pins = demo_pins or []
        self.clock = clock
        self.desk = Desk(engine, clock, max_replica_age)
        self.operator: OperatorInfo | None = None
        self.hub_transport = hub_transport
        self.hub_sleep = hub_sleep

    def on_mount(self) -> None:
        self.open_first_screen()

    def site_sync(self) -> SiteSync:
        return SiteSync(
            self.engine,
            self.data_dir,
            self.clock,
            transport=self.hub_transport,
            sleep=self.hub_sleep,
        )

    def month_end(self) -> MonthEnd:
        return MonthEnd(self.engine, self.data_dir, self.clock)

    def attribution_desk(self) -> AttributionDesk:
        """The distributor's desk; it reads the rule files (schema/rules/): call it from a
        thread worker."""
        return AttributionDesk(self.engine, self.data_dir, self.clock)

    @property
    def is_responsable(self) -> bool:
        return self.has_role("responsable")

    def has_role(self, *roles: str) -> bool:
        """Whether the logged-in operator has one of `roles`."""
        return self.operator is not None and self.operator.role in roles

    # --- navigation -----------------------------------------------------------------------

    @work(thread=True, exclusive=True, group="first-screen")
    def open_first_screen(self) -> None:
        """A new site first gets its replica (first-run screen), then its first account;
        afterwards the app opens on the log-in."""
        state = setup_state(self.engine)
        if not state.has_replica:
            screen = FirstRunScreen()
        elif not state.has_operators:
            screen = FirstOperatorScreen()
        else:
            screen = LoginScreen(self.demo_pins)
        self.call_from_thread(self._show_first_screen, screen)

    def _show_first_screen(self, screen: Screen) -> None:
        if len(self.screen_stack) > 1:
            self.switch_screen(screen)
        else:
            self.push_screen(screen)

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
            if not is_listed(binding) or binding.action in seen:
                continue
            seen.add(binding.action)
            yield SystemCommand(
                binding_title(binding),
                f"Touche {key_label(binding.key)}",
                partial(active.node.run_action, binding.action),
            )
