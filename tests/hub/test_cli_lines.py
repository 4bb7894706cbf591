"""`mediateur-hub lines`: every line the hub received, from batches and declarations, run
in-process through `main()` on a real SQLite hub."""

from __future__ import annotations

import json

from mediateur_tui.domain.codes import format_code
from mediateur_tui.domain.formatting import format_euros
from mediateur_tui.hub.cli import main
from mediateur_tui.hub.declarations import receive_declaration
from mediateur_tui.hub.intake import receive_batch

from .helpers import SITE_A, SITE_B, World, cancellation, line, make_batch, make_declaration

TEN = format_euros(1000)


def run(capsys, world: World, *args: str) -> tuple[int, str, str]:
    code = main(["--dir", str(world.hub.settings.directory), *args])
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def received(world: World) -> dict[str, str]:
    """A month of lines of every kind; returns the redemption ids by name."""
    a, b = world.sites[SITE_A], world.sites[SITE_B]
    batched = line(world.fresh[1], "2026-11-12T08:00:00Z")
    waiting = line(world.fresh[0], "2026-11-12T09:30:00Z")
    cancelled = line(world.fresh[2], "2026-11-12T10:00:00Z")
    revoked = line(world.revoked, "2026-11-12T10:30:00Z")
    beaten = line(world.fresh[0], "2026-11-12T14:00:00Z")
    december = line(world.fresh[3], "2026-12-02T09:00:00Z")
    receive_declaration(world.hub, make_declaration(a, [batched, waiting, cancelled]))
    receive_declaration(world.hub, make_declaration(a, [], [cancellation(cancelled["id"])]))
    receive_declaration(world.hub, make_declaration(b, [beaten]))
    receive_batch(world.hub, make_batch(a, [batched, revoked]))
    receive_declaration(world.hub, make_declaration(a, [december]))
    return {
        "batched": batched["id"],
        "waiting": waiting["id"],
        "cancelled": cancelled["id"],
        "revoked": revoked["id"],
        "beaten": beaten["id"],
        "december": december["id"],
    }


def test_lines_of_a_month_in_french(sqlite_world: World, capsys) -> None:
    world = sqlite_world
    received(world)
    code, out, err = run(capsys, world, "lines", "--month", "2026-11")
    assert (code, err) == (0, "")
    f = world.fresh
    assert out.splitlines() == [
        f"{SITE_A}  {format_code(f[1])}  12/11/2026 09:00  {TEN}  remise 2026-11 n° 1  acceptée",
        f"{SITE_A}  {format_code(f[0])}  12/11/2026 10:30  {TEN}  déclaration  "
        "déclarée, pas encore remise",
        f"{SITE_A}  {format_code(f[2])}  12/11/2026 11:00  {TEN}  déclaration  annulée",
        f"{SITE_A}  {format_code(world.revoked)}  12/11/2026 11:30  {TEN}  remise 2026-11 n° 1  "
        "refusée : pass en opposition",
        f"{SITE_B}  {format_code(f[0])}  12/11/2026 15:00  {TEN}  déclaration  "
        f"refusée : déjà encaissé ailleurs (premier reçu : {SITE_A}, le 12/11/2026 10:30)",
        "5 lignes reçues.",
    ]


def test_lines_of_one_site_and_all_months(sqlite_world: World, capsys) -> None:
    world = sqlite_world
    received(world)
    code, out, _ = run(capsys, world, "lines", "--site", "fourmies-media")
    assert code == 0
    assert [row.split("  ")[0] for row in out.splitlines()[:-1]] == [SITE_B]
    code, out, _ = run(capsys, world, "lines", "--site", SITE_A)
    assert out.splitlines()[-2].endswith("déclaration  déclarée, pas encore remise")
    assert "02/12/2026 10:00" in out.splitlines()[-2]
    assert out.splitlines()[-1] == "5 lignes reçues."


def test_lines_as_json(sqlite_world: World, capsys) -> None:
    world = sqlite_world
    ids = received(world)
    code, out, _ = run(capsys, world, "lines", "--month", "11/2026", "--json")
    assert code == 0
    rows = json.loads(out)
    assert [row["redemption_id"] for row in rows] == [
        ids[name] for name in ("batched", "waiting", "cancelled", "revoked", "beaten")
    ]
    assert [(row["source"], row["status"], row["reason"]) for row in rows] == [
        ("batch", "accepted", None),
        ("declaration", "declared", None),
        ("declaration", "cancelled", None),
        ("batch", "refused", "revoked"),
        ("declaration", "refused", "conflict"),
    ]
    assert set(rows[0]) == {
        "site_id", "redemption_id", "code", "redeemed_at", "value_cents", "source", "batch_id",
        "period", "sequence", "replay_of_batch_id", "declaration_id", "status", "reason",
        "winner",
    }  # fmt: skip
    assert (rows[0]["period"], rows[0]["sequence"], rows[0]["value_cents"]) == ("2026-11", 1, 1000)
    assert rows[1]["batch_id"] is None and rows[1]["declaration_id"] is not None
    assert rows[4]["winner"] == {"site_id": SITE_A, "redeemed_at": "2026-11-12T09:30:00Z"}


def test_no_line_and_bad_arguments(sqlite_world: World, capsys) -> None:
    world = sqlite_world
    assert run(capsys, world, "lines")[:2] == (0, "Aucune ligne reçue.\n")
    assert run(capsys, world, "lines", "--json")[:2] == (0, "[]\n")
    code, out, err = run(capsys, world, "lines", "--month", "2026-13")
    assert (code, out) == (2, "")
    assert err.startswith("Erreur : Mois invalide : « 2026-13 »")
    code, _, err = run(capsys, world, "lines", "--site", "NULLE-PART")
    assert (code, err.strip()) == (2, "Erreur : Site inconnu : NULLE-PART.")
