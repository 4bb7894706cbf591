"""Code run in child processes (multiprocessing, spawn context) by the concurrency tests.

Each worker opens the database itself, as a second copy of the app would, and reports what it
did through a queue or a pipe. Exceptions are reported too, so that the test fails with the
child's traceback instead of hanging.
"""

from __future__ import annotations

import threading
import traceback
from pathlib import Path

from mediateur_tui.domain.clock import fixed_clock
from mediateur_tui.services.desk import Desk
from mediateur_tui.store.engine import open_database

from .helpers import NOW


def race(name: str, path: Path, session_id: int, operator_id: int, inputs, barrier, queue):
    """Redeems each input right after both processes have reached the barrier."""
    try:
        desk = Desk(open_database(path), clock=fixed_clock(NOW))
        results = []
        for text in inputs:
            barrier.wait(timeout=60)
            result = desk.redeem(session_id, operator_id, text)
            results.append((result.code, result.verdict.value))
        queue.put((name, "ok", results))
    except BaseException:
        barrier.abort()  # the other process must not wait for us
        queue.put((name, "error", traceback.format_exc()))


def redeem_until_killed(path: Path, session_id: int, operator_id: int, codes, cancel_every, conn):
    """Redeems `codes` one by one (cancelling every n-th), reporting each commit on `conn`,
    then waits to be killed."""
    try:
        desk = Desk(open_database(path), clock=fixed_clock(NOW))
        for index, code in enumerate(codes, start=1):
            result = desk.redeem(session_id, operator_id, code)
            if not result.redeemable:
                raise AssertionError(f"{code}: {result.verdict} {result.message}")
            conn.send(("redeemed", code))
            if index % cancel_every == 0:
                line = desk.last_active_redemption(session_id)
                if line is None or line.code != code:
                    raise AssertionError(f"last redemption is {line}, expected {code}")
                desk.cancel(line.id, operator_id, "erreur de saisie")
                conn.send(("cancelled", code))
        conn.send(("done", None))
    except BaseException:
        conn.send(("error", traceback.format_exc()))
        return
    threading.Event().wait()  # stay alive until killed, so that every run ends the same way


def open_fresh(path: Path, barrier, queue):
    """Opens (creating and migrating) the database right after the other process is ready."""
    try:
        barrier.wait(timeout=60)
        open_database(path).dispose()
        queue.put(("ok", None))
    except BaseException:
        barrier.abort()
        queue.put(("error", traceback.format_exc()))
