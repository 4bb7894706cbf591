"""Constants and helpers shared by the UI tests: the demo data of one test, and pilot helpers
that wait for the app's thread workers instead of sleeping."""

from __future__ import annotations

import asyncio
import contextlib
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
from sqlalchemy import Engine, text
from sqlmodel import Session, SQLModel, select
from textual import events
from textual.keys import _character_to_key
from textual.pilot import Pilot
from textual.widget import Widget
from textual.widgets import Select
from textual.widgets._footer import FooterKey
from textual.worker import Worker, WorkerCancelled, WorkerFailed, WorkerState

from mediateur_tui.domain.clock import fixed_clock
from mediateur_tui.services.auth import OperatorInfo, list_operators
from mediateur_tui.services.desk import Desk
from mediateur_tui.services.site import Site
from mediateur_tui.store.models import Redemption
from mediateur_tui.ui.app import MediateurApp
from mediateur_tui.ui.screens.session import SessionScreen

# A fixed Saturday morning, away from DST changes and year ends; demo dates are relative to it.
NOW = datetime(2026, 11, 28, 9, 30, tzinfo=UTC)
# The month a month end closes by default, and a morning in it.
PREVIOUS_MONTH = "2026-10"
IN_OCTOBER = datetime(2026, 10, 14, 8, 0, tzinfo=UTC)
DEMO_PASSES = 300
DEMO_PINS = [("Camille Martin", "1234"), ("Karim Benali", "5678")]
DISTRIBUTOR = ("2468", "Nadia Lefèvre")  # log_in(pilot, *DISTRIBUTOR)
SIZE = (80, 24)
# The session screen's scan loop runs as long as the screen lives: never wait for it to end.
SCAN_LOOP = "process_scans"
MAX_ROUNDS = 400
WORKER_TIMEOUT = 120  # seconds: a worker that never ends fails the test, not hangs it


def bare(entry: str) -> str:
    """The 13-symbol code of a demo entry, which is a QR payload or a bare code."""
    return entry.split(":")[2] if entry.startswith("PN1:") else entry


@dataclass
class DemoData:
    data_dir: Path
    engine: Engine
    codes: dict[str, list[str]]
    images: list[Path]
    stock: list[str] = field(default_factory=list)  # unattributed carnets, for a distributor

    def operator(self, name: str = "Camille Martin") -> OperatorInfo:
        return next(op for op in list_operators(self.engine) if op.name == name)

    def app(
        self, demo_pins: list[tuple[str, str]] | None = None, accessible: bool = False
    ) -> MediateurApp:
        return make_app(self.engine, self.data_dir, demo_pins=demo_pins, accessible=accessible)

    def desk(self, moment: datetime = NOW) -> Desk:
        return Desk(self.engine, fixed_clock(moment))

    def rows(self, model: type[SQLModel]) -> list:
        """Every row of a table, in insertion order."""
        with Session(self.engine) as session:
            return list(session.exec(select(model).order_by(text("rowid"))).all())

    def redemptions(self) -> list[Redemption]:
        return self.rows(Redemption)

    def take(self, moment: datetime, title: str, entries: list[str], name: str = "Camille Martin"):
        """One ended session at `moment`, taking `entries` a few minutes apart."""
        operator = self.operator(name)
        desk = self.desk(moment)
        session_id = desk.start_session(operator.id, title, "collectif", "", 90).id
        for step, entry in enumerate(entries, start=1):
            self.desk(moment + timedelta(minutes=5 * step)).redeem(session_id, operator.id, entry)
        self.desk(moment + timedelta(minutes=60)).end_session(session_id)
        return session_id


def make_app(
    engine: Engine,
    data_dir: Path,
    demo_pins: list[tuple[str, str]] | None = None,
    hub_transport: httpx.BaseTransport | None = None,
    accessible: bool = False,
) -> MediateurApp:
    """The app on any data directory, on the fixed clock (a hub never makes tests wait)."""
    site = Site(
        engine, data_dir, fixed_clock(NOW), transport=hub_transport, sleep=lambda _seconds: None
    )
    return MediateurApp(site, demo_pins=demo_pins, accessible=accessible)


