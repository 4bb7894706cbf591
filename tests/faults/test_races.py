"""Processes racing for one database: exactly one winner per pass, a busy database said in
French after a bounded wait, and no login waiting behind another's scrypt."""

from __future__ import annotations

import json
import multiprocessing
import sqlite3
import threading
from collections import defaultdict

import pytest

from mediateur_tui.services import auth
from mediateur_tui.services.site import open_site
from mediateur_tui.store.sqlite_file import DATABASE_FILENAME

from . import workers
from .conftest import MEDIATEUR, Site, no_traceback, rows, run

SPAWN = multiprocessing.get_context("spawn")
PROCESSES = 16
ROUNDS = 50


def test_sixteen_processes_racing_for_each_pass_leave_exactly_one_winner(site: Site):
    """16 processes run `mediateur-tui redeem CODE --json` on the same pass at once, 50 times
    over (a new pass each round): one exit 0 that says so, 15 exits 1, no traceback."""
    codes = site.valid(ROUNDS)
    name, pin = MEDIATEUR
    barrier, queue = SPAWN.Barrier(PROCESSES), SPAWN.Queue()
    processes = [
        SPAWN.Process(
            target=workers.redeem_rounds, args=(site.path, codes, pin, name, barrier, queue)
        )
        for _ in range(PROCESSES)
    ]
    for process in processes:
        process.start()
    results = defaultdict(list)
    for _ in range(PROCESSES * ROUNDS):
        round_, exit_code, out, err = queue.get(timeout=300)
        results[round_].append((exit_code, out, err))
    for process in processes:
        process.join(timeout=60)
        assert process.exitcode == 0

    for round_, code in enumerate(codes):
        outcomes = results[round_]
        assert all("Traceback" not in out + err for _, out, err in outcomes), outcomes
        assert sorted(exit_code for exit_code, _, _ in outcomes) == [0] + [1] * 15, [
            (c, e) for c, _, e in outcomes if c not in (0, 1)
        ]
        winner = next(json.loads(out) for exit_code, out, _ in outcomes if exit_code == 0)
        assert winner["redeemable"] is True and winner["code"] == code
        losers = [json.loads(out) for exit_code, out, _ in outcomes if exit_code == 1]
        assert {loser["verdict"] for loser in losers} == {"redeemed_here"}
    counts = dict(
        rows(site, "SELECT code, COUNT(*) FROM redemption WHERE cancelled_at IS NULL GROUP BY code")
    )
    assert [counts.get(code) for code in codes] == [1] * ROUNDS


def test_a_write_lock_held_longer_than_the_wait_is_said_busy_and_nothing_is_taken(site):
    """Another program holds the write lock until `redeem` has given up: `redeem` waits its
    10 s, then says the database is busy (exit 2); once the lock is gone, the same pass is
    taken. (The holder holds until told, however slowly `redeem` starts.)"""
    code = site.valid(1)[0]
    ready, done = SPAWN.Event(), SPAWN.Event()
    holder = SPAWN.Process(
        target=workers.hold_write_lock, args=(site.path / DATABASE_FILENAME, 120, ready, done)
    )
    holder.start()
    try:
        assert ready.wait(timeout=60)
        name, pin = MEDIATEUR
        busy = run(
            "redeem", code, "--operator", name, "--data-dir", str(site.path),
            env={"MEDIATEUR_PIN": pin},
        )  # fmt: skip
    finally:
        done.set()
        holder.join(timeout=60)
    assert holder.exitcode == 0  # it held the lock until told, not until its safety net
    no_traceback(busy)
    assert busy.code == 2
    assert "La base de données est occupée par un autre programme depuis 10 s" in busy.err
    assert "rien n'a été enregistré" in busy.err
    again = run(
        "redeem", code, "--operator", name, "--data-dir", str(site.path),
        env={"MEDIATEUR_PIN": pin},
    )  # fmt: skip
    assert again.code == 0, again.err


@pytest.mark.parametrize("right_pin", [True, False], ids=["bon PIN", "mauvais PIN"])
def test_a_login_holds_no_lock_while_it_computes_scrypt(site, monkeypatch, right_pin):
    """While one login is inside scrypt, another process can take the write lock at once."""
    inside, release = threading.Event(), threading.Event()
    real_verify = auth.verify_pin

    def slow_verify(pin: str, stored: str) -> bool:
        inside.set()
        assert release.wait(timeout=60)
        return real_verify(pin, stored)

    monkeypatch.setattr(auth, "verify_pin", slow_verify)
    services = open_site(site.path)
    name, pin = MEDIATEUR
    outcome: list[object] = []
    login = threading.Thread(
        target=lambda: outcome.append(services.accounts.log_in(name, pin if right_pin else "0000"))
    )
    login.start()
    try:
        assert inside.wait(timeout=60)
        other = sqlite3.connect(site.path / DATABASE_FILENAME, timeout=0, isolation_level=None)
        other.execute("BEGIN IMMEDIATE")  # raises "database is locked" if the login held it
        other.execute("ROLLBACK")
        other.close()
    finally:
        release.set()
        login.join(timeout=60)
        services.close()
    (result,) = outcome
    assert (result.operator is not None) is right_pin
