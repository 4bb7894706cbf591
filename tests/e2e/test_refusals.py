"""What the hub refuses: a batch altered after its site signed it, a batch posted by another
site, and every call of a site the region has struck off. A clear French message each time,
and the hub's database untouched."""

from __future__ import annotations

import copy
import json

import httpx
from sqlalchemy import update
from sqlmodel import Session

from mediateur_tui.domain.periods import period_label
from mediateur_tui.hub.database import read_session
from mediateur_tui.hub.models import HubSite
from mediateur_tui.hub.struck_off import french_instant
from mediateur_tui.protocol.documents import dump_gzip_json, dump_json
from mediateur_tui.services.batches import batch_document
from mediateur_tui.store.models import Batch

from .conftest import PERIOD, SITE_A, SITE_A_NAME, SITE_B, SITE_B_NAME, in_period

BAD_SIGNATURE = (
    "Signature invalide : le document a été modifié après sa signature, ou ne vient pas de "
    "l'émetteur annoncé. Il est refusé."
)
GZIP = {"Content-Type": "application/json", "Content-Encoding": "gzip"}


def test_altered_and_foreign_batches_are_refused(region, make_site) -> None:
    region.init()
    carnets = region.issue(1, size=5)
    (carnet,) = carnets
    codes = carnets[carnet]
    region.attribute(carnet, "BENEF-0001")
    tokens = {
        SITE_A: region.enrol_site(SITE_A, SITE_A_NAME),
        SITE_B: region.enrol_site(SITE_B, SITE_B_NAME),
    }
    server = region.serve()
    site_a, site_b = make_site("a"), make_site("b")
    site_a.ok("enrol", "--hub", server.url, "--token", tokens[SITE_A])
    site_b.ok("enrol", "--hub", server.url, "--token", tokens[SITE_B])
    site_a.ok("sync")
    site_a.ok("operator", "add", "Camille Martin", "--role", "responsable", pin="1234")
    site_a.redeem("Camille Martin", "1234", codes[:2], in_period(20, 16, 45))
    batch_id = site_a.month_end().close_month(PERIOD).batch_id
    genuine = batch_document(site_a.engine, batch_id)
    stored = site_a.batch(batch_id).document
    before = region.table_counts()

    # Posted directly with A's key, after changing one line's code, or its value (and the
    # totals, so that only the signature can tell).
    other_code = copy.deepcopy(genuine)
    other_code["redemptions"][0]["code"] = codes[4]
    more_money = copy.deepcopy(genuine)
    more_money["redemptions"][1]["value_cents"] += 1000
    more_money["totals"]["value_cents"] += 1000
    with httpx.Client(base_url=server.url, headers=_bearer(site_a.api_key())) as client:
        for altered in (other_code, more_money):
            response = client.post("/v1/batches", content=dump_gzip_json(altered), headers=GZIP)
            assert (response.status_code, response.json()) == (400, {"detail": BAD_SIGNATURE})
        assert client.get(f"/v1/batches/{batch_id}/ack").status_code == 404
    assert region.table_counts() == before

    # Site B posts A's genuine batch with its own key.
    with httpx.Client(base_url=server.url, headers=_bearer(site_b.api_key())) as client:
        response = client.post("/v1/batches", content=dump_json(genuine))
    assert response.status_code == 403
    assert response.json()["detail"] == (
        f"Cette remise est celle du site {SITE_A} : le site {SITE_B} ne peut remettre que ses "
        "propres pass."
    )
    assert region.table_counts() == before

    # The same alteration made in the site's own database: its sync shows the hub's reason.
    with Session(site_a.engine) as session:
        session.exec(
            update(Batch)
            .where(Batch.batch_id == batch_id)
            .values(document=json.dumps(more_money, ensure_ascii=False))
        )
        session.commit()
    refused = site_a.cli("sync")
    assert refused.code == 2
    assert f"Erreur : Remises : La région a refusé la demande (erreur 400) : {BAD_SIGNATURE}" in (
        refused.err
    )
    assert region.table_counts() == before

    # The batch as signed goes through: the refusals were about the alterations only.
    with Session(site_a.engine) as session:
        session.exec(update(Batch).where(Batch.batch_id == batch_id).values(document=stored))
        session.commit()
    out = site_a.ok("sync")
    assert (
        f"Remise n° 1 ({period_label(PERIOD)}) : 2 pass acceptés pour 20,00 €, 0 pass refusé."
        in out
    )
    after = region.table_counts()
    assert (after["hub_batch"], after["hub_line"]) == (1, 2)


def test_a_struck_off_site_shows_the_regions_own_words(any_region, make_site) -> None:
    region = any_region
    region.init()
    tokens = {
        SITE_A: region.enrol_site(SITE_A, SITE_A_NAME),
        SITE_B: region.enrol_site(SITE_B, SITE_B_NAME),
    }
    server = region.serve()
    site_a, site_b = make_site("a"), make_site("b")
    site_a.ok("enrol", "--hub", server.url, "--token", tokens[SITE_A])
    site_b.ok("enrol", "--hub", server.url, "--token", tokens[SITE_B])
    assert site_a.sync_service().sync().ok

    out = region.ok("revoke-site", SITE_A)
    assert "Sa clé d'accès est refusée dès maintenant" in out
    with read_session(region.engine) as session:
        record = session.get(HubSite, SITE_A)
    assert record is not None and record.revoked_at is not None
    detail = (
        f"Ce poste ({SITE_A}) a été radié par la région le {french_instant(record.revoked_at)} "
        ": ses envois ne sont plus acceptés. Contactez la région."
    )

    report = site_a.sync_service().sync()
    assert f"Réplique : La région a refusé la demande : {detail}" in report.errors
    assert site_a.sync_service().status().last_error is not None
    refused = site_a.cli("sync")
    assert refused.code == 2
    assert detail in refused.err
    assert "inscrit à nouveau" not in refused.err  # not the sentence of an unknown key

    assert site_b.sync_service().sync().ok  # the other sites go on


def _bearer(api_key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {api_key}"}


def test_a_mistyped_enrolment_token_says_so_and_the_real_one_still_works(region, make_site) -> None:
    region.init()
    token = region.enrol_site(SITE_A, SITE_A_NAME)
    site = make_site("a")
    with region.serve() as server:
        wrong = site.cli("enrol", "--hub", server.url, "--token", "AAAA-BBBB-CCCC-DDDD")
        assert wrong.code == 2
        assert "Jeton d'inscription inconnu : vérifiez-le auprès de la région." in wrong.err
        assert "inscrit à nouveau" not in wrong.err  # not the sentence of a refused API key
        assert f"({SITE_A})" in site.ok("enrol", "--hub", server.url, "--token", token)