def footer_keys(app) -> str:
    """The footer as shown: `key description` pairs, in order."""
    return " ".join(
        f"{item.key_display} {item.description}" for item in app.screen.query(FooterKey)
    )


def notifications(app) -> list[str]:
    return [notification.message for notification in app._notifications]


def text_of(widget: Widget) -> str:
    """The plain text a Static (or any simple widget) shows."""
    visual = widget.render()
    return getattr(visual, "plain", str(visual))


def session_screen(app) -> SessionScreen | None:
    return next((s for s in reversed(app.screen_stack) if isinstance(s, SessionScreen)), None)


async def settle(pilot: Pilot) -> None:
    """Waits until every finite worker has finished, every message its results posted has been
    handled and every submitted scan has its verdict.

    A worker may be cancelled (an exclusive worker replaced by a newer one, a screen closed) or
    fail (the app reports it): both are finished for this purpose, as in the model codebases'
    `wait_for_workers`. A worker may also not have started yet (pending): then wait a round.
    """
    app = pilot.app
    for _ in range(MAX_ROUNDS):
        await pilot.pause()
        busy = [w for w in app.workers if not w.is_finished and w.name != SCAN_LOOP]
        if busy:
            await _wait_for(busy)
            continue
        if _messages_pending(app):
            continue
        screen = session_screen(app)
        if screen is not None and screen.pending:
            await pilot.pause(0.01)
            continue
        await pilot.pause()
        return
    raise AssertionError("the app did not settle (workers, messages or scans still pending)")


async def _wait_for(workers: list[Worker]) -> None:
    for worker in workers:
        if worker.state is WorkerState.PENDING:
            return  # not started yet: the next round sees it running
        try:
            async with asyncio.timeout(WORKER_TIMEOUT):
                with contextlib.suppress(WorkerCancelled, WorkerFailed):
                    await worker.wait()
        except TimeoutError:
            raise AssertionError(f"worker {worker.name} still running") from None


def _messages_pending(app) -> bool:
    """Whether the app or one of its screens still has messages to handle (worker results)."""
    pumps = [app, *app.screen_stack]
    return any(not pump._message_queue.empty() for pump in pumps)


async def log_in(pilot: Pilot, pin: str = "1234", name: str | None = None) -> None:
    """Picks the operator (the first one by default), types the PIN and Enter."""
    await settle(pilot)
    if name is not None:
        pilot.app.screen.query_one("#operator", Select).value = name
        await pilot.pause()
    await pilot.press(*pin, "enter")
    await settle(pilot)


def burst(app, text: str) -> None:
    """Sends the keys of `text` ("\n" is Enter) the way a fast USB scanner does: back to back.

    `pilot.press` waits for the app to go idle after every key (about 60 ms a key here), which
    is slow for 140-character QR payloads and hides any race between keys of a burst; these
    events go through the same path (the app's queue, then the focused widget) with no pause.
    """
    for character in text:
        if character == "\n":
            event = events.Key("enter", "\r")
        else:
            key = character if character.isalnum() else _character_to_key(character)
            event = events.Key(key, character)
        event.set_sender(app)
        app.post_message(event)


async def scan(pilot: Pilot, text: str) -> None:
    """Sends a scan and Enter to the focused input and waits for the verdict."""
    burst(pilot.app, text + "\n")
    await settle(pilot)


async def type_text(pilot: Pilot, text: str) -> None:
    """Types into the focused input (no Enter) and lets the app catch up."""
    burst(pilot.app, text)
    await settle(pilot)


def count_bells(monkeypatch, app) -> list[None]:
    """Replaces app.bell; the returned list grows by one item at each ring."""
    rings: list[None] = []
    monkeypatch.setattr(app, "bell", lambda: rings.append(None))
    return rings


BELLS_TIMEOUT = 5  # seconds: a refusal's second bell comes 0.3 s after the first


async def wait_for_bells(pilot: Pilot, bells: list[None], count: int) -> None:
    """Waits until `bells` (count_bells) has rung `count` times, the timed ones included."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + BELLS_TIMEOUT
    while len(bells) < count and loop.time() < deadline:
        await pilot.pause(0.05)
    assert len(bells) == count
