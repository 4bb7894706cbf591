"""Two processes on one database file, and a process killed in the middle of its work.

Real processes (multiprocessing, spawn context), real files, no mocks: this is what happens
when two copies of the app run on the same machine, or when the laptop's battery dies.
"""

from __future__ import annotations

import json
import multiprocessing
import random
from collections import Counter, defaultdict

import pytest
from sqlmodel import Session

from mediateur_tui.domain.codes import format_code
from mediateur_tui.domain.scan_input import parse_scan
from mediateur_tui.store.audit import verify_chain
from mediateur_tui.store.engine import open_database
from mediateur_tui.store.sqlite_file import SCHEMA_REVISION

from . import workers
from .helpers import make_demo_database, plain_valid_codes, raw_rows

SPAWN = multiprocessing.get_context("spawn")
REDEEMABLE = {"valid", "grace"}


def test_two_processes_race_for_the_same_passes(demo_db):
    path = demo_db.path
    inputs = demo_db.codes["valid"] + demo_db.codes["grace"]  # 20 passes, QR and bare
    expected = {parse_scan(text).code: "valid" for text in demo_db.codes["valid"]}
    expected |= {parse_scan(text).code: "grace" for text in demo_db.codes["grace"]}
    assert len(expected) == 20
    # The second process types the same passes differently: lower case, with dashes.
    other_inputs = [format_code(parse_scan(text).code).lower() for text in inputs]
    desk = demo_db.desk
    camille, karim = demo_db.operator_ids["Camille Martin"], demo_db.operator_ids["Karim Benali"]
    sessions = {
        "A": (desk.start_session(camille, "Atelier A", "collectif", "", 120).id, camille),
        "B": (desk.start_session(karim, "Atelier B", "collectif", "", 120).id, karim),
    }
    demo_db.engine.dispose()

    barrier, queue = SPAWN.Barrier(2), SPAWN.Queue()
    processes = [
        SPAWN.Process(
            target=workers.race,
            args=(name, path, *sessions[name], texts, barrier, queue),
        )
        for name, texts in (("A", inputs), ("B", other_inputs))
    ]
    for process in processes:
        process.start()
    reports = {}
    try:
        for _ in processes:
            name, status, payload = queue.get(timeout=120)
            assert status == "ok", f"process {name} failed:\n{payload}"
            reports[name] = payload
    finally:
        for process in processes:
            process.join(timeout=30)
            if process.is_alive():
                process.kill()
    assert [process.exitcode for process in processes] == [0, 0]

    verdicts: dict[str, list[str]] = defaultdict(list)
    for name in ("A", "B"):
        assert [code for code, _ in reports[name]] == list(expected)
        for code, verdict in reports[name]:
            verdicts[code].append(verdict)
    for code, seen in verdicts.items():
        assert sorted(seen) == sorted([expected[code], "redeemed_here"]), code

    # In the database: exactly one active redemption per pass, by the process that won.
    winners = {code: "A" if verdict in REDEEMABLE else "B" for code, verdict in reports["A"]}
    rows = raw_rows(
        path,
        "SELECT r.code, r.session_id, r.operator_id FROM redemption r WHERE r.cancelled_at IS NULL",
    )
    assert Counter(code for code, _, _ in rows) == Counter(set(expected))
    assert {code: (session_id, operator_id) for code, session_id, operator_id in rows} == {
        code: sessions[winner] for code, winner in winners.items()
    }
    # The loser's scan is kept as a refusal, and the audit chain stayed one chain.
    refused = raw_rows(path, "SELECT code, verdict, session_id FROM refused_scan")
    assert sorted(refused) == sorted(
        (code, "redeemed_here", sessions["B" if winner == "A" else "A"][0])
        for code, winner in winners.items()
    )
    engine = open_database(path)
    try:
        with Session(engine) as session:
            assert verify_chain(session) == (22, None)  # 2 sessions started, 20 redemptions
    finally:
        engine.dispose()


def _check_consistency(path) -> dict[str, dict]:
    """Invariants that must hold whatever moment the writer was killed at.

    Returns the redemptions by id."""
    assert raw_rows(path, "PRAGMA integrity_check") == [("ok",)]
    assert raw_rows(path, "PRAGMA foreign_key_check") == []
    redemptions = {
        row[0]: {"code": row[1], "cancelled_at": row[2]}
        for row in raw_rows(path, "SELECT id, code, cancelled_at FROM redemption")
    }
    events = defaultdict(list)
    for kind, details in raw_rows(path, "SELECT kind, details FROM audit_event"):
        events[kind].append(json.loads(details))
    # A redemption and its audit event are one transaction: both or neither.
    assert sorted(e["id"] for e in events["redemption"]) == sorted(redemptions)
    for event in events["redemption"]:
        assert redemptions[event["id"]]["code"] == event["code"]
    # Same for a cancellation: the flag, the cancellation row and the event go together.
    cancellations = dict(raw_rows(path, "SELECT redemption_id, cancelled_at FROM cancellation"))
    cancelled = {rid: r["cancelled_at"] for rid, r in redemptions.items() if r["cancelled_at"]}
    assert cancellations == cancelled
    assert sorted(e["id"] for e in events["cancellation"]) == sorted(cancelled)
    # Never two active redemptions of one pass.
    assert (
        raw_rows(
            path,
            "SELECT code FROM redemption WHERE cancelled_at IS NULL "
            "GROUP BY code HAVING count(*) > 1",
        )
        == []
    )
    return redemptions


