"""Code run in child processes (multiprocessing, spawn) by the fault suite."""

from __future__ import annotations

import contextlib
import io
import os
import threading
import traceback
from pathlib import Path

from mediateur_tui.cli import main as site_main
from mediateur_tui.services.site import open_site


def redeem_then_wait(data_dir: Path, codes: list[str], conn) -> None:
    """Takes `codes` in one session, reports, then waits to be killed (a crash: the process
    never closes the database, so nothing is checkpointed)."""
    try:
        site = open_site(data_dir)
        operator = next(op for op in site.accounts.list() if op.role == "mediateur")
        session = site.desk.start_session(operator.id, "Atelier", "collectif", "", 60)
        for code in codes:
            result = site.desk.redeem(session.id, operator.id, code)
            assert result.redeemable, result.message
        conn.send(("done", len(codes)))
    except BaseException:
        conn.send(("error", traceback.format_exc()))
        return
    threading.Event().wait()


def redeem_rounds(data_dir: Path, codes: list[str], pin: str, name: str, barrier, queue) -> None:
    """For each code, waits for every process, then runs `mediateur-tui redeem CODE` as a
    script would; reports each exit code and output (and any exception that escaped)."""
    os.environ["MEDIATEUR_PIN"] = pin
    for round_, code in enumerate(codes):
        try:
            barrier.wait(timeout=120)
        except BaseException:
            queue.put((round_, "barrier", traceback.format_exc(), ""))
            return
        out, err = io.StringIO(), io.StringIO()
        try:
            with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
                exit_code = site_main(
                    ["redeem", code, "--operator", name, "--json", "--data-dir", str(data_dir)]
                )
            queue.put((round_, exit_code, out.getvalue(), err.getvalue()))
        except BaseException:
            queue.put((round_, "escaped", traceback.format_exc(), err.getvalue()))


def hold_write_lock(database: Path, seconds: float, ready, done) -> None:
    """Holds the database's write lock (BEGIN IMMEDIATE) until `done` is set (`seconds` at
    most: a safety net, should the test never set it)."""
    import sqlite3

    connection = sqlite3.connect(database, isolation_level=None)
    connection.execute("BEGIN IMMEDIATE")
    ready.set()
    told = done.wait(seconds)
    connection.execute("ROLLBACK")
    connection.close()
    if not told:
        raise SystemExit(1)  # the safety net: the exit code says so


def redeem_one_by_one(data_dir: Path, codes: list[str], conn) -> None:
    """Takes `codes` one transaction each, as a desk would, saying when it starts and ends."""
    try:
        site = open_site(data_dir)
        operator = next(op for op in site.accounts.list() if op.role == "mediateur")
        session = site.desk.start_session(operator.id, "Atelier", "collectif", "", 60)
        conn.send("started")
        for code in codes:
            assert site.desk.redeem(session.id, operator.id, code).redeemable
        site.close()
        conn.send(("done", len(codes)))
    except BaseException:
        conn.send(("error", traceback.format_exc()))
