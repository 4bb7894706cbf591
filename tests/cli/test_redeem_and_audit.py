"""`mediateur-tui redeem` (paper-log entry) and `mediateur-tui audit verify`."""

from __future__ import annotations

import json
import sqlite3

from mediateur_tui.cli import main
from mediateur_tui.store.sqlite_file import DATABASE_FILENAME

from .conftest import DEMO_OPERATOR, DEMO_PIN, bare, run_cli

SESSION_TITLE = "Saisie différée (journal papier)"


def rows(data_dir, sql: str, *params) -> list[tuple]:
    with sqlite3.connect(data_dir / DATABASE_FILENAME) as db:
        return db.execute(sql, params).fetchall()


def redeem(capsys, data_dir, *codes: str, operator: str = DEMO_OPERATOR) -> tuple[int, str, str]:
    args = ["redeem", *codes, "--operator", operator, "--data-dir", str(data_dir), "--json"]
    code = main(args)
    out, err = capsys.readouterr()
    return code, out, err


def test_redeem_records_the_codes(demo_dir, capsys, monkeypatch):
    monkeypatch.setenv("MEDIATEUR_PIN", DEMO_PIN)
    first, second = demo_dir.codes["valid"][:2]  # a QR payload and a bare code
    code, out, err = redeem(capsys, demo_dir.path, first, second)
    assert code == 0, err
    results = json.loads(out)
    assert [result["verdict"] for result in results] == ["valid", "valid"]
    recorded = rows(
        demo_dir.path,
        "SELECT r.code, r.value_cents, r.input_method, r.cancelled_at, o.name, s.title,"
        " s.ended_at FROM redemption r JOIN operator o ON o.id = r.operator_id"
        " JOIN desk_session s ON s.id = r.session_id ORDER BY r.rowid",
    )
    assert [row[0] for row in recorded] == [bare(first), bare(second)]
    for _, value, method, cancelled, name, title, ended in recorded:
        assert (value, method, cancelled, name, title) == (
            1000,
            "cli",
            None,
            DEMO_OPERATOR,
            SESSION_TITLE,
        )
        assert ended is not None  # the session is closed at the end of the command
    assert rows(demo_dir.path, "SELECT count(*) FROM desk_session") == [(1,)]

    # Checking a redeemed pass now says where and by whom.
    code = main(["check", second, "--data-dir", str(demo_dir.path), "--json"])
    assert code == 1
    result = json.loads(capsys.readouterr().out)
    assert result["verdict"] == "redeemed_here"
    assert DEMO_OPERATOR in result["message"]
    assert SESSION_TITLE in result["message"]

    # Redeeming it again refuses it, records nothing more, and logs the refusal.
    code, out, _ = redeem(capsys, demo_dir.path, bare(first).lower())
    assert code == 1
    assert json.loads(out)["verdict"] == "redeemed_here"
    assert rows(demo_dir.path, "SELECT count(*) FROM redemption") == [(2,)]
    assert rows(demo_dir.path, "SELECT verdict FROM refused_scan") == [("redeemed_here",)]


def test_redeem_with_a_refused_code_exits_1_but_keeps_the_good_ones(demo_dir, capsys, monkeypatch):
    monkeypatch.setenv("MEDIATEUR_PIN", DEMO_PIN)
    valid, expired = demo_dir.codes["valid"][3], demo_dir.codes["expired"][0]
    code, out, _ = redeem(capsys, demo_dir.path, valid, expired)
    assert code == 1
    assert [result["verdict"] for result in json.loads(out)] == ["valid", "expired"]
    assert rows(demo_dir.path, "SELECT code FROM redemption") == [(bare(valid),)]
    assert rows(demo_dir.path, "SELECT code, verdict FROM refused_scan") == [
        (bare(expired), "expired")
    ]


def test_redeem_text_output_summarises_the_session(demo_dir, capsys, monkeypatch):
    monkeypatch.setenv("MEDIATEUR_PIN", DEMO_PIN)
    codes = demo_dir.codes["valid"][:3]
    args = ["redeem", *codes, "--operator", DEMO_OPERATOR, "--data-dir", str(demo_dir.path)]
    assert main([*args, "--session-title", "Atelier du mardi"]) == 0
    out = capsys.readouterr().out
    assert out.count(" : Pass valide, 10,00 €") == 3
    assert "Séance « Atelier du mardi » : 3 pass encaissés." in out


def test_redeem_with_a_wrong_pin_exits_2_and_records_nothing(demo_dir, capsys, monkeypatch):
    monkeypatch.setenv("MEDIATEUR_PIN", "0000")
    code, out, err = redeem(capsys, demo_dir.path, demo_dir.codes["valid"][0])
    assert code == 2
    assert out == ""
    assert "Code PIN incorrect" in err
    assert rows(demo_dir.path, "SELECT count(*) FROM redemption") == [(0,)]
    assert rows(demo_dir.path, "SELECT count(*) FROM desk_session") == [(0,)]
    assert rows(
        demo_dir.path, "SELECT failed_attempts FROM operator WHERE name = ?", DEMO_OPERATOR
    ) == [(1,)]


