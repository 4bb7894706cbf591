"""Two sites take the same pass offline; the region accepts the first batch received and reports
the other line as a conflict; then every site's replica knows the pass is used.

Against a real `mediateur-hub serve` process, on SQLite and on PostgreSQL.
"""

from __future__ import annotations

import csv
import json
import re

import httpx
from contract import validate

from mediateur_tui.domain.codes import format_code
from mediateur_tui.domain.formatting import format_date, format_datetime, local_date
from mediateur_tui.domain.periods import period_label
from mediateur_tui.services.batches import batch_document

from .conftest import (
    PERIOD,
    SITE_A,
    SITE_A_NAME,
    SITE_B,
    SITE_B_NAME,
    SITE_C,
    SITE_C_NAME,
    ack_document,
    in_period,
)

BATCH_ID = re.compile(r"Identifiant de la remise : ([0-9a-f]{32})")


def test_same_pass_at_two_sites_first_received_wins(any_region, make_site, tmp_path) -> None:
    region = any_region
    region.init()
    carnets = region.issue(2, size=5)
    first, second = sorted(carnets)
    region.attribute(first, "BENEF-0001")
    region.attribute(second, "BENEF-0002")
    all_codes = sorted(code for codes in carnets.values() for code in codes)
    names = {SITE_A: SITE_A_NAME, SITE_B: SITE_B_NAME, SITE_C: SITE_C_NAME}
    tokens = {site_id: region.enrol_site(site_id, name) for site_id, name in names.items()}
    server = region.serve()

    # Both sites enrol and pull the replica over HTTP.
    site_a, site_b = make_site("a"), make_site("b")
    for site, site_id in ((site_a, SITE_A), (site_b, SITE_B)):
        out = site.ok("enrol", "--hub", server.url, "--token", tokens[site_id])
        assert f"lieu « {names[site_id]} » ({site_id})" in out
        out = site.ok("sync")
        assert "(10 pass)" in out
        assert "Aucune remise en attente d'envoi." in out
        assert sorted(site.pass_codes()) == all_codes
    site_a.ok("operator", "add", "Camille Martin", "--role", "responsable", pin="1234")
    site_b.ok("operator", "add", "Dominique Petit", "--role", "mediateur", pin="5678")

    # Offline, last month: the same pass taken at both sites, and one more at each.
    shared, only_a, only_b = carnets[first][0], carnets[first][1], carnets[second][0]
    at_a, at_b = in_period(10, 9, 30), in_period(12, 14, 15)
    taken_a = site_a.redeem("Camille Martin", "1234", [shared, only_a], at_a)
    taken_b = site_b.redeem("Dominique Petit", "5678", [shared, only_b], at_b)
    assert all(result.redeemable for result in taken_a + taken_b)

    batch_ids = []
    for site in (site_a, site_b):
        out = site.ok("close-month", "--month", PERIOD)
        assert f"Mois de {period_label(PERIOD)} clos : remise n° 1, 2 pass, 20,00 €" in out
        found = BATCH_ID.search(out)
        assert found, out
        batch_ids.append(found.group(1))
    batch_a, batch_b = batch_ids

    # A remits first: both lines accepted. B then: the shared pass is a conflict naming A.
    out = site_a.ok("sync")
    label = period_label(PERIOD)
    assert f"Remise n° 1 ({label}) : 2 pass acceptés pour 20,00 €, 0 pass refusé." in out
    out = site_b.ok("sync")
    assert f"Remise n° 1 ({label}) : 1 pass accepté pour 10,00 €, 1 pass refusé." in out
    # The refused line itself, with the winner; said once.
    said = (
        f"Refusé par la région : {format_code(shared)}, encaissé ici le {format_datetime(at_b)}"
        f" — déjà encaissé ailleurs : payé à {SITE_A_NAME}, qui l'a encaissé le "
        f"{format_datetime(at_a)}."
    )
    assert said in out and out.count("Refusé par la région") == 1
    again = json.loads(site_b.ok("sync", "--json"))
    assert again["refusals"] == []
    # The pass B took and the region paid to A: B's check says so, and refuses it.
    check = site_b.cli("check", shared)
    assert check.code == 1
    assert (
        f"Encaissé ici le {format_datetime(at_b)}, mais refusé par la région : déjà payé à "
        f"{SITE_A_NAME}, qui l'a encaissé le {format_datetime(at_a)}."
    ) in check.out

    lines_a = site_a.ack_lines(batch_a)
    assert {code: (line.verdict, line.reason) for code, line in lines_a.items()} == {
        shared: ("accepted", None),
        only_a: ("accepted", None),
    }
    lines_b = site_b.ack_lines(batch_b)
    assert (lines_b[only_b].verdict, lines_b[only_b].reason) == ("accepted", None)
    conflict = lines_b[shared]
    assert (conflict.verdict, conflict.reason) == ("refused", "conflict")
    assert (conflict.winner_site_id, conflict.winner_redeemed_at) == (SITE_A, at_a)
    refused = [line.describe() for line in site_b.month_end().ack_lines(batch_b)]
    assert (
        f"{format_code(shared)} : refusé — déjà encaissé ailleurs ({SITE_A}, "
        f"{format_datetime(at_a)})"
    ) in refused
    assert site_b.month_end().pending_batches() == []

    # What went over the wire keeps to the contract.
    for site, batch_id in ((site_a, batch_a), (site_b, batch_b)):
        validate(batch_document(site.engine, batch_id), "pn-batch/1")
        validate(ack_document(site, batch_id), "pn-ack/1")
    winner = next(x for x in ack_document(site_b, batch_b)["lines"] if x["code"] == shared)
    assert winner["winner"] == {
        "site_id": SITE_A,
        "redeemed_at": at_a.isoformat().replace("+00:00", "Z"),
    }

    # Every line is kept by the hub, once; the pass is paid to A only.
    assert sorted(region.line_ids()) == sorted(
        line.redemption_id for line in [*lines_a.values(), *lines_b.values()]
    )

    # The next sync tells every site which passes the others took.
    site_a.ok("sync")
    site_b.ok("sync")
    assert site_b.remote_redemptions() == {
        shared: (SITE_A, local_date(at_a)),
        only_a: (SITE_A, local_date(at_a)),
    }
    assert site_a.remote_redemptions() == {only_b: (SITE_B, local_date(at_b))}

    with httpx.Client(base_url=server.url, timeout=30) as client:
        response = client.get(
            "/v1/replica/changes", headers={"Authorization": f"Bearer {site_b.api_key()}"}
        )
    page = response.json()
    validate(page, "pn-replica-page/1")
    used = [change for change in page["changes"] if change["t"] == "used"]
    assert used == [
        {"t": "used", "code": code, "site": site_id, "on": local_date(at).isoformat()}
        for code, site_id, at in (
            (shared, SITE_A, at_a),
            (only_a, SITE_A, at_a),
            (only_b, SITE_B, at_b),
        )
    ]

    # A third site, enrolled afterwards, sees the pass as taken at A.
    site_c = make_site("c")
    site_c.ok("enrol", "--hub", server.url, "--token", tokens[SITE_C])
    site_c.ok("sync")
    checked = site_c.cli("check", format_code(shared), "--json")
    assert checked.code == 1, checked.err
    verdict = json.loads(checked.out)
    assert verdict["verdict"] == "redeemed_elsewhere"
    assert verdict["message"] == (
        f"Déjà encaissé le {format_date(local_date(at_a))} à {SITE_A_NAME}."
    )

    # The region's statements: A's month lists the pass accepted, B's lists the conflict.
    out_dir = tmp_path / "releves"
    out = region.ok("statement", "--site", SITE_A, "--month", PERIOD, "--out", str(out_dir))
    assert "2 lignes reçues, 2 pass acceptés pour 20,00 €, 0 ligne refusée" in out
    out = region.ok("statement", "--site", SITE_B, "--month", PERIOD, "--out", str(out_dir))
    assert "2 lignes reçues, 1 pass accepté pour 10,00 €, 1 ligne refusée" in out
    rows_a = _statement_rows(out_dir / f"releve-{SITE_A}-{PERIOD}.csv")
    rows_b = _statement_rows(out_dir / f"releve-{SITE_B}-{PERIOD}.csv")
    assert (rows_a[shared]["Verdict"], rows_a[shared]["Motif"]) == ("accepté", "")
    assert rows_b[shared]["Verdict"] == "refusé"
    assert rows_b[shared]["Motif"] == (
        f"Déjà encaissé ailleurs (premier reçu : {SITE_A}, le {format_datetime(at_a)})"
    )
    assert rows_b[only_b]["Verdict"] == "accepté"


def _statement_rows(path) -> dict[str, dict[str, str]]:
    """The statement's lines by pass code (the total line has no code)."""
    with path.open(encoding="utf-8-sig") as handle:
        rows = list(csv.DictReader(handle, delimiter=";"))
    return {row["Code"].replace("-", ""): row for row in rows if row["Code"]}
