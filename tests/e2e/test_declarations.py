"""Redemptions reach the region the day they happen: declarations, cancellations, the monthly
batch that still pays each line once, cuts in the middle, and a lost laptop that loses nothing.

Against a real `mediateur-hub serve` process (SQLite, and PostgreSQL where it says
`any_region`), with sites driven by their commands and services.
"""

from __future__ import annotations

import csv
import json
import random
from pathlib import Path
from typing import Any

import httpx
import pytest
from contract import validate
from sqlalchemy import text
from sqlmodel import Session, select

from mediateur_tui.domain.formatting import format_datetime
from mediateur_tui.domain.periods import period_label
from mediateur_tui.services.auth import log_in
from mediateur_tui.services.batches import batch_document
from mediateur_tui.services.declarations import next_declaration
from mediateur_tui.services.desk import Desk
from mediateur_tui.store.models import AuditEvent, Redemption

from .conftest import (
    PERIOD,
    SITE_A,
    SITE_A_NAME,
    SITE_B,
    SITE_B_NAME,
    SITE_C,
    SITE_C_NAME,
    Region,
    SiteDir,
    in_period,
)
from .proxy import Cut, CuttingProxy

NAMES = {SITE_A: SITE_A_NAME, SITE_B: SITE_B_NAME, SITE_C: SITE_C_NAME}
CAMILLE, CAMILLE_PIN = "Camille Martin", "1234"


def declared_ids(region: Region) -> list[str]:
    """One entry per declared line the hub keeps."""
    with region.engine.connect() as connection:
        rows = connection.execute(text("SELECT redemption_id FROM hub_declared_line"))
        return [row[0] for row in rows]


def used_changes(region: Region, code: str) -> list[str]:
    """The kinds of the replica changes about `code` that say it is used or released."""
    return [
        change["t"]
        for _, change in region.changes()
        if change.get("code") == code and change["t"] in ("used", "released")
    ]


def statement_rows(region: Region, site_id: str, folder: Path) -> tuple[str, dict[str, str]]:
    """The region's statement of `site_id` for PERIOD: its summary, and its verdict by code."""
    out = region.ok("statement", "--site", site_id, "--month", PERIOD, "--out", str(folder))
    with (folder / f"releve-{site_id}-{PERIOD}.csv").open(encoding="utf-8-sig") as handle:
        rows = [row for row in csv.DictReader(handle, delimiter=";") if row["Code"]]
    assert len(rows) == len({row["Code"] for row in rows})  # every line once
    return out, {row["Code"].replace("-", ""): row["Verdict"] for row in rows}


def enrolled(region: Region, make_site, *site_ids: str) -> tuple[str, list[SiteDir]]:
    """The hub served, and the sites enrolled online with their replica, each with Camille."""
    tokens = {site_id: region.enrol_site(site_id, NAMES[site_id]) for site_id in site_ids}
    server = region.serve()
    sites = []
    for site_id in site_ids:
        site = make_site(site_id.lower())
        site.ok("enrol", "--hub", server.url, "--token", tokens[site_id])
        site.ok("sync")
        site.ok("operator", "add", CAMILLE, "--role", "responsable", pin=CAMILLE_PIN)
        sites.append(site)
    return server.url, sites


def issued(region: Region, carnets: int) -> list[str]:
    region.init()
    codes = region.issue(carnets, size=5)
    for number, carnet in enumerate(sorted(codes), start=1):
        region.attribute(carnet, f"BENEF-{number:04d}")
    return [code for carnet in sorted(codes) for code in codes[carnet]]


