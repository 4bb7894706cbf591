"""The Textual application: first run, log-in, home, sessions, verification, history, sync
with the region, month end and reconciliation, the distributor's desk (carnets), help.

The screens get one typed context (ui/context.py) and talk to the services only. Their thread
workers send their results back as typed messages; a worker that fails comes here
(`WorkFailed`): a UserError's French message is shown, anything else is logged and the user is
told that nothing was recorded.

The screens after the log-in (home, sessions…) and those of a new site are imported when
first shown: a start loads the log-in screen only.
"""

from __future__ import annotations

import gc
import logging
from collections import deque
from collections.abc import Iterable
from dataclasses import dataclass
from functools import partial
from typing import TYPE_CHECKING

from textual import events, on, work
from textual.app import App, SystemCommand
from textual.binding import Binding
from textual.message import Message
from textual.screen import Screen
from textual.widget import Widget
from textual.widgets import Input
from textual.worker import Worker, WorkerState

from mediateur_tui.domain.activity import Activity
from mediateur_tui.domain.errors import UserError
from mediateur_tui.services.preferences import Preferences
from mediateur_tui.ui.accessibility import ACCESSIBLE_CLASS, HIDE_CURSOR, HIGH_CONTRAST, SHOW_CURSOR
from mediateur_tui.ui.context import DemoPins, DeskContext
from mediateur_tui.ui.messages import (
    FirstScreenWanted,
    LoggedIn,
    LogOutRequested,
    SessionWanted,
    WorkFailed,
)
from mediateur_tui.ui.screens.base import failure_text
from mediateur_tui.ui.screens.help import HelpScreen, binding_title, is_listed, key_label
from mediateur_tui.ui.screens.login import LoginScreen

if TYPE_CHECKING:
    from mediateur_tui.services.backup import BackupReport
    from mediateur_tui.services.desk import SessionInfo
    from mediateur_tui.services.setup import SetupState
    from mediateur_tui.services.site import Site
    from mediateur_tui.services.sync import SyncReport
    from mediateur_tui.ui.screens.new_session import SessionForm

log = logging.getLogger(__name__)
BACKUP_CHECK_SECONDS = 10 * 60  # how often the app looks whether the daily backup is due
SYNC_SECONDS = 5 * 60  # how often the app declares to the region and pulls the replica
CURSOR_FOLLOW_SECONDS = 0.25  # how often, in accessible mode, the cursor follows its field
ACCESSIBLE_COMMAND = "Mode accessible (activer/désactiver)"


@dataclass
class _SetupRead(Message):
    state: SetupState


class _ServicesLoaded(Message):
    pass


@dataclass
class _BackupMade(Message):
    report: BackupReport


@dataclass
class _Synced(Message):
    report: SyncReport


@dataclass
class _OpenSessionRead(Message):
    session: SessionInfo | None  # the session to go on with, or None: ask for a new one
    defaults: Activity | None = None  # what a new one starts with