@pytest.mark.parametrize("seed", [1, 2])
def test_a_killed_writer_leaves_no_half_redemption(tmp_path, seed):
    demo_db = make_demo_database(tmp_path, passes=300)
    rng = random.Random(seed)
    path = demo_db.path
    operator_id = demo_db.operator_ids["Camille Martin"]
    desk_session = demo_db.desk.start_session(operator_id, "Atelier", "collectif", "", 120)
    available = demo_db.plain_valid_codes()
    assert len(available) >= 150
    demo_db.engine.dispose()
    reported_redeemed: set[str] = set()
    reported_cancelled: set[str] = set()
    unreported: set[str] = set()
    cancelled_in_db: set[str] = set()
    for kills in range(1, 4):
        codes, available = available[:45], available[45:]
        wanted = rng.randint(3, 30)  # commits to see before the kill
        receiver, sender = SPAWN.Pipe(duplex=False)
        process = SPAWN.Process(
            target=workers.redeem_until_killed,
            args=(path, desk_session.id, operator_id, codes, rng.randint(2, 5), sender),
        )
        process.start()
        sender.close()
        seen = 0
        try:
            while seen < wanted:
                assert receiver.poll(60), "the writer process reports nothing"
                what, payload = receiver.recv()
                assert what in ("redeemed", "cancelled"), f"writer stopped: {what}\n{payload}"
                if what == "redeemed":
                    reported_redeemed.add(payload)
                    seen += 1
                else:
                    reported_cancelled.add(payload)
        finally:
            process.kill()  # SIGKILL, wherever it is in its loop
            process.join(timeout=30)
        # What the child sent before it died was reported too, even if not read yet.
        while receiver.poll(0):
            try:
                what, payload = receiver.recv()
            except EOFError:  # the child's end closed when it died: nothing more
                break
            if what == "redeemed":
                reported_redeemed.add(payload)
            elif what == "cancelled":
                reported_cancelled.add(payload)
        receiver.close()
        assert process.exitcode == -9

        redemptions = _check_consistency(path)
        by_code = defaultdict(list)
        for redemption in redemptions.values():
            by_code[redemption["code"]].append(redemption)
        # Every commit the child reported survived the kill…
        assert reported_redeemed <= set(by_code)
        for code in reported_cancelled:
            assert by_code[code][0]["cancelled_at"] is not None
        # …and at most one more per kill (committed, not yet reported) exists.
        unreported_now = set(by_code) - reported_redeemed - unreported
        assert len(unreported_now) <= 1
        unreported |= unreported_now
        assert all(len(rows) == 1 for rows in by_code.values())
        # Likewise a cancellation may have committed just before the kill, unreported.
        cancelled_in_db = {code for code, rows in by_code.items() if rows[0]["cancelled_at"]}
        assert len(cancelled_in_db - reported_cancelled) <= kills

    engine = open_database(path)  # the app restarting after the crash
    try:
        with Session(engine) as session:
            count, broken = verify_chain(session)
        assert broken is None
        assert count >= len(reported_redeemed) + len(reported_cancelled)
        remaining = set(plain_valid_codes(engine))
        assert not remaining & (reported_redeemed - cancelled_in_db)
    finally:
        engine.dispose()
    assert raw_rows(path, "PRAGMA journal_mode") == [("wal",)]


@pytest.mark.parametrize("attempt", range(3))
def test_two_processes_create_the_same_new_database(tmp_path, attempt):
    """Two copies of the app started at once on a site's first day: both must open it.

    (Before the migrations ran in a BEGIN IMMEDIATE transaction, the second one failed with
    "database is locked": its deferred transaction could not be upgraded to a write.)"""
    path = tmp_path / "new.sqlite3"
    barrier, queue = SPAWN.Barrier(2), SPAWN.Queue()
    processes = [
        SPAWN.Process(target=workers.open_fresh, args=(path, barrier, queue)) for _ in range(2)
    ]
    for process in processes:
        process.start()
    try:
        outcomes = [queue.get(timeout=120) for _ in processes]
    finally:
        for process in processes:
            process.join(timeout=30)
            if process.is_alive():
                process.kill()
    assert [status for status, _ in outcomes] == ["ok", "ok"], "\n".join(
        str(text) for _, text in outcomes
    )
    assert raw_rows(path, "SELECT version_num FROM alembic_version") == [(SCHEMA_REVISION,)]