def test_same_pass_same_day_online(any_region, make_site) -> None:
    """A and B take one pass the same day; after one sync each B sees the region's refusal
    naming A, and C, which took nothing, refuses the pass that very day."""
    region = any_region
    codes = issued(region, 1)
    _, (site_a, site_b, site_c) = enrolled(region, make_site, SITE_A, SITE_B, SITE_C)
    shared = codes[0]
    at_a, at_b = in_period(10, 9, 30), in_period(10, 11, 0)
    assert site_a.redeem(CAMILLE, CAMILLE_PIN, [shared], at_a)[0].redeemable
    assert site_b.redeem(CAMILLE, CAMILLE_PIN, [shared, codes[1]], at_b)[0].redeemable

    out_a = site_a.ok("sync")
    assert "Déclaré à la région : 1 encaissement (1 accepté, 0 refusé), 0 annulation." in out_a
    assert "Refusé par la région" not in out_a
    report = json.loads(site_b.ok("sync", "--json"))
    assert report["declarations"] == {
        "redemptions": 2,
        "cancellations": 0,
        "accepted": 1,
        "refused": 1,
    }
    (refusal,) = report["refusals"]
    assert (refusal["code"], refusal["reason"]) == (shared, "conflict")
    assert refusal["winner"]["site_id"] == SITE_A
    assert refusal["winner"]["site_name"] == SITE_A_NAME
    checked = site_b.cli("check", shared)
    assert checked.code == 1
    assert (
        f"Encaissé ici le {format_datetime(at_b)}, mais refusé par la région : déjà payé à "
        f"{SITE_A_NAME}, qui l'a encaissé le {format_datetime(at_a)}."
    ) in checked.out

    site_c.ok("sync")
    checked = json.loads(site_c.cli("check", shared, "--json").out)
    assert checked["verdict"] == "redeemed_elsewhere"
    assert SITE_A_NAME in checked["message"]
    assert used_changes(region, shared) == ["used"]  # one claim, A's
    assert len(declared_ids(region)) == len(set(declared_ids(region))) == 3  # each line once

    # Nothing new to declare: the next sync sends nothing and says nothing of it.
    again = site_b.ok("sync")
    assert "Déclaré à la région" not in again and "Refusé par la région" not in again


def test_declare_cancel_close_pays_exactly_the_active_lines(region, make_site, tmp_path) -> None:
    codes = issued(region, 1)
    _, (site_a, site_b) = enrolled(region, make_site, SITE_A, SITE_B)
    kept, cancelled = codes[:2], codes[2]
    taken = site_a.redeem(CAMILLE, CAMILLE_PIN, [*kept, cancelled], in_period(5, 10))
    assert all(result.redeemable for result in taken)
    assert "Déclaré à la région : 3 encaissements (3 acceptés, 0 refusé)" in site_a.ok("sync")
    site_b.ok("sync")
    assert set(site_b.remote_redemptions()) == {*kept, cancelled}

    with Session(site_a.engine) as session:
        redemption = session.exec(select(Redemption).where(Redemption.code == cancelled)).one()
    login = log_in(site_a.engine, CAMILLE, CAMILLE_PIN)
    assert login.operator is not None
    Desk(site_a.engine).cancel(redemption.id, login.operator.id, "Pass rendu au bénéficiaire")
    assert "Déclaré à la région : 0 encaissement (0 accepté, 0 refusé), 1 annulation." in site_a.ok(
        "sync"
    )
    assert used_changes(region, cancelled) == ["used", "released"]
    site_b.ok("sync")
    assert set(site_b.remote_redemptions()) == set(kept)  # B may take it now

    out = site_a.ok("close-month", "--month", PERIOD)
    assert f"Mois de {period_label(PERIOD)} clos : remise n° 1, 2 pass, 20,00 €" in out
    out = site_a.ok("sync")
    assert (
        f"Remise n° 1 ({period_label(PERIOD)}) : 2 pass acceptés pour 20,00 €, 0 pass refusé."
        in out
    )
    for code in kept:
        assert used_changes(region, code) == ["used"]  # the batch claimed nothing again
    summary, verdicts = statement_rows(region, SITE_A, tmp_path / "releves")
    assert "2 lignes reçues, 2 pass acceptés pour 20,00 €, 0 ligne refusée" in summary
    assert verdicts == dict.fromkeys(kept, "accepté")