class MediateurApp(App[None]):
    CSS_PATH = "app.tcss"
    TITLE = "Pass numériques"
    ENABLE_COMMAND_PALETTE = True
    COMMAND_PALETTE_BINDING = "ctrl+p"
    BINDINGS = [
        Binding("f1", "help", "Aide", id="app.help"),
        # Not in the footers (80 columns are short): F1 and the palette list it.
        Binding("ctrl+q", "quit", "Quitter", show=False, id="app.quit", priority=True),
        # Priority: the focus moves while the app dispatches Tab, so that the keys typed right
        # after it go to the next field (the screen's own Tab binding only runs once the key
        # has been through the focused field, after the next keys were forwarded to it).
        Binding("tab", "focus_next", "Champ suivant", show=False, priority=True),
        Binding("shift+tab", "focus_previous", "Champ précédent", show=False, priority=True),
    ]

    def __init__(
        self, site: Site, demo_pins: DemoPins | None = None, accessible: bool = False
    ) -> None:
        super().__init__()
        self.context = DeskContext(site, demo_pins or [])
        # The flag is for this run; the setting (a small file, read before the app runs) stays.
        self.accessible = accessible or site.preferences.read().accessible
        self.register_theme(HIGH_CONTRAST)
        self._usual_look = (self.theme, self.animation_level)
        # When the latest keys arrived, for forms that must tell a scan from typing.
        self.key_arrivals: deque[float] = deque(maxlen=8)

    async def on_event(self, event: events.Event) -> None:
        if isinstance(event, events.Key) and not event.is_forwarded:
            self.key_arrivals.append(event.time)
        await super().on_event(event)

    def on_mount(self) -> None:
        self._cursor_follower = self.set_interval(CURSOR_FOLLOW_SECONDS, self._follow_focus)
        self.set_accessible(self.accessible)
        self.open_first_screen()
        self.set_interval(BACKUP_CHECK_SECONDS, self.daily_backup)
        self.set_interval(SYNC_SECONDS, self.background_sync)

    # --- the daily backup -----------------------------------------------------------------

    @work(thread=True, exclusive=True, group="backup", exit_on_error=False)
    def daily_backup(self) -> None:
        """A backup into the site's folder once a day, when it is there (a USB key)."""
        report = self.context.site.backups.make_if_due()
        if report is not None:
            self.post_message(_BackupMade(report))

    @on(_BackupMade)
    def backup_made(self, message: _BackupMade) -> None:
        self.notify(f"Sauvegarde du jour faite : {message.report.path.name}.", timeout=8)

    # --- declarations and replica, every few minutes ----------------------------------------

    @work(thread=True, exclusive=True, group="background-sync", exit_on_error=False)
    def background_sync(self) -> None:
        """Declares the new redemptions and cancellations and pulls the replica, when this
        site syncs online (a failure is recorded and shown on the home screen: nothing is lost,
        the next run resumes)."""
        report = self.context.site.sync.sync_if_online()
        if report is not None:
            self.post_message(_Synced(report))

    @on(_Synced)
    def synced(self, message: _Synced) -> None:
        from mediateur_tui.ui.screens.home import HomeScreen

        if isinstance(self.screen, HomeScreen):
            self.screen.refresh_stats()  # what is left to declare, the time of the sync
        refusals = message.report.refusals
        if refusals:
            self.notify(
                "\n".join(refused.describe() for refused in refusals),
                title="Refus de la région",
                severity="warning",
                timeout=30,
            )

    # --- navigation -----------------------------------------------------------------------

    @work(thread=True, exclusive=True, group="first-screen", exit_on_error=False)
    def open_first_screen(self) -> None:
        self.post_message(_SetupRead(self.context.site.setup_state()))

    @on(_SetupRead)
    async def show_first_screen(self, message: _SetupRead) -> None:
        """A new site first gets its replica (first-run screen), then its first account;
        afterwards the app opens on the log-in."""
        screen: Screen[None]
        if not message.state.has_replica:
            from mediateur_tui.ui.screens.first_run import FirstRunScreen

            screen = FirstRunScreen(self.context)
        elif not message.state.has_operators:
            from mediateur_tui.ui.screens.first_operator import FirstOperatorScreen

            screen = FirstOperatorScreen(self.context)
        else:
            screen = LoginScreen(self.context)
        if len(self.screen_stack) > 1:
            self.switch_screen(screen)
        else:
            await self.push_screen(screen)  # mounted: the services load after its first paint
            self.call_after_refresh(self.load_services)

    @work(thread=True, exclusive=True, group="load", exit_on_error=False)
    def load_services(self) -> None:
        """The site's services (the ORM: about 300 ms of imports), loaded while the first
        screen waits for the PIN; then the day's backup is checked."""
        self.context.site.load()
        # As run_app for the imports before the app: no full collection walks what they made
        # again (about 45 ms), in the middle of a scan.
        gc.freeze()
        self.post_message(_ServicesLoaded())

    @on(_ServicesLoaded)
    def services_loaded(self) -> None:
        self.daily_backup()

    @on(FirstScreenWanted)
    def first_screen_wanted(self) -> None:
        self.open_first_screen()

    @on(LoggedIn)
    def logged_in(self, message: LoggedIn) -> None:
        from mediateur_tui.ui.screens.home import HomeScreen

        self.context.operator = message.operator
        self.switch_screen(HomeScreen(self.context))

    @on(LogOutRequested)
    def log_out(self) -> None:
        self.context.operator = None
        self.switch_screen(LoginScreen(self.context))

    @on(SessionWanted)
    def session_wanted(self) -> None:
        self.find_open_session()

    @work(thread=True, exclusive=True, group="open-session", exit_on_error=False)
    def find_open_session(self) -> None:
        desk = self.context.site.desk
        session = desk.open_session(self.context.operator_id)
        if session is not None:
            self.post_message(_OpenSessionRead(session))
        else:
            defaults = desk.next_session_defaults(self.context.operator_id)
            self.post_message(_OpenSessionRead(None, defaults))

    @on(_OpenSessionRead)
    def open_session(self, message: _OpenSessionRead) -> None:
        from mediateur_tui.ui.screens.new_session import NewSessionScreen
        from mediateur_tui.ui.screens.session import SessionScreen

        if message.session is not None:
            self.push_screen(SessionScreen(self.context, message.session))
        elif message.defaults is not None:
            self.push_screen(NewSessionScreen(message.defaults), self._start_session)

    def _start_session(self, form: SessionForm | None) -> None:
        if form is not None:
            self._create_session(form)

    @work(thread=True, exclusive=True, group="open-session", exit_on_error=False)
    def _create_session(self, form: SessionForm) -> None:
        session = self.context.site.desk.start_activity(
            self.context.operator_id, form.title, form.activity
        )
        self.post_message(_OpenSessionRead(session))

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        """Tab moves the focus, except on a screen that reads Tab as typed (the scanner
        self-test: a scanner may send it)."""
        if action in ("focus_next", "focus_previous"):
            return not getattr(self.screen, "READS_TAB", False)
        return True

    def action_help_quit(self) -> None:
        """Ctrl+C, by reflex: Textual's own message is English."""
        self.notify("Pour quitter l'application : Ctrl+Q.", title="Quitter ?")

    def action_help(self) -> None:
        if not isinstance(self.screen, HelpScreen):
            self.push_screen(HelpScreen(self.screen))

    def action_scanner_test(self) -> None:
        from mediateur_tui.ui.screens.scanner_test import ScannerTestScreen

        if not isinstance(self.screen, ScannerTestScreen):
            self.push_screen(ScannerTestScreen(self.context))

    # --- accessible mode ------------------------------------------------------------------

    def set_accessible(self, accessible: bool) -> None:
        """Visible terminal cursor, no animation or blinking, high contrast, plain verdict lines."""
        self.accessible = accessible
        theme, animation_level = self._usual_look
        self.theme = HIGH_CONTRAST.name if accessible else theme
        self.animation_level = "none" if accessible else animation_level
        self.set_class(accessible, ACCESSIBLE_CLASS)
        if self._driver is not None:
            self._driver.write(SHOW_CURSOR if accessible else HIDE_CURSOR)
        for screen in self.screen_stack:
            for field in screen.query(Input):
                field.cursor_blink = not accessible
        if accessible:
            self._cursor_follower.resume()
        else:
            self._cursor_follower.pause()

    def _follow_focus(self) -> None:
        """A field moved by what a screen mounted after it got the focus (the log-in's account
        list, loaded in a worker) takes the terminal's cursor with it."""
        if self.focused is not None:
            self._place_cursor(self.focused)

    def on_descendant_focus(self, event: events.DescendantFocus) -> None:
        """In accessible mode, the terminal's cursor follows the focus and no input blinks."""
        if not self.accessible:
            return
        if isinstance(event.widget, Input):
            event.widget.cursor_blink = False
        self.call_after_refresh(self._place_cursor, event.widget)

    def _place_cursor(self, widget: Widget) -> None:
        """Once the focused widget is laid out: an input places the cursor when its own cursor
        moves, but on a new screen it gets the focus before it has a place."""
        if not widget.has_focus:
            return
        place = (
            widget.cursor_screen_offset
            if isinstance(widget, Input)
            else widget.content_region.offset
        )
        if place != self.cursor_position:
            self.cursor_position = place
            widget.refresh()  # the terminal's cursor moves with the next update of the screen

    def action_toggle_accessible(self) -> None:
        self.set_accessible(not self.accessible)
        self.notify("Mode accessible activé." if self.accessible else "Mode accessible désactivé.")
        self.save_preferences(Preferences(accessible=self.accessible))

    @work(thread=True, exclusive=True, group="preferences", exit_on_error=False)
    def save_preferences(self, preferences: Preferences) -> None:
        self.context.site.preferences.save(preferences)

    # --- failures -------------------------------------------------------------------------

    @on(WorkFailed)
    def work_failed(self, message: WorkFailed) -> None:
        self.report_failure(message.error, message.shown_here)

    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        """The app's own workers (the screens forward theirs as WorkFailed)."""
        if event.state is WorkerState.ERROR and event.worker.error is not None:
            self.report_failure(event.worker.error)

    def report_failure(self, error: BaseException, shown_here: bool = False) -> None:
        """A UserError's message, or the unexpected error (logged) in French, unless the
        screen has shown it already."""
        if not isinstance(error, UserError):
            log.error("unexpected error in a worker", exc_info=error)
        if shown_here:
            return
        self.notify(failure_text(error), severity="error")
        self.bell()

    # --- command palette: every key binding of the screen is also a command --------------

    def action_command_palette(self) -> None:
        from mediateur_tui.ui.screens.palette import FrenchCommandPalette

        if self.use_command_palette and not isinstance(self.screen, FrenchCommandPalette):
            self.push_screen(FrenchCommandPalette())

    def get_system_commands(self, screen: Screen[object]) -> Iterable[SystemCommand]:
        yield SystemCommand(
            ACCESSIBLE_COMMAND,
            "Curseur visible, sans animation, contraste élevé, verdicts en une ligne de texte",
            self.action_toggle_accessible,
        )
        seen = {"toggle_accessible"}  # the help screen's key for it: the command above
        for active in screen.active_bindings.values():
            binding = active.binding
            if not is_listed(binding) or binding.action in seen:
                continue
            seen.add(binding.action)
            yield SystemCommand(
                binding_title(binding),
                f"Touche {key_label(binding.key)}",
                partial(self.run_action, binding.action, active.node),
            )
