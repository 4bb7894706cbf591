"""Rulebooks the region publishes reach the site with its replica: kept when their signature
verifies under the region key and their content is a usable rulebook, and then used by the
attribution desk; otherwise the whole page or snapshot is refused, nothing applied."""

from __future__ import annotations

import copy
import json
from datetime import date
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from sqlmodel import Session, select

from mediateur_tui.domain.rulebooks import RULES_DIR, rulebook_for
from mediateur_tui.protocol.errors import ProtocolError
from mediateur_tui.protocol.signing import region_signer, sign_document
from mediateur_tui.services.attribution import AttributionDesk
from mediateur_tui.services.published_rulebooks import rulebooks_in_force, site_rulebooks
from mediateur_tui.services.replica import apply_page, apply_snapshot, import_replica_file
from mediateur_tui.store.models import Carnet, PublishedRulebook
from mediateur_tui.store.sync_state import read_sync_state

from .conftest import make_site
from .region import Region

LATEST = json.loads((RULES_DIR / "rulebook-2022.json").read_text(encoding="utf-8"))


def later_version(**fields: Any) -> dict[str, Any]:
    return {
        **copy.deepcopy(LATEST),
        "id": "hdf-2026-12",
        "effective_from": "2026-12-01",
        "max_passes_per_beneficiary": 5,
        **fields,
    }


def rulebook_change(document: dict[str, Any], key: Ed25519PrivateKey) -> dict[str, Any]:
    signed = sign_document(document, key, region_signer("HDF"))
    return {"t": "rulebook", "id": document["id"], "document": signed}


def cursor(site) -> int:
    with Session(site.engine) as session:
        return read_sync_state(session).replica_cursor


def stored(site) -> list[str]:
    with Session(site.engine) as session:
        return [row.id for row in session.exec(select(PublishedRulebook)).all()]


def test_a_page_brings_a_published_rulebook_that_the_desk_then_decides_by(
    site, region: Region
) -> None:
    assert rulebook_for(date(2026, 12, 1), site_rulebooks(site.engine)).id == "hdf-2022-02"
    since = cursor(site)
    region.add(rulebook_change(later_version(), region.key))
    result = apply_page(site.engine, region.page(since))
    assert result.applied
    assert stored(site) == ["hdf-2026-12"]
    books = site_rulebooks(site.engine)
    assert [book.id for book in books] == ["hdf-2020-07", "hdf-2022-02", "hdf-2026-12"]
    assert rulebook_for(date(2026, 12, 1), books).max_passes_per_beneficiary == 5
    assert AttributionDesk(site.engine, site.data_dir).rulebook_on(date(2026, 12, 1)).id == (
        "hdf-2026-12"
    )
    assert [book.id for book in rulebooks_in_force(site.data_dir)][-1] == "hdf-2026-12"
    apply_page(site.engine, region.page(since))  # the same page again changes nothing
    assert stored(site) == ["hdf-2026-12"]


def test_a_snapshot_brings_it_too(tmp_path, region: Region) -> None:
    region.carnet()
    region.add(rulebook_change(later_version(), region.key))
    site = make_site(tmp_path / "site", region)
    assert stored(site) == ["hdf-2026-12"]
    site.engine.dispose()


def _refused(site, region: Region, change: dict[str, Any], words: str) -> None:
    since = cursor(site)
    region.carnet()  # applied with it, or not at all
    region.add(change)
    with pytest.raises(ProtocolError, match=words) as refusal:
        apply_page(site.engine, region.page(since))
    assert "la réplique est refusée, rien n'a été modifié" in str(refusal.value)
    assert cursor(site) == since
    assert stored(site) == []


def test_a_rulebook_signed_by_another_key_refuses_the_page(site, region: Region) -> None:
    change = rulebook_change(later_version(), Ed25519PrivateKey.generate())
    _refused(site, region, change, "Le règlement hdf-2026-12 n'est pas signé par la région")