def test_declarations_cut_at_random_leave_no_duplicate(region, make_site) -> None:
    """Twelve rounds: a few passes taken, the declaration cut at a random byte of its request
    or its answer (every attempt), then a healthy sync. The hub keeps each line once."""
    codes = issued(region, 8)
    tokens = {SITE_A: region.enrol_site(SITE_A, SITE_A_NAME)}
    server = region.serve()
    chance = random.Random(20261202)
    with CuttingProxy(server.port) as proxy:
        site = make_site("a")
        site.ok("enrol", "--hub", proxy.url, "--token", tokens[SITE_A])
        site.ok("sync")
        site.ok("operator", "add", CAMILLE, "--role", "responsable", pin=CAMILLE_PIN)
        taken: list[str] = []
        for round_number in range(12):
            batch = [codes.pop() for _ in range(chance.randint(1, 3))]
            moment = in_period(1 + round_number, 10)
            assert all(r.redeemable for r in site.redeem(CAMILLE, CAMILLE_PIN, batch, moment))
            taken += batch
            direction = chance.choice(["request", "response"])
            proxy.arm(Cut(b"POST /v1/declarations", direction, body_bytes=chance.randint(1, 200)))
            report = site.sync_service().sync()
            assert any(error.startswith("Déclarations : ") for error in report.errors)
            proxy.heal()
            assert site.sync_service().sync().ok
        assert len(proxy.cuts) >= 12 and all(sent < length for sent, length in proxy.cuts)
        ids = declared_ids(region)
        assert len(ids) == len(taken) and len(set(ids)) == len(ids)
        for code in taken:
            assert used_changes(region, code) == ["used"]
        assert next_declaration(site.engine, site.data_dir, in_period(20, 10)) is None


def test_a_laptop_lost_on_the_28th_loses_nothing(any_region, make_site, tmp_path) -> None:
    """Declared on the 10th and the 20th, one more pass only in the backup of the 26th, laptop
    lost on the 28th: the new laptop gets back what the region had, the backup adds the rest,
    and the month is closed and paid in full, once. The old laptop's key is refused."""
    region = any_region
    codes = issued(region, 1)
    url, (old,) = enrolled(region, make_site, SITE_A)
    old.redeem(CAMILLE, CAMILLE_PIN, [codes[0]], in_period(10, 10))
    old.redeem(CAMILLE, CAMILLE_PIN, [codes[1]], in_period(20, 15))
    assert "Déclaré à la région : 2 encaissements (2 acceptés, 0 refusé)" in old.ok("sync")
    document = next_declaration(old.engine, old.data_dir, in_period(20, 16))
    assert document is None  # both declared
    old.redeem(CAMILLE, CAMILLE_PIN, [codes[2]], in_period(26, 9))  # offline: not declared
    usb = tmp_path / "usb"
    old.ok("backup", str(usb))
    (archive,) = sorted(usb.glob("sauvegarde-*.zip"))
    old_key = old.api_key()
    old_declaration = _declaration_of_old_laptop(old)

    # The region re-enrols the site; the new laptop enrols and syncs once.
    token = region.enrol_site(SITE_A, SITE_A_NAME)
    new = make_site("nouveau")
    new.ok("enrol", "--hub", url, "--token", token)
    out = new.ok("sync")
    assert "Reprise auprès de la région : 2 encaissements et 0 remise de ce lieu retrouvés" in out
    assert "Déclaré à la région" not in out  # what came back is not declared again
    with httpx.Client(base_url=url, headers={"Authorization": f"Bearer {old_key}"}) as client:
        assert client.get("/v1/replica/changes", params={"since": 0}).status_code == 401
        assert client.get("/v1/recovery").status_code == 401
    with httpx.Client(base_url=url, headers={"Authorization": f"Bearer {new.api_key()}"}) as client:
        refused = client.post("/v1/declarations", json=old_declaration)
    assert refused.status_code == 400  # signed with the old laptop's site key

    # The backup, merged on top, adds the pass of the 26th only.
    new.ok("operator", "add", CAMILLE, "--role", "responsable", pin=CAMILLE_PIN)
    merged = new.cli("restore", str(archive), "--merge", "--operator", CAMILLE, pin=CAMILLE_PIN)
    assert merged.code == 0, merged.err
    assert "Sauvegarde fusionnée : 1 encaissement ajouté, 2 déjà présent(s)" in merged.out
    assert "Déclaré à la région : 1 encaissement (1 accepté, 0 refusé)" in new.ok("sync")

    out = new.ok("close-month", "--month", PERIOD)
    assert "remise n° 1, 3 pass, 30,00 €" in out
    out = new.ok("sync")
    assert (
        f"Remise n° 1 ({period_label(PERIOD)}) : 3 pass acceptés pour 30,00 €, 0 pass refusé."
        in out
    )
    summary, verdicts = statement_rows(region, SITE_A, tmp_path / "releves")
    assert "3 lignes reçues, 3 pass acceptés pour 30,00 €, 0 ligne refusée" in summary
    assert verdicts == dict.fromkeys(codes[:3], "accepté")
    for code in codes[:3]:
        assert used_changes(region, code) == ["used"]
    (batch,) = region.batches()
    validate(batch_document(new.engine, batch.batch_id), "pn-batch/1")


