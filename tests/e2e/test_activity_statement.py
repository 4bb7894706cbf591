"""The activity reaches the region: a site's remise carries the activity of the sessions its
lines belong to, a real `mediateur-hub serve` process stores it, and the region's statement
shows, beside the payments, the site's sessions, hours, participants, passes and euros by
thématique. An older site's remise (no activity) is still accepted, by file, and its
statement says « activité non transmise »."""

from __future__ import annotations

import csv
import json
import re
from datetime import datetime
from pathlib import Path

from contract import validate
from sqlmodel import select

from mediateur_tui.domain.activity import Activity, Genre, Thematique, TypeActivite, TypeLieu
from mediateur_tui.domain.clock import fixed_clock
from mediateur_tui.domain.formatting import local_date
from mediateur_tui.hub.database import read_session
from mediateur_tui.hub.models import HubBatchSession
from mediateur_tui.protocol.documents import dump_gzip_json, load_json
from mediateur_tui.protocol.files import write_file
from mediateur_tui.protocol.formats import BATCH
from mediateur_tui.protocol.signing import sign_document, site_signer
from mediateur_tui.services.auth import log_in
from mediateur_tui.services.batches import batch_document
from mediateur_tui.services.desk import Desk
from mediateur_tui.store.keys import load_site_key

from .conftest import PERIOD, SITE_A, SITE_A_NAME, SITE_B, SITE_B_NAME, SiteDir, in_period

BATCH_ID = re.compile(r"Identifiant de la remise : ([0-9a-f]{32})")


def take_in_session(site: SiteDir, activity: Activity, codes: list[str], at: datetime) -> None:
    """Logs in as the site's responsable and takes `codes` in a new session of `activity`."""
    clock = fixed_clock(at)
    name, pin = site.responsable or ("", "")
    login = log_in(site.engine, name, pin, clock=clock)
    assert login.ok and login.operator is not None, login.message
    desk = Desk(site.engine, clock=clock)
    session = desk.start_activity(login.operator.id, "Atelier", activity)
    assert all(desk.redeem(session.id, login.operator.id, code).redeemable for code in codes)
    desk.end_session(session.id)


def csv_rows(path: Path) -> list[dict[str, str]]:
    with path.open(encoding="utf-8-sig") as handle:
        return list(csv.DictReader(handle, delimiter=";"))


def test_the_statement_joins_payments_to_the_sites_activity(region, make_site, tmp_path) -> None:
    region.init()
    carnets = region.issue(2, size=5)
    first, second = sorted(carnets)
    region.attribute(first, "BENEF-0001")
    region.attribute(second, "BENEF-0002")
    tokens = {SITE_A: region.enrol_site(SITE_A, SITE_A_NAME)}
    tokens[SITE_B] = region.enrol_site(SITE_B, SITE_B_NAME)
    server = region.serve()
    site_a, site_b = make_site("a"), make_site("b")
    for site, site_id in ((site_a, SITE_A), (site_b, SITE_B)):
        site.ok("enrol", "--hub", server.url, "--token", tokens[site_id])
        site.ok("sync")
        site.ok("operator", "add", "Camille Martin", "--role", "responsable", pin="1234")

    # Site A, last month: an atelier of 6 (3 passes) and an accompagnement (1 pass).
    atelier_at, alone_at = in_period(4, 9), in_period(6, 14)
    atelier = Activity(
        type=TypeActivite.COLLECTIF,
        date=local_date(atelier_at),
        duration_minutes=120,
        thematiques=(Thematique.EMAIL, Thematique.NAVIGATION_SUR_INTERNET),
        participants=6,
        genres={Genre.FEMININ: 4, Genre.MASCULIN: 2},
    )
    alone = Activity(
        type=TypeActivite.INDIVIDUEL,
        date=local_date(alone_at),
        duration_minutes=45,
        place_type=TypeLieu.A_DISTANCE,
        thematiques=(Thematique.EMAIL,),
    )
    take_in_session(site_a, atelier, carnets[first][:3], atelier_at)
    take_in_session(site_a, alone, carnets[first][3:4], alone_at)
    batch_id = BATCH_ID.search(site_a.ok("close-month", "--month", PERIOD)).group(1)
    remise = batch_document(site_a.engine, batch_id)
    validate(remise, "pn-batch/1")
    assert [session["activity"] for session in remise["sessions"]] == [
        {
            "date": atelier.date.isoformat(),
            "place": "lieu_activite",
            "thematiques": ["email", "navigation_sur_internet"],
            "participants": 6,
            "genres": {"feminin": 4, "masculin": 2},
        },
        {
            "date": alone.date.isoformat(),
            "place": "a_distance",
            "thematiques": ["email"],
            "participants": 1,
        },
    ]
    # The file for the USB key is the same signed document, activity included.
    site_a.ok("export-batch", str(tmp_path / "cle-usb"))
    exported = tmp_path / "cle-usb" / f"remise-{SITE_A}-{PERIOD}.json.gz"
    assert load_json(exported.read_bytes(), BATCH) == remise
    assert "4 pass acceptés pour 40,00 €, 0 pass refusé." in site_a.ok("sync")

    with read_session(region.engine) as session:
        stored = session.exec(select(HubBatchSession)).all()
    assert [json.loads(row.activity)["participants"] for row in stored] == [6, 1]

    # Site B is an older site: its remise carries no activity (signed again without it, as
    # such a site signs), brought by file.
    take_in_session(site_b, alone, carnets[second][:2], alone_at)
    old_id = BATCH_ID.search(site_b.ok("close-month", "--month", PERIOD)).group(1)
    older = batch_document(site_b.engine, old_id)
    del older["signature"]
    for item in older["sessions"]:
        del item["activity"]
    signed = sign_document(older, load_site_key(site_b.data_dir), site_signer(SITE_B))
    validate(signed, "pn-batch/1")
    old_file = write_file(tmp_path / "remise-ancienne.json.gz", dump_gzip_json(signed))
    assert "2 acceptées (20,00 €), 0 refusée" in region.ok("import-batch", str(old_file))

    out_dir = tmp_path / "releves"
    out = region.ok("statement", "--site", SITE_A, "--month", PERIOD, "--out", str(out_dir))
    assert "4 pass acceptés pour 40,00 €" in out
    assert "Activité : 2 séances, 2 h 45, 7 participants, 4 pass acceptés pour 40,00 €." in out
    rows = csv_rows(out_dir / f"releve-activite-{SITE_A}-{PERIOD}.csv")
    assert [list(row.values()) for row in rows] == [
        ["Toutes thématiques", "2", "2,75", "7", "4", "40,00"],
        ["Navigation sur internet", "1", "2,00", "6", "3", "30,00"],
        ["E-mail", "2", "2,75", "7", "4", "40,00"],
    ]

    out = region.ok("statement", "--site", SITE_B, "--month", PERIOD, "--out", str(out_dir))
    assert "2 pass acceptés pour 20,00 €" in out
    assert "Activité : activité non transmise." in out
    rows = csv_rows(out_dir / f"releve-activite-{SITE_B}-{PERIOD}.csv")
    assert rows[0]["Thématique"] == "activité non transmise"