def test_a_rulebook_altered_after_its_signature_refuses_the_page(site, region: Region) -> None:
    change = rulebook_change(later_version(), region.key)
    change["document"]["max_passes_per_beneficiary"] = 50
    _refused(site, region, change, "Signature invalide")


def test_an_unsigned_rulebook_refuses_the_page(site, region: Region) -> None:
    change = {"t": "rulebook", "id": "hdf-2026-12", "document": later_version()}
    _refused(site, region, change, "n'est pas signé par la région")


@pytest.mark.parametrize(
    ("document", "words"),
    [
        (later_version(carnet_sizes=[5]), "inutilisable : carnets \\[10\\] hors des tailles"),
        (later_version(extra=1), "inutilisable : le règlement : champ\\(s\\) inconnu\\(s\\)"),
        (later_version(effective_from="2022-02-01"), "entrent en vigueur le même jour"),
        ({**copy.deepcopy(LATEST), "title": "Autre"}, "existe déjà avec un autre contenu"),
    ],
)
def test_a_rulebook_the_site_cannot_use_refuses_the_page(
    site, region: Region, document: dict[str, Any], words: str
) -> None:
    _refused(site, region, rulebook_change(document, region.key), words)


def test_a_snapshot_with_a_bad_rulebook_is_refused_whole(tmp_path, region: Region) -> None:
    region.carnet()
    region.add(rulebook_change(later_version(), Ed25519PrivateKey.generate()))
    first = Region(key=region.key)
    first.standard()
    site = make_site(tmp_path / "site", first)  # a replica from before the publication
    before = cursor(site)
    with pytest.raises(ProtocolError, match="n'est pas signé par la région"):
        apply_snapshot(site.engine, region.snapshot())
    assert stored(site) == []
    assert cursor(site) == before
    site.engine.dispose()


def test_a_snapshot_file_with_a_bad_rulebook_is_refused_at_its_seal(
    tmp_path, region: Region
) -> None:
    """A pn-replica-snapshot/2 is written as it is read: its rulebooks are checked before the
    commit, and a bad one rolls back every change written before it."""
    carnet, _codes = region.carnet()
    region.add(rulebook_change(later_version(), Ed25519PrivateKey.generate()))
    first = Region(key=region.key)
    first.standard()
    site = make_site(tmp_path / "site", first)
    before = cursor(site)
    with pytest.raises(ProtocolError, match="n'est pas signé par la région"):
        import_replica_file(site.engine, region.snapshot_file(tmp_path / "replique.json.gz"))
    assert (stored(site), cursor(site)) == ([], before)
    with Session(site.engine) as session:
        assert session.get(Carnet, carnet) is None
    site.engine.dispose()


def test_a_snapshot_file_brings_a_published_rulebook(tmp_path, region: Region) -> None:
    region.add(rulebook_change(later_version(), region.key))
    first = Region(key=region.key)
    first.standard()
    site = make_site(tmp_path / "site", first)
    path = region.snapshot_file(tmp_path / "replique.json.gz")
    assert import_replica_file(site.engine, path).applied
    assert stored(site) == ["hdf-2026-12"]
    site.engine.dispose()


def test_a_rulebook_signed_by_the_key_of_a_rotation_is_kept_once_the_site_follows_it(
    site, region: Region
) -> None:
    region.rotate(date(2026, 2, 15))
    since = cursor(site)
    region.add(rulebook_change(later_version(), region.key))  # signed by key 2
    assert apply_page(site.engine, region.page(since)).applied  # the page brings key set 1
    assert stored(site) == ["hdf-2026-12"]
    region.revoke(region.keys[0].kid, date(2026, 2, 10))
    leaked = rulebook_change(later_version(id="hdf-2026-13", effective_from="2026-12-02"),
                             region.first_key)  # fmt: skip
    region.add(leaked)  # signed by the revoked key 1
    with pytest.raises(ProtocolError, match="révoquée"):
        apply_page(site.engine, region.page(cursor(site)))
    assert stored(site) == ["hdf-2026-12"]