def _declaration_of_old_laptop(old: SiteDir) -> dict[str, Any]:
    """What the old laptop would sign if it were used again after the loss: the pass of the
    26th, never declared."""
    document = next_declaration(old.engine, old.data_dir, in_period(27, 9))
    assert document is not None
    validate(document, "pn-declaration/1")
    return document


def test_a_laptop_restored_from_its_backup_is_enrolled_again_and_takes_back_the_rest(
    region, make_site, tmp_path
) -> None:
    """The backup of the 12th holds two passes; after it, a third is declared and the first
    is cancelled (declared too). The laptop is lost; a new one restores the backup, the region
    enrols the site again, the new laptop enrols with a new key: its first sync takes back the
    third pass and the cancellation, and the month pays exactly the two passes still taken."""
    codes = issued(region, 1)
    url, (old,) = enrolled(region, make_site, SITE_A)
    old.redeem(CAMILLE, CAMILLE_PIN, codes[:2], in_period(10, 10))
    old.ok("sync")
    usb = tmp_path / "usb"
    old.ok("backup", str(usb))
    (archive,) = sorted(usb.glob("sauvegarde-*.zip"))
    old.redeem(CAMILLE, CAMILLE_PIN, [codes[2]], in_period(20, 15))
    with Session(old.engine) as session:
        first = session.exec(select(Redemption).where(Redemption.code == codes[0])).one()
    login = log_in(old.engine, CAMILLE, CAMILLE_PIN)
    assert login.operator is not None
    Desk(old.engine).cancel(first.id, login.operator.id, "Pass rendu au bénéficiaire")
    assert "1 annulation." in old.ok("sync")
    old_key = (old.data_dir / "site_ed25519.key").read_bytes()

    new = make_site("nouveau")
    restored = new.cli("restore", str(archive))
    assert restored.code == 0, restored.err
    new.responsable = (CAMILLE, CAMILLE_PIN)  # the accounts came back with the backup
    token = region.enrol_site(SITE_A, SITE_A_NAME)
    new.ok("enrol", "--hub", url, "--token", token)
    assert (new.data_dir / "site_ed25519.key").read_bytes() != old_key
    out = new.ok("sync")
    assert "Reprise auprès de la région : 1 encaissement et 0 remise de ce lieu" in out
    assert "Refusé par la région" not in out
    with Session(new.engine) as session:
        rows = {row.code: row for row in session.exec(select(Redemption))}
    assert rows[codes[0]].cancelled_at is not None  # the cancellation came back too
    assert rows[codes[2]].cancelled_at is None

    out = new.ok("close-month", "--month", PERIOD)
    assert "remise n° 1, 2 pass, 20,00 €" in out
    out = new.ok("sync")
    assert (
        f"Remise n° 1 ({period_label(PERIOD)}) : 2 pass acceptés pour 20,00 €, 0 pass refusé."
        in out
    )
    summary, verdicts = statement_rows(region, SITE_A, tmp_path / "releves")
    assert "2 lignes reçues, 2 pass acceptés pour 20,00 €, 0 ligne refusée" in summary
    assert verdicts == dict.fromkeys([codes[1], codes[2]], "accepté")
    assert used_changes(region, codes[0]) == ["used", "released"]


