"""Sites struck off (`mediateur-hub revoke-site`), on SQLite and on PostgreSQL: the site's API
key gets 403 with the region's French text from a real `mediateur-hub serve`, its documents
brought by file are refused when signed at or after the strike-off and stand when signed
before, other sites go on, and a new enrolment clears it."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from sqlmodel import select

from mediateur_tui.domain.signatures import public_key_bytes
from mediateur_tui.hub.attributions import receive_attributions
from mediateur_tui.hub.cli import main
from mediateur_tui.hub.database import HubSettings, read_session
from mediateur_tui.hub.declarations import receive_declaration
from mediateur_tui.hub.enrolment import (
    authenticate,
    complete_enrolment,
    enrol_site,
    site_record,
)
from mediateur_tui.hub.errors import Forbidden, Unauthorised
from mediateur_tui.hub.intake import receive_batch
from mediateur_tui.hub.models import HubAttribution, HubBatch, HubLine
from mediateur_tui.hub.registry import ProgrammeSpec, issue
from mediateur_tui.hub.struck_off import french_instant, revoke_site
from mediateur_tui.protocol.documents import dump_gzip_json
from mediateur_tui.protocol.files import write_file
from mediateur_tui.protocol.formats import ENROLMENT_REQUEST
from mediateur_tui.protocol.signing import encode_key, sign_document, site_signer

from .helpers import (
    PROGRAMME,
    SITE_A,
    SITE_B,
    Site,
    World,
    attribution,
    build_world,
    enrol,
    line,
    make_attributions,
    make_batch,
    make_declaration,
    reference,
    table_counts,
)
from .server import HubProcess

AT = "2026-11-12T09:30:00Z"
STRUCK_OFF_AT = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)  # 10:00 in Paris
GZIP = {"Content-Encoding": "gzip", "Content-Type": "application/json"}


def struck_off_detail(site_id: str, at: datetime) -> str:
    return (
        f"Ce poste ({site_id}) a été radié par la région le {french_instant(at)} : ses envois "
        "ne sont plus acceptés. Contactez la région."
    )


def hub_command(capsys, settings: HubSettings, *args: str) -> tuple[int, str, str]:
    """`mediateur-hub ARGS --dir … --db …`, in this process."""
    capsys.readouterr()
    code = main([*args, "--dir", str(settings.directory), "--db", settings.database_url])
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def signed_at(document: dict[str, Any], site: Site, field: str, at: str) -> dict[str, Any]:
    """`document` with `field` (its signing instant) set to `at`, signed again by `site`."""
    unsigned = {key: value for key, value in document.items() if key != "signature"}
    return sign_document({**unsigned, field: at}, site.key, site_signer(site.id))


# --- online: the site's API key, through a real server ---------------------------------------


@dataclass
class Served:
    settings: HubSettings
    world: World
    url: str

    def get_changes(self, site_id: str) -> httpx.Response:
        return httpx.get(
            f"{self.url}/v1/replica/changes",
            params={"since": 0},
            headers=self._bearer(site_id),
            timeout=30,
        )

    def post_batch(self, site_id: str, code: str) -> httpx.Response:
        batch = make_batch(self.world.sites[site_id], [line(code, AT)])
        return httpx.post(
            f"{self.url}/v1/batches",
            content=dump_gzip_json(batch),
            headers={**GZIP, **self._bearer(site_id)},
            timeout=30,
        )

    def _bearer(self, site_id: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.world.sites[site_id].api_key}"}


@pytest.fixture
def served(settings: HubSettings) -> Iterator[Served]:
    world = build_world(settings)
    database = None if settings.database_url.startswith("sqlite") else settings.database_url
    try:
        with HubProcess.start(settings.directory, database_url=database) as process:
            yield Served(settings, world, process.url)
    finally:
        world.hub.engine.dispose()


def test_a_struck_off_site_gets_403_and_the_other_sites_go_on(served: Served, capsys) -> None:
    assert served.get_changes(SITE_A).status_code == 200
    code, out, err = hub_command(capsys, served.settings, "revoke-site", SITE_A.lower())
    assert (code, err) == (0, "")
    record = site_record(served.world.hub, SITE_A)
    assert record is not None and record.revoked_at is not None
    detail = struck_off_detail(SITE_A, record.revoked_at)
    assert f"Site {SITE_A} radié depuis le {french_instant(record.revoked_at)}." in out
    assert "Sa clé d'accès est refusée dès maintenant" in out
    assert "Ce qu'il a envoyé ou signé avant la radiation reste acquis" in out

    fresh = served.world.fresh
    for response in (served.get_changes(SITE_A), served.post_batch(SITE_A, fresh[0])):
        assert (response.status_code, response.json()) == (403, {"detail": detail})
    recovery = httpx.get(f"{served.url}/v1/recovery", headers=served._bearer(SITE_A), timeout=30)
    assert recovery.status_code == 403

    assert served.get_changes(SITE_B).status_code == 200
    posted = served.post_batch(SITE_B, fresh[1])
    assert posted.status_code == 200, posted.text
    assert posted.json()["totals"]["accepted"] == 1


# --- by file: what the site signed before stands, what it signed since is refused ------------


def import_batch(capsys, settings: HubSettings, tmp_path: Path, batch: dict[str, Any]):
    path = tmp_path / f"remise-{batch['batch_id']}.json.gz"
    write_file(path, dump_gzip_json(batch))
    return hub_command(capsys, settings, "import-batch", str(path))


def test_a_batch_file_sealed_before_the_strike_off_stands_and_one_sealed_since_is_refused(
    world: World, settings: HubSettings, tmp_path: Path, capsys
) -> None:
    site = world.sites[SITE_A]
    already = make_batch(site, [line(world.fresh[0], AT)])
    receive_batch(world.hub, already)  # received before the strike-off
    revoke_site(world.hub, SITE_A, STRUCK_OFF_AT)

    before = make_batch(site, [line(world.fresh[1], AT)])  # sealed at 08:00Z, before 09:00Z
    code, out, err = import_batch(capsys, settings, tmp_path, before)
    assert (code, err) == (0, "")
    assert "1 acceptée" in out

    counts = table_counts(world.hub)
    for sealed in ("2026-12-01T09:00:00Z", "2026-12-02T08:00:00Z"):  # at it, and after it
        since = signed_at(make_batch(site, [line(world.fresh[2], AT)]), site, "sealed_at", sealed)
        code, out, err = import_batch(capsys, settings, tmp_path, since)
        assert (code, out) == (2, "")
        when = french_instant(datetime.fromisoformat(sealed))
        assert err == (
            f"Erreur : Refus : remise scellée le {when} par le site {SITE_A}, radié par la "
            "région le 01/12/2026 à 10:00. Ce que ce site signe depuis sa radiation n'est plus "
            "accepté ; ce qu'il a signé avant reste acquis.\n"
        )
    assert table_counts(world.hub) == counts  # nothing stored

    # What was accepted before stays; the batch received before gets its ack back, unchanged.
    replay = receive_batch(world.hub, already)
    assert replay.replayed and replay.ack["totals"]["accepted"] == 1
    with read_session(world.hub.engine) as session:
        batches = set(session.exec(select(HubBatch.batch_id)).all())
        lines = session.exec(select(HubLine.verdict).where(HubLine.site_id == SITE_A)).all()
    assert batches == {already["batch_id"], before["batch_id"]}
    assert list(lines) == ["accepted", "accepted"]


def test_a_declaration_made_since_the_strike_off_is_refused(world: World) -> None:
    site = world.sites[SITE_A]
    revoke_site(world.hub, SITE_A, STRUCK_OFF_AT)
    declared_before = make_declaration(site, [line(world.fresh[0], AT)])  # 12/11, before
    assert receive_declaration(world.hub, declared_before)["lines"][0]["verdict"] == "accepted"
    since = signed_at(
        make_declaration(site, [line(world.fresh[1], AT)]),
        site,
        "declared_at",
        AT.replace("11-12", "12-01"),
    )
    counts = table_counts(world.hub)
    with pytest.raises(Forbidden, match="Refus : déclaration faite le 01/12/2026 à 10:30"):
        receive_declaration(world.hub, since)
    assert table_counts(world.hub) == counts


def test_attributions_sent_since_the_strike_off_are_refused(world: World) -> None:
    distributor = enrol(world.hub, "LE-CATEAU-PIMMS", "PIMMS", distributor=True)
    first, second = issue(world.hub, ProgrammeSpec(id=PROGRAMME), carnets=2, size=5).carnets
    revoke_site(world.hub, distributor.id, STRUCK_OFF_AT)
    sent_before = make_attributions(distributor, [attribution([first.id], reference(1), 5)])
    answer = receive_attributions(world.hub, sent_before)
    assert [result["verdict"] for result in answer["results"]] == ["accepted"]
    since = signed_at(
        make_attributions(distributor, [attribution([second.id], reference(2), 5)]),
        distributor,
        "sent_at",
        "2026-12-01T09:00:00Z",
    )
    with pytest.raises(Forbidden, match="Refus : attributions envoyées le 01/12/2026 à 10:00"):
        receive_attributions(world.hub, since)
    with read_session(world.hub.engine) as session:
        assert len(session.exec(select(HubAttribution)).all()) == 1


def test_the_other_sites_files_are_not_affected(world: World) -> None:
    revoke_site(world.hub, SITE_A, STRUCK_OFF_AT)
    other = world.sites[SITE_B]
    batch = signed_at(
        make_batch(other, [line(world.fresh[0], AT)]), other, "sealed_at", "2026-12-02T08:00:00Z"
    )
    assert receive_batch(world.hub, batch).ack["totals"]["accepted"] == 1


# --- the command --------------------------------------------------------------------------


def test_an_unknown_site_exits_2(world: World, settings: HubSettings, capsys) -> None:
    code, out, err = hub_command(capsys, settings, "revoke-site", "NOPE")
    assert (code, out) == (2, "")
    assert err == "Erreur : Site inconnu du hub : NOPE. Rien n'a été radié.\n"


def test_a_site_already_struck_off_keeps_its_instant_and_exits_0(
    world: World, settings: HubSettings, capsys
) -> None:
    code, out, _ = hub_command(
        capsys,
        settings,
        "revoke-site",
        SITE_A,
        "--at",
        "2026-12-01T10:00",  # Paris time
    )
    assert code == 0 and f"Site {SITE_A} radié depuis le 01/12/2026 à 10:00." in out
    code, out, err = hub_command(capsys, settings, "revoke-site", SITE_A)
    assert (code, err) == (0, "")
    assert (
        out == f"Le site {SITE_A} est déjà radié depuis le 01/12/2026 à 10:00 : rien n'a changé.\n"
    )
    record = site_record(world.hub, SITE_A)
    assert record is not None and record.revoked_at == STRUCK_OFF_AT


@pytest.mark.parametrize(
    ("at", "message"),
    [
        ("hier", "date et heure invalides « hier »"),
        ((datetime.now(UTC) + timedelta(days=1)).isoformat(), "ne peut pas être dans le futur"),
    ],
    ids=["unreadable", "future"],
)
def test_a_bad_instant_exits_2_and_strikes_nothing_off(
    world: World, settings: HubSettings, capsys, at: str, message: str
) -> None:
    code, out, err = hub_command(capsys, settings, "revoke-site", SITE_A, "--at", at)
    assert (code, out) == (2, "")
    assert message in err
    record = site_record(world.hub, SITE_A)
    assert record is not None and record.revoked_at is None


# --- a new computer ---------------------------------------------------------------------------


def test_a_token_given_out_before_the_strike_off_cannot_lift_it(world: World) -> None:
    pending = enrol_site(world.hub, SITE_A, "EPN")  # e.g. in a mail the thief can read
    revoke_site(world.hub, SITE_A, STRUCK_OFF_AT)
    thief_key = encode_key(public_key_bytes(Ed25519PrivateKey.generate()))
    request = {"format": ENROLMENT_REQUEST, "token": pending, "site_public_key": thief_key}
    with pytest.raises(Unauthorised, match="Jeton d'inscription inconnu"):
        complete_enrolment(world.hub, request)
    record = site_record(world.hub, SITE_A)
    assert record is not None and record.revoked_at == STRUCK_OFF_AT


def test_a_new_enrolment_clears_the_strike_off_and_the_old_key_stays_refused(
    world: World, settings: HubSettings, capsys
) -> None:
    stolen = world.sites[SITE_A]
    revoke_site(world.hub, SITE_A, STRUCK_OFF_AT)
    with pytest.raises(Forbidden, match="a été radié par la région le 01/12/2026 à 10:00"):
        authenticate(world.hub, stolen.api_key)

    code, out, _ = hub_command(
        capsys, settings, "enrol-site", "--site-id", SITE_A, "--name", "EPN", "--no-qr"
    )
    assert code == 0
    assert "Ce site est radié depuis le 01/12/2026 à 10:00 : il le reste jusqu'à ce que" in out
    with pytest.raises(Forbidden):  # a token alone changes nothing
        authenticate(world.hub, stolen.api_key)

    new_computer = enrol(world.hub, SITE_A, "EPN")
    record = site_record(world.hub, SITE_A)
    assert record is not None and record.revoked_at is None
    assert authenticate(world.hub, new_computer.api_key).id == SITE_A
    with pytest.raises(Unauthorised):
        authenticate(world.hub, stolen.api_key)
    batch = signed_at(
        make_batch(new_computer, [line(world.fresh[0], AT)]),
        new_computer,
        "sealed_at",
        "2026-12-02T08:00:00Z",
    )
    assert receive_batch(world.hub, batch).ack["totals"]["accepted"] == 1