def test_redeem_for_an_unknown_operator_exits_2(demo_dir, capsys, monkeypatch):
    monkeypatch.setenv("MEDIATEUR_PIN", DEMO_PIN)
    code, _, err = redeem(capsys, demo_dir.path, demo_dir.codes["valid"][0], operator="Personne")
    assert code == 2
    assert "Opérateur inconnu" in err


def test_redeem_without_pin_or_terminal_exits_2(demo_dir):
    done = run_cli(
        "redeem",
        demo_dir.codes["valid"][0],
        "--operator",
        DEMO_OPERATOR,
        "--data-dir",
        str(demo_dir.path),
    )
    assert done.returncode == 2
    assert "Code PIN manquant" in done.stderr
    assert "MEDIATEUR_PIN" in done.stderr
    assert rows(demo_dir.path, "SELECT count(*) FROM redemption") == [(0,)]


def test_redeem_then_audit_in_subprocesses(demo_dir):
    codes = [demo_dir.codes["valid"][5], demo_dir.codes["grace"][1]]
    done = run_cli(
        "redeem",
        *codes,
        "--operator",
        DEMO_OPERATOR,
        "--data-dir",
        str(demo_dir.path),
        "--json",
        pin=DEMO_PIN,
    )
    assert done.returncode == 0, done.stderr
    assert [r["verdict"] for r in json.loads(done.stdout)] == ["valid", "grace"]
    audit = run_cli("audit", "verify", "--data-dir", str(demo_dir.path))
    assert audit.returncode == 0, audit.stderr
    # The login, the session `redeem` opens, the two redemptions, and the session's end.
    assert "Journal d'audit intact : 5 événements vérifiés." in audit.stdout


# --- the audit chain ---------------------------------------------------------------------------


def audit(capsys, data_dir) -> tuple[int, str]:
    code = main(["audit", "verify", "--data-dir", str(data_dir)])
    return code, capsys.readouterr().out


def with_redemptions(demo_dir, capsys, monkeypatch) -> None:
    monkeypatch.setenv("MEDIATEUR_PIN", DEMO_PIN)
    code, _, err = redeem(capsys, demo_dir.path, *demo_dir.codes["valid"][:3])
    assert code == 0, err
    kinds = rows(demo_dir.path, "SELECT kind FROM audit_event ORDER BY id")
    assert kinds == [("login",), ("session_started",), *[("redemption",)] * 3, ("session_ended",)]


def test_audit_verify_on_a_fresh_demo(demo_dir, capsys):
    assert audit(capsys, demo_dir.path) == (0, "Journal d'audit intact : 0 événements vérifiés.\n")


def test_audit_verify_passes_after_redemptions(demo_dir, capsys, monkeypatch):
    with_redemptions(demo_dir, capsys, monkeypatch)
    code, out = audit(capsys, demo_dir.path)
    assert code == 0
    assert "intact : 6 événements" in out


def test_audit_verify_detects_an_edited_event(demo_dir, capsys, monkeypatch):
    with_redemptions(demo_dir, capsys, monkeypatch)
    with sqlite3.connect(demo_dir.path / DATABASE_FILENAME) as db:
        changed = db.execute(
            "UPDATE audit_event SET details = replace(details, '1000', '100') WHERE id = 3"
        ).rowcount
    assert changed == 1
    code, out = audit(capsys, demo_dir.path)
    assert code == 2
    assert "ALTÉRÉ à l'événement n° 3 (2 événements intacts avant)" in out


def test_audit_verify_detects_a_deleted_event(demo_dir, capsys, monkeypatch):
    with_redemptions(demo_dir, capsys, monkeypatch)
    with sqlite3.connect(demo_dir.path / DATABASE_FILENAME) as db:
        db.execute("DELETE FROM audit_event WHERE id = 2")
    code, out = audit(capsys, demo_dir.path)
    assert code == 2
    assert "ALTÉRÉ à l'événement n° 3" in out


def test_audit_verify_detects_a_recomputed_hash_without_its_successor(
    demo_dir, capsys, monkeypatch
):
    """Rewriting the last event's hash alone is caught too (its own content no longer matches)."""
    with_redemptions(demo_dir, capsys, monkeypatch)
    with sqlite3.connect(demo_dir.path / DATABASE_FILENAME) as db:
        db.execute("UPDATE audit_event SET hash = ? WHERE id = 4", ("f" * 64,))
    code, out = audit(capsys, demo_dir.path)
    assert code == 2
    assert "n° 4" in out