@pytest.mark.parametrize("sent_after_the_backup", [False, True])
def test_a_batch_sealed_before_the_loss_is_signed_again_and_paid_once(
    region, make_site, tmp_path, sent_after_the_backup
):
    """The month was closed but not sent when the backup was made, then the laptop was lost
    (after sending it, or not): the restored laptop, enrolled again with a new key, signs the
    batch again; the region pays it once."""
    codes = issued(region, 1)
    url, (old,) = enrolled(region, make_site, SITE_A)
    old.redeem(CAMILLE, CAMILLE_PIN, codes[:2], in_period(10, 10))
    old.ok("close-month", "--month", PERIOD)
    usb = tmp_path / "usb"
    old.ok("backup", str(usb))
    (archive,) = sorted(usb.glob("sauvegarde-*.zip"))
    if sent_after_the_backup:
        assert "2 pass acceptés" in old.ok("sync")

    new = make_site("nouveau")
    assert new.cli("restore", str(archive)).code == 0
    new.responsable = (CAMILLE, CAMILLE_PIN)
    new.ok("enrol", "--hub", url, "--token", region.enrol_site(SITE_A, SITE_A_NAME))
    out = new.ok("sync")
    assert (
        f"Remise n° 1 ({period_label(PERIOD)}) : 2 pass acceptés pour 20,00 €, 0 pass refusé."
        in out
    )
    (batch,) = region.batches()
    validate(json.loads(batch.document), "pn-batch/1")
    # The site keeps the very batch the region holds: as the lost laptop sent it, or as
    # signed again (and said in the audit log) when the region never had it.
    assert new.batch(batch.batch_id).document_hash == batch.document_hash
    with Session(new.engine) as session:
        signed_again = session.exec(
            select(AuditEvent).where(AuditEvent.kind == "batch_signed_again")
        ).all()
    assert len(signed_again) == (0 if sent_after_the_backup else 1)
    assert new.ok("audit", "verify")
    summary, _ = statement_rows(region, SITE_A, tmp_path / "releves")
    assert "2 lignes reçues, 2 pass acceptés pour 20,00 €" in summary


def test_a_first_sync_cut_by_a_crash_asks_for_the_recovery_again(
    region, make_site, monkeypatch
) -> None:
    codes = issued(region, 1)
    url, (old,) = enrolled(region, make_site, SITE_A)
    old.redeem(CAMILLE, CAMILLE_PIN, [codes[0]], in_period(10, 10))
    old.ok("sync")
    new = make_site("nouveau")
    new.ok("enrol", "--hub", url, "--token", region.enrol_site(SITE_A, SITE_A_NAME))

    def crash(*_args: object) -> None:
        raise KeyboardInterrupt

    with monkeypatch.context() as patch:
        patch.setattr("mediateur_tui.services.sync.merge_recovery", crash)
        with pytest.raises(KeyboardInterrupt):
            new.sync_service().sync()
    assert new.sync_service().status().last_sync_at is None
    assert "Reprise auprès de la région : 1 encaissement" in new.ok("sync")
